"""``cadenced auth microsoft``: the interactive sign-in, with MSAL.

Two flows of the Microsoft identity platform for a public client (no secret):

- the authorization-code flow with PKCE (MSAL makes the verifier and checks the
  state): the browser goes to Microsoft, and Microsoft sends it back to
  ``http://localhost:PORT`` on this machine with the code in a form it posts
  (``response_mode=form_post``), where a one-shot loopback server takes it;
- the device-code flow, for a machine without a browser: cadenced prints a code and
  an address to open anywhere, and waits until the person has signed in there.

Scopes: ``Calendars.ReadWrite`` (``Calendars.Read`` with ``--read-only``); MSAL adds
``offline_access`` (the refresh token), ``openid`` and ``profile`` by itself. The
token cache is written by :class:`~connectors.microsoft.token.TokenFile` (0600, atomic).
"""

from __future__ import annotations

import threading
import urllib.parse
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import msal

from connectors.microsoft.errors import GraphError
from connectors.microsoft.token import (
    READ_SCOPES,
    WRITE_SCOPES,
    TokenFile,
    application,
    authority_url,
)
from daemon.config import MicrosoftSource
from daemon.core.errors import CadencedError

DONE_PAGE = (b"<!doctype html><title>cadenced</title><p>Signed in. You can close this "
             b"window and go back to the terminal.</p>")


@dataclass(frozen=True)
class SignInResult:
    path: Path
    scopes: tuple[str, ...]
    can_write: bool
    username: str | None
    fell_back: bool  # asked for write access, granted only read


class _Receiver(HTTPServer):
    """A one-shot loopback server for the redirect: the first request with a code or
    an error is the answer."""

    def __init__(self, port: int) -> None:
        self.answer: dict[str, str] | None = None
        self.got = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), 65536)
                self._answer(self.rfile.read(length).decode("utf-8", "replace"))

            def do_GET(self) -> None:
                self._answer(urllib.parse.urlsplit(self.path).query)

            def _answer(self, text: str) -> None:
                answer = {k: v[0] for k, v in urllib.parse.parse_qs(text).items()}
                if "code" not in answer and "error" not in answer:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                receiver.answer = answer
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(DONE_PAGE)))
                self.end_headers()
                self.wfile.write(DONE_PAGE)
                receiver.got.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", port), Handler)

    def wait(self, seconds: float) -> dict[str, str] | None:
        thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            self.got.wait(seconds)
        finally:
            self.shutdown()
            self.server_close()
        return self.answer


def sign_in(source: MicrosoftSource, path: Path, *, client_id: str, tenant: str | None = None,
            read_only: bool = False, device_code: bool = False,
            echo: Callable[[str], Any] = print,
            open_browser: Callable[[str], Any] | None = webbrowser.open, port: int = 0,
            wait_seconds: float = 300.0) -> SignInResult:
    """Sign ``source`` in and write its token file at ``path``. Raises CadencedError
    when the person refuses, the flow times out, or Microsoft says no."""
    wanted = list(READ_SCOPES if read_only else WRITE_SCOPES)
    authority = authority_url(source, tenant)
    cache = msal.SerializableTokenCache()
    try:
        app = application(client_id=client_id, authority=authority, cache=cache,
                          timeout=source.timeout_seconds, ca_file=source.ca_file)
    except GraphError as exc:
        raise GraphError(source.name, exc.reason, hint=exc.hint) from None
    try:
        if device_code:
            result = _device(app, wanted, echo)
        else:
            result = _browser(app, wanted, echo, open_browser, port, wait_seconds)
    except httpx.HTTPError as exc:
        raise GraphError(source.name, f"the sign-in service cannot be reached "
                         f"({type(exc).__name__})", hint="check the network") from None
    if "access_token" not in result:
        error = result.get("error") or "no token"
        described = str(result.get("error_description") or "").split("\r\n")[0][:200]
        raise CadencedError(f"source {source.name!r}: Microsoft did not sign you in: {error}"
                            + (f" ({described})" if described else ""),
                            hint=_hint(error, client_id))
    granted = tuple(sorted({s.rsplit("/", 1)[-1] for s in str(result.get("scope", "")).split()}
                           & {*READ_SCOPES, *WRITE_SCOPES}))
    accounts = app.get_accounts()
    claims = result.get("id_token_claims") or {}
    TokenFile.write(path, client_id=client_id, authority=authority, scopes=list(granted),
                    account=accounts[0]["home_account_id"] if accounts else None,
                    username=claims.get("preferred_username"), cache=cache.serialize())
    can_write = any(s in WRITE_SCOPES for s in granted)
    return SignInResult(path, granted, can_write, claims.get("preferred_username"),
                        fell_back=not read_only and not can_write)


def _hint(error: str, client_id: str) -> str:
    if error in ("unauthorized_client", "invalid_client"):
        return (f"check the client id {client_id}: the app registration must be a public "
                "client (docs/microsoft.md)")
    if error == "access_denied":
        return "the sign-in was declined; run the command again and accept"
    return "run the command again; docs/microsoft.md explains the app registration"


def _device(app: msal.PublicClientApplication, scopes: list[str],
            echo: Callable[[str], Any]) -> dict[str, Any]:
    flow = app.initiate_device_flow(scopes=scopes)
    if "user_code" not in flow:
        return flow
    echo(flow["message"])
    return app.acquire_token_by_device_flow(flow)


def _browser(app: msal.PublicClientApplication, scopes: list[str], echo: Callable[[str], Any],
             open_browser: Callable[[str], Any] | None, port: int,
             wait_seconds: float) -> dict[str, Any]:
    receiver = _Receiver(port)
    redirect = f"http://localhost:{receiver.server_address[1]}"
    # form_post: the code comes in the body of a POST, never in a URL the browser keeps.
    flow = app.initiate_auth_code_flow(scopes, redirect_uri=redirect, response_mode="form_post")
    echo(f"Sign in to Microsoft in your browser; if it does not open, open:\n{flow['auth_uri']}")
    if open_browser is not None:
        threading.Thread(target=open_browser, args=(flow["auth_uri"],), daemon=True).start()
    answer = receiver.wait(wait_seconds)
    if answer is None:
        return {"error": "timed_out",
                "error_description": f"no answer from the browser in {wait_seconds:.0f}s"}
    try:
        return app.acquire_token_by_auth_code_flow(flow, answer)
    except ValueError as exc:  # state mismatch: not the answer to this request
        return {"error": "invalid_state", "error_description": str(exc)}
