"""Google sign-in: scopes, the token file, the loopback flow, refresh and revoke.

The contract:

- :func:`sign_in` runs Google's installed-app flow (google-auth-oauthlib's
  ``InstalledAppFlow``) with a loopback redirect to ``http://127.0.0.1:PORT/`` (bound
  on 127.0.0.1 only, a random free port) and PKCE (S256). It asks for
  :data:`WRITE_SCOPES`, or :data:`READ_SCOPES` with ``read_only``. Google lets the
  user untick scopes: with a calendar scope but not both write scopes the sign-in
  is kept read-only (and says so); without any calendar scope it is refused and
  nothing is written. Never interactive anywhere else: the daemon only reads the
  token file.
- The token file is the authorized-user JSON google-auth reads
  (``Credentials.to_json()``), whose ``scopes`` are the scopes Google *granted*.
  It is 0600, written atomically; a directory cadenced creates for it is 0700.
  Default place: :func:`token_path`.
- :class:`TokenFile` hands out credentials to the calendar source and the Docs
  store: loaded (with the file's own ``token_uri`` and ``expiry``: google-auth's
  loader forgets both), refreshed when expired or about to, and saved whenever
  they are refreshed, including a refresh google_auth_httplib2 makes in the middle
  of an API call (the credentials persist themselves). A refused refresh
  (``invalid_grant``: revoked, or the 7-day refresh token of an app in Google's testing mode) raises
  :class:`~daemon.core.errors.NeedsSignIn`, and the token endpoint is not called again
  until the token file changes on disk.
- :func:`revoke` revokes the grant at Google, then deletes the token file in
  any case.

Tokens and client secrets are never logged or put in an error message.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import socket
import threading
import webbrowser
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import google.auth.exceptions
import google.auth.transport.requests
import google.oauth2.credentials
import requests

from connectors.base import file_name
from daemon.config import GoogleSource, is_loopback_host
from daemon.core.errors import CadencedError, NeedsSignIn, SourceError
from daemon.state.files import tighten, write_private

log = logging.getLogger(__name__)

_AUTH = "https://www.googleapis.com/auth/"
CALENDAR_EVENTS_OWNED = _AUTH + "calendar.events.owned"
CALENDAR_EVENTS_READONLY = _AUTH + "calendar.events.readonly"
DRIVE_FILE = _AUTH + "drive.file"

WRITE_SCOPES = (CALENDAR_EVENTS_OWNED, DRIVE_FILE)
"""What ``cadenced auth google`` asks for: edit the events you own, and the Drive files
cadenced creates (the agenda Docs)."""
READ_SCOPES = (CALENDAR_EVENTS_READONLY,)
"""What ``cadenced auth google --read-only`` asks for."""

# Scopes that let cadenced read events / write them back / create and edit its Docs.
_CALENDAR_WRITE = frozenset(_AUTH + s for s in ("calendar", "calendar.events",
                                                 "calendar.events.owned"))
_CALENDAR_READ = _CALENDAR_WRITE | frozenset(
    _AUTH + s for s in ("calendar.readonly", "calendar.events.readonly",
                        "calendar.events.owned.readonly"))
_DOCS_WRITE = frozenset({DRIVE_FILE, _AUTH + "drive"})

CONSOLE_URL = "https://console.cloud.google.com/apis/credentials"
PERMISSIONS_URL = "https://myaccount.google.com/permissions"
_TESTING_NOTE = ("an OAuth app in Google's \"Testing\" publishing status gets refresh tokens "
                 "that expire after 7 days; publish it to \"In production\" to avoid that")


def can_read(scopes: Iterable[str]) -> bool:
    """Whether ``scopes`` let cadenced read calendar events."""
    return not _CALENDAR_READ.isdisjoint(scopes)


def can_write_events(scopes: Iterable[str]) -> bool:
    """Whether ``scopes`` let cadenced write back to the events the user owns."""
    return not _CALENDAR_WRITE.isdisjoint(scopes)


def can_write_docs(scopes: Iterable[str]) -> bool:
    """Whether ``scopes`` let cadenced create and edit its agenda Docs."""
    return not _DOCS_WRITE.isdisjoint(scopes)


def can_write(scopes: Iterable[str]) -> bool:
    """Both: write-back and Google Docs agendas."""
    scopes = frozenset(scopes)
    return can_write_events(scopes) and can_write_docs(scopes)


def sign_in_hint(source: str) -> str:
    return f"run: cadenced auth google --source {source}"


# --- where the token lives ------------------------------------------------------



def token_path(source: GoogleSource, state_dir: Path) -> Path:
    """The token file of ``source``: its ``token_file`` (``~`` expanded; a relative
    path is taken in ``state_dir``), else ``state_dir/google/<safe name>.json``."""
    if source.token_file:
        return state_dir / Path(source.token_file).expanduser()
    return state_dir / "google" / f"{file_name(source.name)}.json"


def revoke_uri(token_uri: str) -> str:
    """Google's revoke endpoint next to its token endpoint: same scheme and host,
    path ``/revoke`` (``https://oauth2.googleapis.com/token`` ->
    ``https://oauth2.googleapis.com/revoke``)."""
    parts = urlsplit(token_uri)
    return urlunsplit((parts.scheme, parts.netloc, "/revoke", "", ""))


def _safe_endpoint(url: str) -> bool:
    """https, or plain http to this machine only (the test emulator)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and is_loopback_host(parts.hostname or "")


# --- credentials ------------------------------------------------------------------


_REFUSED = frozenset({"invalid_grant", "invalid_client", "unauthorized_client",
                      "deleted_client"})


class _Credentials(google.oauth2.credentials.Credentials):
    """Credentials that report every refresh, wherever it happens (here, or in
    google_auth_httplib2 during an API call): a new token to save at once, or
    Google refusing the refresh token (then it is not asked again)."""

    on_refresh: Callable[[google.oauth2.credentials.Credentials], None] | None = None
    on_refused: Callable[[google.oauth2.credentials.Credentials], None] | None = None

    def refresh(self, request: Any) -> None:
        try:
            super().refresh(request)
        except google.auth.exceptions.RefreshError as exc:
            if self.on_refused is not None and _oauth_error(exc) in _REFUSED:
                self.on_refused(self)
            raise
        if self.on_refresh is not None:
            self.on_refresh(self)


class _TimeoutRequest(google.auth.transport.requests.Request):
    """google-auth's requests transport, with our timeout on every call."""

    def __init__(self, session: requests.Session, timeout: float) -> None:
        super().__init__(session)
        self._timeout = timeout

    def __call__(self, url: str, method: str = "GET", body: Any = None,
                 headers: Any = None, timeout: Any = None, **kwargs: Any) -> Any:
        return super().__call__(url, method=method, body=body, headers=headers,
                                timeout=self._timeout, **kwargs)


def _to_info(creds: google.oauth2.credentials.Credentials) -> dict[str, Any]:
    """The authorized-user document, ``scopes`` being what Google granted."""
    info = json.loads(creds.to_json())
    granted = creds.granted_scopes or creds.scopes
    if granted:
        info["scopes"] = sorted(granted)
    return info


def _from_info(info: Any) -> _Credentials:
    """Credentials from a token file's document, keeping its ``token_uri`` and
    ``expiry`` (``from_authorized_user_info`` replaces the first with Google's and
    ``with_token_uri`` drops the second). ValueError if unusable."""
    if not isinstance(info, dict):
        raise ValueError("not a JSON object")
    creds = _Credentials.from_authorized_user_info(info)
    token_uri = info.get("token_uri")
    if token_uri is not None:
        if not isinstance(token_uri, str) or not _safe_endpoint(token_uri):
            raise ValueError("token_uri is not an https URL")
        expiry = creds.expiry
        creds = creds.with_token_uri(token_uri)
        creds.expiry = expiry
    return creds


@dataclass(frozen=True)
class _Fingerprint:
    inode: int
    size: int
    mtime_ns: int


def _fingerprint(path: Path) -> _Fingerprint:
    st = path.stat()
    return _Fingerprint(st.st_ino, st.st_size, st.st_mtime_ns)


class TokenFile:
    """One Google source's token file, and the credentials it holds.

    Constructing it does no I/O. Thread-safe. The credentials returned by
    :meth:`credentials` save themselves to the file whenever they are refreshed,
    by this class or by ``google_auth_httplib2`` in the middle of an API call
    (unless the file was replaced meanwhile by a new sign-in: that one wins).
    """

    def __init__(self, path: Path, *, source: str, timeout: float = 30.0,
                 session: requests.Session | None = None) -> None:
        self.path = Path(path)
        self.source = source
        self.timeout = timeout
        self._session = session
        self._lock = threading.RLock()
        self._creds: _Credentials | None = None
        self._loaded: _Fingerprint | None = None  # the file state self._creds came from
        self._saved: tuple[Any, ...] | None = None  # what of self._creds is on disk
        self._refused: _Fingerprint | None = None  # the file state Google refused

    @classmethod
    def for_source(cls, source: GoogleSource, state_dir: Path,
                   session: requests.Session | None = None) -> TokenFile:
        return cls(token_path(source, state_dir), source=source.name,
                   timeout=source.timeout_seconds, session=session)

    # --- what the file says (no network) -------------------------------------------

    def _needs_sign_in(self, reason: str, *, testing_note: bool = False) -> NeedsSignIn:
        hint = sign_in_hint(self.source)
        if testing_note:
            hint += f" ({_TESTING_NOTE})"
        return NeedsSignIn(self.source, reason, hint=hint)

    def _load(self) -> tuple[_Credentials, _Fingerprint]:
        """The credentials of the file as it is now (cached while it does not change)."""
        try:
            fingerprint = _fingerprint(self.path)
            if self._creds is not None and fingerprint == self._loaded:
                return self._creds, fingerprint
            tighten(self.path, 0o600)  # a token readable by others is made private again
            creds = _from_info(json.loads(self.path.read_bytes()))
        except FileNotFoundError:
            raise self._needs_sign_in(f"not signed in to Google yet (no token file {self.path})"
                                      ) from None
        except OSError as exc:
            raise SourceError(self.source, f"cannot read the token file {self.path}: "
                              f"{exc.strerror}") from None
        except ValueError as exc:  # JSONDecodeError is one; no token text in the message
            reason = "not JSON" if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise SourceError(self.source, f"the token file {self.path} is unusable ({reason})",
                              hint=f"delete it and {sign_in_hint(self.source)}") from None
        creds.on_refresh, creds.on_refused = self._persist, self._refuse
        self._creds, self._loaded, self._saved = creds, fingerprint, _snapshot(creds)
        return creds, fingerprint

    def _info(self) -> dict[str, Any] | None:
        try:
            info = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return None
        return info if isinstance(info, dict) else None

    @property
    def scopes(self) -> frozenset[str]:
        """The scopes Google granted, as the file records them (empty without a file)."""
        scopes = (self._info() or {}).get("scopes") or ()
        if isinstance(scopes, str):
            scopes = scopes.split()
        return frozenset(s for s in scopes if isinstance(s, str))

    @property
    def can_read(self) -> bool:
        return can_read(self.scopes)

    @property
    def can_write(self) -> bool:
        """Both write scopes granted: write-back and Google Docs agendas are possible."""
        return can_write(self.scopes)

    def status(self) -> dict[str, Any]:
        """For ``cadenced auth status``: path, whether signed in, scopes, expiry. No secrets."""
        info = self._info()
        scopes = self.scopes
        expiry = None
        if info and isinstance(info.get("expiry"), str):
            with contextlib.suppress(ValueError):
                expiry = datetime.fromisoformat(info["expiry"].rstrip("Z")).replace(tzinfo=UTC)
        return {
            "source": self.source,
            "token_file": str(self.path),
            "signed_in": bool(info and info.get("refresh_token")),
            "scopes": sorted(scopes),
            "can_read": can_read(scopes),
            "can_write": can_write(scopes),
            "access_token_expiry": expiry.isoformat() if expiry else None,
            "token_uri": info.get("token_uri") if info else None,
        }

    # --- credentials (may call the token endpoint) -----------------------------------

    def credentials(self) -> google.oauth2.credentials.Credentials:
        """Credentials ready for an API call: refreshed (and saved) when the access token
        has expired or is about to.

        Raises :class:`~daemon.core.errors.NeedsSignIn` when there is no token file or Google
        refused its refresh token (then again, without asking Google, until the file
        changes), :class:`~daemon.core.errors.SourceError` for an unusable file or when the
        token endpoint cannot be reached.
        """
        with self._lock:
            creds, fingerprint = self._load()
            if fingerprint == self._refused:
                raise self._needs_sign_in("Google refused the sign-in (revoked or expired)",
                                          testing_note=True)
            if not creds.valid:
                self._refresh(creds)
            return creds

    def _refresh(self, creds: _Credentials) -> None:
        if self._session is None:
            self._session = requests.Session()
        try:
            creds.refresh(_TimeoutRequest(self._session, self.timeout))
        except google.auth.exceptions.RefreshError as exc:
            error = _oauth_error(exc)
            if error in _REFUSED:  # self._refused is set (by the credentials' hook)
                if error == "invalid_grant":
                    raise self._needs_sign_in(
                        "Google refused the sign-in (invalid_grant: revoked, or expired)",
                        testing_note=True) from None
                raise self._needs_sign_in(
                    f"Google no longer accepts the OAuth client ({error}): it was deleted or "
                    "its secret changed") from None
            raise SourceError(self.source, f"refreshing the Google access token failed "
                              f"({error or 'unexpected answer'})",
                              hint="tried again at the next sync") from None
        except google.auth.exceptions.TransportError as exc:
            raise SourceError(self.source, "cannot reach Google's token endpoint "
                              f"({_transport_reason(exc)})",
                              hint="check the network; tried again at the next sync") from None

    def _persist(self, creds: google.oauth2.credentials.Credentials) -> None:
        """Save refreshed credentials, unless the file changed meanwhile (a new sign-in)."""
        with self._lock:
            if creds is not self._creds or _snapshot(creds) == self._saved:
                return
            try:
                if _fingerprint(self.path) != self._loaded:
                    return  # replaced since we read it: the newer sign-in wins
                write_private(self.path, json.dumps(_to_info(creds), indent=2).encode())
                self._loaded, self._saved = _fingerprint(self.path), _snapshot(creds)
            except OSError as exc:  # the access token still works in memory
                log.warning("source %r: cannot save the refreshed Google token to %s: %s",
                            self.source, self.path, exc.strerror)

    def _refuse(self, creds: google.oauth2.credentials.Credentials) -> None:
        """Google refused these credentials' refresh token: do not ask again until the
        token file changes."""
        with self._lock:
            if creds is self._creds:
                self._refused = self._loaded

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def _snapshot(creds: google.oauth2.credentials.Credentials) -> tuple[Any, ...]:
    return (creds.token, creds.expiry, creds.refresh_token)


def _oauth_error(exc: google.auth.exceptions.RefreshError) -> str | None:
    """The OAuth ``error`` code of a refused refresh ("invalid_grant"), if Google said it."""
    for arg in exc.args[1:]:
        if isinstance(arg, dict) and isinstance(arg.get("error"), str):
            return arg["error"]
    text = str(exc.args[0]) if exc.args else ""
    code = text.split(":", 1)[0].strip()
    return code if code and code.replace("_", "").isalpha() else None


def _transport_reason(exc: BaseException) -> str:
    """A short phrase for a network failure (google-auth wraps the requests error)."""
    for error in (exc, exc.__cause__, exc.args[0] if exc.args else None):
        if isinstance(error, requests.Timeout):
            return "timed out"
        if isinstance(error, requests.ConnectionError):
            return "connection failed"
    return type(exc.__cause__ or exc).__name__


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
        if not _safe_endpoint(client[key]):
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
        raise CadencedError(f"cannot reach Google's token endpoint ({_transport_reason(exc)})",
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
    creds = _Credentials(
        creds.token, refresh_token=creds.refresh_token, token_uri=client["installed"][
            "token_uri"], client_id=creds.client_id, client_secret=creds.client_secret,
        scopes=sorted(granted), granted_scopes=sorted(granted), expiry=creds.expiry)
    write_private(path, json.dumps(_to_info(creds), indent=2).encode())
    log.debug("source %r: token file written to %s", source, path)
    return SignIn(path=path, scopes=granted, asked=tuple(asked))


# --- revoking -----------------------------------------------------------------------


@dataclass(frozen=True)
class Revoked:
    """What :func:`revoke` did: the file is gone; ``at_google`` says whether Google
    confirmed (or already knew) the grant is revoked, else ``problem`` says why not."""

    path: Path
    at_google: bool
    problem: str | None = None


def revoke(path: Path, *, source: str, timeout: float = 30.0,
           session: requests.Session | None = None) -> Revoked:
    """Revoke the sign-in at Google (its revoke endpoint next to the file's
    ``token_uri``), then delete the token file whatever Google said.

    Google revokes the whole grant of that account to that OAuth client: another
    source signed in with the same account and client loses it too.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CadencedError(f"source {source!r} is not signed in (no token file {path})"
                            ) from None
    except OSError as exc:
        raise CadencedError(f"cannot read the token file {path}: {exc.strerror}") from None
    problem: str | None = None
    try:
        info = json.loads(raw)
        token = info.get("refresh_token") or info.get("token")
        token_uri = info.get("token_uri") or "https://oauth2.googleapis.com/token"
        if not isinstance(token, str) or not token:
            raise ValueError
    except (ValueError, AttributeError):
        info, token, token_uri = None, None, ""
        problem = "the token file was unusable"
    if token is not None and not _safe_endpoint(token_uri):
        problem = "the token file's token_uri is not https"
    elif token is not None:
        problem = _post_revoke(revoke_uri(token_uri), token, timeout, session)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return Revoked(path=path, at_google=problem is None, problem=problem)


def _post_revoke(url: str, token: str, timeout: float,
                 session: requests.Session | None) -> str | None:
    """None when Google revoked the token or already had; else what went wrong."""
    owned = session is None
    http = session or requests.Session()
    try:
        response = http.post(url, data={"token": token}, timeout=timeout,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    except requests.Timeout:
        return "Google did not answer in time"
    except requests.RequestException:
        return "Google could not be reached"
    finally:
        if owned:
            http.close()
    if response.status_code == 200:
        return None
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if response.status_code == 400 and error in {"invalid_token", "invalid_grant"}:
        return None  # revoked already
    return f"Google answered HTTP {response.status_code}" + (f" ({error})" if error else "")
