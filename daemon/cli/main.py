"""The ``cadenced`` command line.

Loads and validates the config once, reads the clock once (or takes ``--now``),
and turns every :class:`~daemon.core.errors.CadencedError` into a one-line message in
one place (:func:`daemon.cli.commands.handle_errors`). Tracebacks only with ``--verbose``.

Each command imports what it needs when it runs, so ``cadenced --help`` and a
scan of one ICS file do not load the Google client, the scheduler or the report.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from daemon.cli.auth import auth
from daemon.cli.commands import config_path, group, handle_errors, load, usage_error
from daemon.cli.systemd import service
from daemon.core.errors import CadencedError, ConfigError, InputError
from daemon.state import paths

if TYPE_CHECKING:
    from daemon.config import Config, LoadedConfig
    from daemon.service.scan import ScanResult

EXIT_SOURCES_FAILED = 3
DEMO_NOW = "2026-11-20T09:00:00+01:00"


def parse_now(value: str | None, tz: ZoneInfo) -> datetime:
    """``--now``: ISO 8601; a value without offset is in the owner's zone.

    The moment is expressed in the owner's zone, so day arithmetic (the
    window, "90 days ago") follows local wall time across DST changes.
    """
    if value is None:
        return datetime.now(tz)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--now {value!r} is not an ISO 8601 date-time",
                          hint="for example --now 2026-11-20T09:00+01:00") from None
    return moment.astimezone(tz) if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _print_result(result: ScanResult, as_json: bool,
                  first_seen: dict[str, str] | None = None, *,
                  exit_on_failure: bool = True) -> None:
    from daemon.cli.output import print_table, to_json

    if as_json:
        click.echo(json.dumps(to_json(result, first_seen), indent=2, ensure_ascii=False))
        _say_failed(result)
    else:
        from rich.console import Console

        print_table(result, Console())
    if exit_on_failure and not result.all_sources_ok:
        sys.exit(EXIT_SOURCES_FAILED)


def _say_failed(result: ScanResult) -> None:
    """One line on stderr per source that could not be read (the table has its own)."""
    for source in result.sources:
        if not source.ok:
            hint = f" ({source.hint})" if source.hint else ""
            click.echo(f"source {source.name!r} failed: {source.error}{hint}", err=True)


def _scan_and_print(loaded: LoadedConfig, now_text: str | None, as_json: bool) -> None:
    from connectors.registry import build_sources
    from daemon.service.scan import scan as run_scan

    config = loaded.config
    now = parse_now(now_text, config.owner.tz)
    _print_result(run_scan(config, build_sources(config), now), as_json)


@group()
@click.version_option(package_name="cadenced")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Keep your one-on-ones healthy."""
    from daemon.service.logs import setup_logging

    ctx.ensure_object(dict)
    setup_logging(verbose=bool(ctx.obj.get("verbose")))


_now_option = click.option(
    "--now", "now_text", metavar="ISO-8601",
    help="Pretend it is this moment (reproducible runs). Default: the clock.")
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@main.command()
@_now_option
@_json_option
@click.pass_context
@handle_errors
def scan(ctx: click.Context, now_text: str | None, as_json: bool) -> None:
    """Read the calendars once and show where the 1:1 habit erodes.

    Exit status: 0 all sources read, 3 some failed (output still printed),
    2 configuration error.
    """
    _scan_and_print(load(ctx), now_text, as_json)


@main.command(global_opts=("verbose",))
@click.option("--now", "now_text", metavar="ISO-8601", default=DEMO_NOW, show_default=True,
              help="The moment the demo is seen from.")
@_json_option
@handle_errors
def demo(now_text: str, as_json: bool) -> None:
    """Run on a bundled demo calendar: no account, no config needed."""
    from importlib import resources

    from daemon.config import load_config

    with resources.as_file(resources.files("daemon") / "demo") as folder:
        loaded = load_config(folder / "config.toml")
        _scan_and_print(loaded, now_text, as_json)


@main.command()
@_now_option
@_json_option
@click.option("--dry-run", is_flag=True,
              help="Show what would change (agendas, invites); write nothing.")
@click.pass_context
@handle_errors
def sync(ctx: click.Context, now_text: str | None, as_json: bool, dry_run: bool) -> None:
    """Run one sync cycle against the state, then exit.

    What the service runs on its schedule. Keeps what history shows (moved
    one-offs, cadence edits, vanished 1:1s), the last good copy of each source,
    and when each finding was first seen; prepares the agendas due and links them
    from the invites you organize (Google).
    Exit status as for `scan`.
    """
    from connectors.registry import build_agenda_store
    from daemon.service.invites import agenda_steps
    from daemon.service.sync import Syncer
    from daemon.state.store import Store

    config = load(ctx).config
    now = parse_now(now_text, config.owner.tz)
    if dry_run:
        _dry_run(config, now, as_json)
        return
    with Store.open(paths.state_dir()) as store:
        syncer = Syncer(config, store)
        agendas = build_agenda_store(config, syncer.sources, paths.data_dir())
        result = syncer.sync(now, steps=agenda_steps(config, agendas, store, syncer.sources))
    _print_result(result.scan, as_json, result.first_seen)


def _dry_run(config: Config, now: datetime, as_json: bool) -> None:
    """`sync --dry-run`: the cycle on a read-only view of the state; nothing written."""
    from connectors.registry import build_agenda_store
    from daemon.core.agenda.doc import parse
    from daemon.service.agendas import prepare
    from daemon.service.invites import invite_step
    from daemon.service.sync import Syncer
    from daemon.state.store import Store

    prepared: list[Any] = []
    patches: list[Any] = []
    with Store.open_read_only(paths.state_dir()) as store:
        syncer = Syncer(config, store, read_only=True)
        agendas = build_agenda_store(config, syncer.sources, paths.data_dir())

        def preview(analysis: Any, moment: datetime) -> None:
            prepared.extend(prepare(analysis, config, agendas, store, moment, write=False))

        steps = [preview] if config.agenda.enabled else []
        steps += invite_step(config, syncer.sources, agendas, dry_run=True, collected=patches)
        result = syncer.sync(now, steps=steps, commit=False)
    _print_result(result.scan, as_json, result.first_seen, exit_on_failure=False)
    out = click.echo if not as_json else (lambda text: click.echo(text, err=True))
    tz = config.owner.tz
    for done in prepared:
        if not (done.added or done.updated):
            continue
        out(f"would update the agenda of {done.person} ({_where(agendas, done.person)}): "
            f"{len(done.added)} section(s) added, {len(done.updated)} updated")
        doc = parse(done.text or "", tz=tz)
        for key in done.added:
            section = doc.section(key)
            if section is not None:
                body = done.text[section.start:section.end].rstrip("\n")
                out("\n".join(f"  | {line}" for line in body.split("\n")))
    for patch in patches:
        out(f"would patch {patch.describe()}")
    if not any(p.added or p.updated for p in prepared) and not patches:
        click.echo("dry run: nothing to write", err=True)
    if not result.scan.all_sources_ok:
        sys.exit(EXIT_SOURCES_FAILED)


@main.command()
@_json_option
@click.pass_context
@handle_errors
def status(ctx: click.Context, as_json: bool) -> None:
    """People at a glance, the sources, and the service's next jobs."""
    from daemon.cli.status import show_status

    show_status(ctx, as_json)


@main.command()
@click.pass_context
@handle_errors
def run(ctx: click.Context) -> None:
    """Run as a service: sync on a schedule, talk to systemd (sd_notify)."""
    from daemon.service.runner import serve

    path = config_path(ctx)
    sys.exit(serve(path, paths.state_dir(), paths.runtime_dir(), paths.data_dir()))


@main.command()
@_now_option
@click.option("--person", metavar="EMAIL", help="Only this person's agenda.")
@click.option("--print", "show", is_flag=True,
              help="Show the documents as they would be; write nothing.")
@click.pass_context
@handle_errors
def agenda(ctx: click.Context, now_text: str | None, person: str | None, show: bool) -> None:
    """Prepare the agendas of the 1:1s due now (or show them).

    Before each 1:1 (agenda.lead_hours ahead) its section is added to the
    person's living document: carried-over action items, queued topics, prompts.
    """
    from connectors.registry import build_agenda_store, build_sources
    from daemon.service.agendas import next_due, prepare
    from daemon.service.invites import invite_step
    from daemon.service.scan import scan as run_scan
    from daemon.service.sync import Syncer
    from daemon.state.store import Store

    config = load(ctx).config
    now = parse_now(now_text, config.owner.tz)
    who = _known_person(config, person) if person else None
    if show:
        with Store.open_read_only(paths.state_dir()) as reader:
            sources = build_sources(config)
            store = build_agenda_store(config, sources, paths.data_dir())
            analysis = run_scan(config, sources, now).analysis
            _check_person(analysis, who)
            shown = 0
            for prepared in prepare(analysis, config, store, reader, now, person=who,
                                    write=False):
                if prepared.text is not None and (who or prepared.added or prepared.updated):
                    click.echo(f"==> {_where(store, prepared.person)}")
                    click.echo(prepared.text)
                    shown += 1
        if not shown:
            click.echo(_nothing_due(config, next_due(analysis, config, now, person=who), now),
                       err=True)
        return
    with Store.open(paths.state_dir()) as state:
        done: list[Any] = []
        syncer = Syncer(config, state)
        store = build_agenda_store(config, syncer.sources, paths.data_dir())
        seen: list[Any] = []

        def step(analysis: Any, moment: datetime) -> None:
            seen.append(analysis)
            done.extend(prepare(analysis, config, store, state, moment, person=who))

        # The person's agenda even if [agenda] is off; then its link in the invites.
        result = syncer.sync(now, steps=[step, *invite_step(config, syncer.sources, store)])
    _say_failed(result.scan)
    if seen:
        _check_person(seen[0], who)
    changed = [p for p in done if p.added or p.updated]
    for prepared in changed:
        click.echo(f"{_where(store, prepared.person)}: {len(prepared.added)} section(s) added, "
                   f"{len(prepared.updated)} updated")
    if not changed:
        click.echo(_nothing_due(config, next_due(result.scan.analysis, config, now, person=who),
                                now), err=True)


def _known_person(config: Config, person: str) -> str:
    """The primary address of ``person`` (an address or alias in [[people]]), lowercase."""
    email = person.strip().lower()
    for entry in config.people:
        if email == entry.email or email in entry.alias_emails:
            return entry.email
    return email


def _check_person(analysis: Any, who: str | None) -> None:
    if who is not None and who not in {r.person for r in analysis.relationships}:
        raise _unknown_person(who, analysis)


def _unknown_person(person: str, analysis: Any) -> InputError:
    known = ", ".join(r.person for r in analysis.relationships) or "nobody yet"
    return InputError(f"no 1:1 relationship with {person}",
                      hint=f"cadenced knows: {known}")


def _nothing_due(config: Config, upcoming: Any, now: datetime) -> str:
    lead = config.agenda.lead_hours
    text = f"nothing due: no 1:1 in the next {lead:g} hours is without its section"
    if upcoming is None:
        return text + "; no 1:1 is booked after that"
    occ, name = upcoming
    local = occ.start.astimezone(now.tzinfo)
    from datetime import timedelta

    opens = (occ.start - timedelta(hours=lead)).astimezone(now.tzinfo)
    return (text + f"; the next is with {name} on {local:%a %d %b %H:%M}, its section is "
            f"added from {opens:%a %d %b %H:%M}")


def _where(store: Any, person: str) -> str:
    """A document's place for messages: its file, or its address."""
    path = getattr(store, "path", None)
    return str(path(person)) if callable(path) else (store.url(person) or person)


@main.command()
@click.pass_context
@handle_errors
def serve(ctx: click.Context) -> None:
    """Serve the agendas and the overlay calendar feed (see [server])."""
    from daemon.config import load_config
    from daemon.service.runner import serve as run_service

    path = config_path(ctx)
    config = load_config(path).config
    if not config.server.enabled:
        raise ConfigError("the server is off", hint="set enabled = true under [server]; "
                          "`cadenced run` then serves too")
    sys.exit(run_service(path, paths.state_dir(), paths.runtime_dir(), paths.data_dir()))


@main.command()
@_now_option
@click.option("--preview", "preview", type=click.Path(dir_okay=False), metavar="FILE.html",
              help="Write the report's HTML to this file.")
@click.option("--send", "send", is_flag=True,
              help="Email it now (at most once per ISO week).")
@click.option("--force", is_flag=True, help="With --send: send again this week.")
@click.pass_context
@handle_errors
def report(ctx: click.Context, now_text: str | None, preview: str | None, send: bool,
           force: bool) -> None:
    """The weekly cadence-health report: print it, preview it, or send it.

    Runs one sync first (like the service), so the report is current. Without
    --preview or --send it prints the plain-text version.
    """
    from connectors.registry import build_agenda_store, build_sources
    from daemon.service.invites import agenda_steps
    from daemon.service.report import report_for, send_report, week_key
    from daemon.service.scan import scan as run_scan
    from daemon.service.sync import Syncer
    from daemon.state.store import StateError, Store

    if force and not send:
        raise usage_error("--force only goes with --send (it sends this week's report again)")
    config = load(ctx).config
    now = parse_now(now_text, config.owner.tz)
    if send and config.smtp is None:
        raise ConfigError("there is no [smtp] section to send the report with",
                          hint="add [smtp] (see config.example.toml), or use --preview")
    if preview:
        _check_writable(Path(preview))
    try:
        store = Store.open(paths.state_dir())
    except StateError as exc:
        if send or "another cadenced" not in exc.message:
            raise
        # The service holds the state: show the report from a fresh read, without history.
        with Store.open(paths.state_dir(), lock=False) as reader:
            weekly = report_for(run_scan(config, build_sources(config), now).analysis,
                                config, reader, now)
        _show_report(weekly, preview)
        return
    with store:
        syncer = Syncer(config, store)
        agendas = build_agenda_store(config, syncer.sources, paths.data_dir())
        result = syncer.sync(now, steps=agenda_steps(config, agendas, store, syncer.sources))
        _say_failed(result.scan)
        weekly = report_for(result.scan.analysis, config, store, now, agendas)
        if preview or not send:
            _show_report(weekly, preview)
        if send:
            key = week_key(now)
            marker = store.document("reports", key) or {}
            if marker.get("sent_at") and not force:
                click.echo(f"the report for {key} was already sent at {marker['sent_at']} "
                           "(--force sends it again)", err=True)
                return
            sent = send_report(weekly, config, store, now)
            click.echo(f"sent the report for {sent.week}: {weekly.subject}", err=True)


def _check_writable(path: Path) -> None:
    """Refuse a preview file cadenced could not write, before doing any work."""
    folder = path.expanduser().parent
    if not folder.is_dir():
        raise InputError(f"cannot write the preview to {path}: there is no folder {folder}",
                         hint="create the folder first, or name a file in an existing one")


def _show_report(weekly: Any, preview: str | None) -> None:
    from daemon.render.report import render_html, render_text

    if preview:
        target = Path(preview).expanduser()
        try:
            target.write_text(render_html(weekly), encoding="utf-8")
        except OSError as exc:
            raise CadencedError(f"cannot write the preview to {preview}: "
                                f"{exc.strerror or exc}",
                                hint="name a file in a folder you may write to") from None
        click.echo(f"wrote {preview}", err=True)
    else:
        click.echo(render_text(weekly))


main.add_command(service)
main.add_command(auth)
