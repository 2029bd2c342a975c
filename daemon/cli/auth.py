"""``cadenced auth``: sign in to Google or Microsoft 365, see the sign-ins, revoke one.

``daemon.cli.main`` registers the group (``main.add_command(auth)``). The sign-in itself lives in
:mod:`connectors.google.auth`; this module picks the source, the files and
prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from daemon.cli.commands import config_path, group, handle_errors, load
from daemon.core.errors import InputError
from daemon.state import paths

if TYPE_CHECKING:
    from daemon.config import CaldavSource, Config, GoogleSource, MicrosoftSource

CLIENT_SECRETS = "client_secret.json"


def _config(ctx: click.Context) -> tuple[Config, Path]:
    """The loaded config and the file it came from."""
    loaded = load(ctx)
    return loaded.config, loaded.path or config_path(ctx)


def google_sources(config: Config) -> list[GoogleSource]:
    from daemon.config import GoogleSource

    return [s for s in config.sources if isinstance(s, GoogleSource)]


def pick_source(config: Config, name: str | None) -> GoogleSource:
    """The Google source called ``name``; without a name, the only one there is."""
    sources = google_sources(config)
    if name is not None:
        for source in config.sources:
            if source.name == name:
                if source in sources:
                    return source
                raise InputError(f"source {name!r} is not a Google source "
                                 f"(type = {source.type!r})")
        known = ", ".join(repr(s.name) for s in sources) or "none"
        raise InputError(f"no source named {name!r}; Google sources: {known}")
    if not sources:
        raise InputError('no source with type = "google" in the config',
                         hint='add a [[sources]] entry with type = "google" and a name')
    if len(sources) > 1:
        names = ", ".join(repr(s.name) for s in sources)
        raise InputError(f"several Google sources ({names}): say which one",
                         hint="pass --source NAME")
    return sources[0]


@group()
def auth() -> None:
    """Sign in to Google, show the sign-ins, revoke one."""


@auth.command("google")
@click.option("--source", "source_name", metavar="NAME",
              help="The Google source to sign in (default: the only one).")
@click.option("--client-secrets", type=click.Path(dir_okay=False), metavar="FILE",
              help=f"OAuth client JSON (default: {CLIENT_SECRETS} next to the config file).")
@click.option("--no-browser", is_flag=True,
              help="Print the URL instead of opening a browser (SSH, headless server).")
@click.option("--read-only", is_flag=True,
              help="Only read events: no write-back, no Google Docs agendas.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Loopback port for Google's redirect (0: a free one).")
@click.pass_context
@handle_errors
def google(ctx: click.Context, source_name: str | None, client_secrets: str | None,
           no_browser: bool, read_only: bool, port: int) -> None:
    """Sign in to Google in the browser; save the source's token.

    Google sends the browser back to http://127.0.0.1:PORT/ on this machine. On a
    server without a browser, use --no-browser and forward that port over SSH.
    """
    from connectors.google.auth.signin import sign_in
    from connectors.google.auth.token import token_path

    config, config_path = _config(ctx)
    source = pick_source(config, source_name)
    secrets = Path(client_secrets) if client_secrets else config_path.parent / CLIENT_SECRETS
    result = sign_in(source.name, token_path(source, paths.state_dir()), secrets,
                     read_only=read_only, open_browser=not no_browser, echo=click.echo,
                     port=port, timeout=source.timeout_seconds)
    if result.fell_back:
        click.echo(
            f"\nSource {source.name!r} is signed in READ-ONLY: Google's consent screen did not "
            "grant both write permissions (edit your own events, and the Drive files cadenced "
            "creates). Write-back and Google Docs agendas stay off until you sign in again "
            f"granting both: cadenced auth google --source {source.name}")
    elif result.can_write:
        click.echo(f"\nSource {source.name!r} is signed in: cadenced can read your events, "
                   "write back to the ones you own and keep agendas in Google Docs.")
    else:
        click.echo(f"\nSource {source.name!r} is signed in read-only.")
    if source.write_back and not result.can_write:
        click.echo("Note: write_back = true in the config, but this sign-in cannot write.")
    click.echo(f"Token saved to {result.path}")


@auth.command()
@click.option("--source", "source_name", metavar="NAME",
              help="The Google source to sign out (default: the only one).")
@click.pass_context
@handle_errors
def revoke(ctx: click.Context, source_name: str | None) -> None:
    """Revoke a Google sign-in at Google and delete its token file.

    Google revokes the account's whole grant to the OAuth client: other sources
    signed in with the same account and client need a new sign-in too.
    """
    from connectors.google.auth.revoke import revoke
    from connectors.google.auth.scopes import PERMISSIONS_URL
    from connectors.google.auth.token import token_path

    config, _ = _config(ctx)
    if microsoft_named(config, source_name):
        _revoke_microsoft(config, source_name)
        return
    source = pick_source(config, source_name)
    result = revoke(token_path(source, paths.state_dir()), source=source.name,
                    timeout=source.timeout_seconds)
    if result.at_google:
        click.echo(f"Revoked the Google sign-in of source {source.name!r} and deleted "
                   f"{result.path}.")
    else:
        click.echo(f"Deleted {result.path}, but revoking at Google failed ({result.problem}): "
                   f"the grant may still be listed at {PERMISSIONS_URL}; remove it there.")


@auth.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handle_errors
def status(ctx: click.Context, as_json: bool) -> None:
    """Each Google sign-in: token file, scopes, access (no network)."""
    from connectors.google.auth.token import TokenFile

    config, _ = _config(ctx)
    states = [TokenFile.for_source(s, paths.state_dir()).status()
              for s in google_sources(config)]
    signed = microsoft_states(config)
    if as_json:
        click.echo(json.dumps(states + signed, indent=2))
        return
    if not states and not signed:
        click.echo('No source with type = "google" or "microsoft" in the config.')
    print_microsoft_states(signed)
    for state in states:
        click.echo(f"{state['source']}:")
        click.echo(f"  token file: {state['token_file']}")
        if not state["signed_in"]:
            click.echo(f"  not signed in: run cadenced auth google --source {state['source']}")
            continue
        short = [s.rsplit("/", 1)[-1] for s in state["scopes"]]
        click.echo(f"  scopes:     {', '.join(short) or 'none'}")
        access = ("read and write" if state["can_write"]
                  else "read only" if state["can_read"] else "no calendar access")
        click.echo(f"  access:     {access}")
        if state["access_token_expiry"]:
            click.echo(f"  access token valid until {state['access_token_expiry']} "
                       "(renewed automatically)")


# --- CalDAV: test the login, list the calendars -------------------------------------


def caldav_source(config: Config, name: str | None) -> CaldavSource:
    """The CalDAV source called ``name``; without a name, the only one there is."""
    from daemon.config import CaldavSource

    sources = [s for s in config.sources if isinstance(s, CaldavSource)]
    if name is not None:
        for source in config.sources:
            if source.name == name:
                if isinstance(source, CaldavSource):
                    return source
                raise InputError(f"source {name!r} is not a CalDAV source "
                                 f"(type = {source.type!r})")
        known = ", ".join(repr(s.name) for s in sources) or "none"
        raise InputError(f"no source named {name!r}; CalDAV sources: {known}")
    if len(sources) != 1:
        names = ", ".join(repr(s.name) for s in sources)
        raise InputError(f"several CalDAV sources ({names}): say which one" if sources
                         else 'no source with type = "caldav" in the config',
                         hint="pass --source NAME" if sources
                         else 'add a [[sources]] entry with type = "caldav" and a name')
    return sources[0]


@auth.command("caldav")
@click.option("--source", "source_name", metavar="NAME",
              help="The CalDAV source to test (default: the only one).")
@click.pass_context
@handle_errors
def caldav(ctx: click.Context, source_name: str | None) -> None:
    """Test a CalDAV source's login and list its calendars.

    Nothing is stored: the password stays where password_command, the systemd
    credential or the keyring keeps it. The calendar the source reads is marked.
    """
    from connectors.caldav.server import Server
    from daemon.core.errors import SourceError

    config, _ = _config(ctx)
    source = caldav_source(config, source_name)
    server = Server(source)
    found = server.calendars()
    click.echo(f"Signed in to {source.url} as {source.username}: "
               f"{len(found)} calendar(s).")
    try:
        chosen = server.pick().url
        problem = None
    except SourceError as exc:
        chosen, problem = None, exc
    for calendar in found:
        mark = "*" if calendar.url == chosen else " "
        click.echo(f" {mark} {calendar.name or '(no name)':<30} {calendar.path}")
    if problem is not None:
        click.echo(f"\nNo calendar chosen: {problem.reason}"
                   + (f"\n  hint: {problem.hint}" if problem.hint else ""))
    else:
        click.echo(f"\nSource {source.name!r} reads the calendar marked *. "
                   + ("It links agendas from the 1:1s you organize (write_back = true)."
                      if source.write_back else "write_back is off: it only reads."))


# --- Microsoft 365 ---------------------------------------------------------------------


def microsoft_sources(config: Config) -> list[MicrosoftSource]:
    from daemon.config import MicrosoftSource

    return [s for s in config.sources if isinstance(s, MicrosoftSource)]


def microsoft_named(config: Config, name: str | None) -> bool:
    """Whether ``name`` (or, without one, the only signed-in kind there is) is Microsoft."""
    if name is None:
        return bool(microsoft_sources(config)) and not google_sources(config)
    return any(s.name == name for s in microsoft_sources(config))


def pick_microsoft(config: Config, name: str | None) -> MicrosoftSource:
    """The Microsoft source called ``name``; without a name, the only one there is."""
    sources = microsoft_sources(config)
    if name is not None:
        for source in config.sources:
            if source.name == name:
                if source in sources:
                    return source
                raise InputError(f"source {name!r} is not a Microsoft source "
                                 f"(type = {source.type!r})")
        known = ", ".join(repr(s.name) for s in sources) or "none"
        raise InputError(f"no source named {name!r}; Microsoft sources: {known}")
    if len(sources) != 1:
        names = ", ".join(repr(s.name) for s in sources)
        raise InputError(f"several Microsoft sources ({names}): say which one"
                         if sources else 'no source with type = "microsoft" in the config',
                         hint="pass --source NAME" if sources else
                         'add a [[sources]] entry with type = "microsoft" and a name')
    return sources[0]


@auth.command("microsoft")
@click.option("--source", "source_name", metavar="NAME",
              help="The Microsoft source to sign in (default: the only one).")
@click.option("--client-id", metavar="ID",
              help="The app registration's Application (client) ID (default: client_id of "
              "the source, or the one saved at the last sign-in).")
@click.option("--tenant", metavar="T",
              help="common, organizations, consumers, or a tenant id or domain "
              "(default: tenant of the source).")
@click.option("--device-code", is_flag=True,
              help="Sign in on another device with a code (headless machines, SSH).")
@click.option("--read-only", is_flag=True,
              help="Only read events (Calendars.Read): no write-back.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Loopback port for Microsoft's redirect (0: a free one).")
@click.pass_context
@handle_errors
def microsoft(ctx: click.Context, source_name: str | None, client_id: str | None,
              tenant: str | None, device_code: bool, read_only: bool, port: int) -> None:
    """Sign in to Microsoft 365 / Outlook; save the source's token cache.

    Microsoft sends the browser back to http://localhost:PORT/ on this machine; with
    --device-code, open the address it prints on any device and type the code.
    """
    from connectors.microsoft.signin import sign_in
    from connectors.microsoft.token import TokenFile, token_path

    config, _ = _config(ctx)
    source = pick_microsoft(config, source_name)
    path = token_path(source, paths.state_dir())
    saved = TokenFile(path, source=source).read() or {}
    client = client_id or source.client_id or saved.get("client_id")
    if not client:
        raise InputError(f"source {source.name!r} has no client id",
                         hint="register an app (docs/microsoft.md) and pass --client-id ID "
                         "or set client_id in the source")
    result = sign_in(source, path, client_id=client, tenant=tenant, read_only=read_only,
                     device_code=device_code, echo=click.echo)
    who = f" as {result.username}" if result.username else ""
    if result.fell_back:
        click.echo(f"\nSource {source.name!r} is signed in{who} READ-ONLY: the consent did "
                   "not grant Calendars.ReadWrite, so write-back stays off.")
    elif result.can_write:
        click.echo(f"\nSource {source.name!r} is signed in{who}: cadenced can read your "
                   "events and write the agenda link into the invites you organize.")
    else:
        click.echo(f"\nSource {source.name!r} is signed in{who} read-only.")
    click.echo(f"Token cache saved to {result.path}")


def _revoke_microsoft(config: Config, name: str | None) -> None:
    from connectors.microsoft.token import REVOKE_URL, REVOKE_URL_PERSONAL, TokenFile, token_path

    source = pick_microsoft(config, name)
    token = TokenFile(token_path(source, paths.state_dir()), source=source)
    if token.forget():
        click.echo(f"Deleted the Microsoft sign-in of source {source.name!r} ({token.path}).")
    else:
        click.echo(f"Source {source.name!r} had no saved sign-in ({token.path}).")
    click.echo("To withdraw the consent too: a work or school account at "
               f"{REVOKE_URL} (Apps), a personal account at {REVOKE_URL_PERSONAL}.")


def microsoft_states(config: Config) -> list[dict[str, Any]]:
    from connectors.microsoft.token import TokenFile, token_path

    return [TokenFile(token_path(s, paths.state_dir()), source=s).status()
            for s in microsoft_sources(config)]


def print_microsoft_states(states: list[dict[str, Any]]) -> None:
    for state in states:
        click.echo(f"{state['source']}: (Microsoft)")
        click.echo(f"  token file: {state['token_file']}")
        if not state["signed_in"]:
            click.echo(f"  not signed in: run cadenced auth microsoft --source {state['source']}")
            continue
        if state["account"]:
            click.echo(f"  account:    {state['account']}")
        click.echo(f"  scopes:     {', '.join(state['scopes']) or 'none'}")
        click.echo(f"  access:     {'read and write' if state['can_write'] else 'read only'}")
