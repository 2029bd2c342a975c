"""The token file: where it lives, the credentials it holds, refreshed and saved
whenever they change; a refused refresh is :class:`~daemon.core.errors.NeedsSignIn`."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
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
from connectors.google.auth.scopes import TESTING_NOTE, can_read, can_write, sign_in_hint
from daemon.config import GoogleSource, is_loopback_host
from daemon.core.errors import NeedsSignIn, SourceError
from daemon.state.files import tighten, write_private

log = logging.getLogger(__name__)

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


def safe_endpoint(url: str) -> bool:
    """https, or plain http to this machine only (the test emulator)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and is_loopback_host(parts.hostname or "")


# --- credentials ------------------------------------------------------------------


_REFUSED = frozenset({"invalid_grant", "invalid_client", "unauthorized_client",
                      "deleted_client"})


class RefreshingCredentials(google.oauth2.credentials.Credentials):
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


def to_info(creds: google.oauth2.credentials.Credentials) -> dict[str, Any]:
    """The authorized-user document, ``scopes`` being what Google granted."""
    info = json.loads(creds.to_json())
    granted = creds.granted_scopes or creds.scopes
    if granted:
        info["scopes"] = sorted(granted)
    return info


def _from_info(info: Any) -> RefreshingCredentials:
    """Credentials from a token file's document, keeping its ``token_uri`` and
    ``expiry`` (``from_authorized_user_info`` replaces the first with Google's and
    ``with_token_uri`` drops the second). ValueError if unusable."""
    if not isinstance(info, dict):
        raise ValueError("not a JSON object")
    creds = RefreshingCredentials.from_authorized_user_info(info)
    token_uri = info.get("token_uri")
    if token_uri is not None:
        if not isinstance(token_uri, str) or not safe_endpoint(token_uri):
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
        self._creds: RefreshingCredentials | None = None
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
            hint += f" ({TESTING_NOTE})"
        return NeedsSignIn(self.source, reason, hint=hint)

    def _load(self) -> tuple[RefreshingCredentials, _Fingerprint]:
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

    def _refresh(self, creds: RefreshingCredentials) -> None:
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
                              f"({transport_reason(exc)})",
                              hint="check the network; tried again at the next sync") from None

    def _persist(self, creds: google.oauth2.credentials.Credentials) -> None:
        """Save refreshed credentials, unless the file changed meanwhile (a new sign-in)."""
        with self._lock:
            if creds is not self._creds or _snapshot(creds) == self._saved:
                return
            try:
                if _fingerprint(self.path) != self._loaded:
                    return  # replaced since we read it: the newer sign-in wins
                write_private(self.path, json.dumps(to_info(creds), indent=2).encode())
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


def transport_reason(exc: BaseException) -> str:
    """A short phrase for a network failure (google-auth wraps the requests error)."""
    for error in (exc, exc.__cause__, exc.args[0] if exc.args else None):
        if isinstance(error, requests.Timeout):
            return "timed out"
        if isinstance(error, requests.ConnectionError):
            return "connection failed"
    return type(exc.__cause__ or exc).__name__
