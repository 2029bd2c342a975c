"""Signing in: Google's installed-app flow on a loopback redirect with PKCE, and what
the user granted written to the token file."""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import socket
import webbrowser
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from connectors.google.auth.scopes import (
    CONSOLE_URL,
    READ_SCOPES,
    WRITE_SCOPES,
    can_read,
    can_write,
    sign_in_hint,
)
from connectors.google.auth.token import (
    RefreshingCredentials,
    safe_endpoint,
    to_info,
    transport_reason,
)
from daemon.core.errors import CadencedError
from daemon.state.files import write_private

log = logging.getLogger(__name__)

# --- signing in ---------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """What :func:`sign_in` wrote."""

    path: Path
    scopes: frozenset[str]  # granted
    asked: tuple[str, ...]

    @property
    def can_write(self) -> bool:
        return can_write(self.scopes)

    @property
    def fell_back(self) -> bool:
        """Write access was asked for but not all of it granted: the sign-in is read-only."""
        return can_write(self.asked) and not self.can_write


def load_client_secrets(path: Path) -> dict[str, Any]:
    """The ``installed`` (Desktop app) client of a client secrets JSON file, or a
    CadencedError saying how to get one."""
    how = (f"create an OAuth client of type \"Desktop app\" at {CONSOLE_URL}, download its "
           f"JSON and save it as {path} (or pass --client-secrets FILE)")
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise CadencedError(f"no Google OAuth client: {path} does not exist", hint=how
                            ) from None
    except OSError as exc:
        raise CadencedError(f"cannot read {path}: {exc.strerror}", hint=how) from None
    except ValueError:
        raise CadencedError(f"{path} is not a client secrets JSON file", hint=how) from None
    if isinstance(data, dict) and "web" in data and "installed" not in data:
        raise CadencedError(f"{path} is a \"Web application\" OAuth client; cadenced signs in "
                            "as a \"Desktop app\" client", hint=how)
    client = data.get("installed") if isinstance(data, dict) else None
    needed = ("client_id", "client_secret", "auth_uri", "token_uri")
    if not isinstance(client, dict) or not all(isinstance(client.get(k), str) and client[k]
                                               for k in needed):
        raise CadencedError(f"{path} is not a Desktop app client secrets file "
                            f"(needs installed.{{{', '.join(needed)}}})", hint=how)
    for key in ("auth_uri", "token_uri"):
        if not safe_endpoint(client[key]):
            raise CadencedError(f"{path}: installed.{key} is not an https URL", hint=how)
    return {"installed": client}


def no_browser_message(url: str, port: int) -> str:
    """How to open ``url`` from another machine: the loopback redirect needs a tunnel."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "you"
    where = f"{user}@{socket.gethostname() or 'server'}"
    return (
        "Open this URL in a browser to sign in to Google:\n\n"
        f"  {url}\n\n"
        f"Google then sends the browser back to http://127.0.0.1:{port}/ on the machine "
        "running cadenced.\nIf that is a server without a browser, forward the port from "
        "your laptop first:\n\n"
        f"  ssh -N -L {port}:127.0.0.1:{port} {where}\n\n"
        "then open the URL on your laptop. (Google's copy-and-paste, out-of-band flow no "
        "longer exists.)\nWaiting for the browser..."
    )


def _has_display() -> bool:
    """Whether a graphical browser can open here. Without one, Python's webbrowser
    would start a text browser (lynx, w3m) in the terminal, where Google's sign-in
    does not work: print the URL and the SSH tunnel instead."""
    import sys

    if sys.platform in {"darwin", "win32"}:
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _flow_class() -> type:
    from google_auth_oauthlib.flow import InstalledAppFlow

    class Flow(InstalledAppFlow):  # type: ignore[misc]
        """Reports the consent URL once the loopback port is known; takes a narrower
        grant instead of raising oauthlib's "Scope has changed" Warning (no
        OAUTHLIB_RELAX_TOKEN_SCOPE in the environment)."""

        on_url: Callable[[str, int], None] = staticmethod(lambda url, port: None)
        http_timeout: float = 30.0

        def authorization_url(self, **kwargs: Any) -> tuple[str, str]:
            url, state = super().authorization_url(**kwargs)
            self.on_url(url, urlsplit(self.redirect_uri).port or 0)
            return url, state

        def fetch_token(self, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", self.http_timeout)
            try:
                return super().fetch_token(**kwargs)
            except Warning as warning:
                token = getattr(warning, "token", None)
                if token is None:
                    raise
                self.oauth2session.token = token
                return token

    return Flow


@contextlib.contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Keep libraries that log the redirect's code or the token exchange below INFO."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def sign_in(source: str, path: Path, client_secrets: Path, *, read_only: bool = False,
            open_browser: bool = True, echo: Callable[[str], None] = print,
            port: int = 0, wait_seconds: float = 600.0, timeout: float = 30.0) -> SignIn:
    """Sign in to Google in the browser and write the token file ``path``.

    ``echo`` prints what the user must read (the URL, the SSH tunnel, a read-only
    fallback); ``port`` 0 picks a free one. Raises CadencedError when the client
    secrets are missing or wrong, the browser never comes back within
    ``wait_seconds``, the user refuses, or no calendar scope was granted.
    """
    import oauthlib.oauth2

    client = load_client_secrets(client_secrets)
    asked = READ_SCOPES if read_only else WRITE_SCOPES
    flow_class = _flow_class()
    flow = flow_class.from_client_config(client, scopes=list(asked),
                                         autogenerate_code_verifier=True)
    flow.http_timeout = timeout

    def show(url: str, bound: int) -> None:
        opened = False
        if open_browser and _has_display():
            with contextlib.suppress(webbrowser.Error):
                opened = webbrowser.open(url, new=1, autoraise=True)
        if opened:
            echo(f"Your browser has been opened to sign in to Google. If it did not, open:\n\n"
                 f"  {url}\n\nWaiting for the browser...")
        else:
            echo(no_browser_message(url, bound))

    flow.on_url = show
    from google_auth_oauthlib.flow import WSGITimeoutError

    try:
        with _quiet("google_auth_oauthlib", "requests_oauthlib", "oauthlib"):
            creds = flow.run_local_server(
                host="127.0.0.1", bind_addr="127.0.0.1", port=port, open_browser=False,
                authorization_prompt_message=None, timeout_seconds=wait_seconds,
                success_message="cadenced received the sign-in. You can close this tab and "
                "go back to the terminal.",
                prompt="consent",  # always a refresh token, even when signed in before
            )
    except WSGITimeoutError:
        raise CadencedError(f"no answer from the browser within {wait_seconds / 60:g} minutes",
                            hint=sign_in_hint(source)) from None
    except oauthlib.oauth2.AccessDeniedError:
        raise CadencedError("the sign-in was cancelled in the browser (access_denied)",
                            hint=sign_in_hint(source)) from None
    except oauthlib.oauth2.OAuth2Error as exc:
        raise CadencedError(f"Google refused the sign-in ({exc.error})",
                            hint="check the client secrets file; " + sign_in_hint(source)
                            ) from None
    except requests.RequestException as exc:
        raise CadencedError(f"cannot reach Google's token endpoint ({transport_reason(exc)})",
                            hint="check the network and try again") from None
    except OSError as exc:
        raise CadencedError(f"cannot listen on 127.0.0.1:{port} for the browser: "
                            f"{exc.strerror}", hint="try another --port or 0") from None

    granted = frozenset(creds.granted_scopes or asked)
    if not can_read(granted):
        raise CadencedError(
            "Google granted no access to the calendar, so the sign-in was not kept",
            hint="sign in again and leave the calendar permission ticked on Google's "
                 f"consent screen: {sign_in_hint(source)}")
    if not creds.refresh_token:
        raise CadencedError("Google sent no refresh token, so the sign-in was not kept",
                            hint=sign_in_hint(source))
    creds = RefreshingCredentials(
        creds.token, refresh_token=creds.refresh_token, token_uri=client["installed"][
            "token_uri"], client_id=creds.client_id, client_secret=creds.client_secret,
        scopes=sorted(granted), granted_scopes=sorted(granted), expiry=creds.expiry)
    write_private(path, json.dumps(to_info(creds), indent=2).encode())
    log.debug("source %r: token file written to %s", source, path)
    return SignIn(path=path, scopes=granted, asked=tuple(asked))
