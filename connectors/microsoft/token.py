"""A Microsoft source's sign-in: MSAL's serializable token cache in one private file.

The file (JSON, 0600, written atomically with :mod:`daemon.state.files`) holds what
the sign-in chose (client id, authority, the scopes granted, the account) and MSAL's
own cache (the refresh token and the current access token), so the daemon renews
the access token silently. It is written only when MSAL changed the cache.

A refresh Microsoft refuses for good (``invalid_grant``, ``interaction_required``,
consent withdrawn) raises :class:`~daemon.core.errors.NeedsSignIn`; the source then
shows "needs sign-in" and is not asked again until its token file changes (a new
``cadenced auth microsoft`` writes it): no retry loop against the identity service.
Any other failure (network, timeout) is a :class:`GraphError`, tried again next sync.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import httpx
import msal

from connectors.base import file_name
from connectors.microsoft.errors import GraphError
from connectors.microsoft.http import MsalHttp
from daemon.config import MicrosoftSource
from daemon.core.errors import NeedsSignIn
from daemon.state.files import write_private

log = logging.getLogger(__name__)

READ_SCOPES = ("Calendars.Read",)
WRITE_SCOPES = ("Calendars.ReadWrite",)
VERSION = 1
REVOKE_URL = "https://myapplications.microsoft.com/"  # work or school: "Apps" > revoke
REVOKE_URL_PERSONAL = "https://account.live.com/consent/Manage"
# Answers that only a new interactive sign-in can fix.
SIGN_IN_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required",
                            "login_required", "invalid_client", "unauthorized_client"})


def token_path(source: MicrosoftSource, state_dir: Path) -> Path:
    """Where the source's token cache lives: ``token_file``, or one per source."""
    if source.token_file:
        return Path(source.token_file)
    return state_dir / "microsoft" / f"{file_name(source.name)}.json"


def authority_url(source: MicrosoftSource, tenant: str | None = None) -> str:
    return source.authority + (tenant or source.tenant)


def application(*, client_id: str, authority: str, cache: msal.TokenCache | None,
                timeout: float, ca_file: str | None) -> msal.PublicClientApplication:
    """MSAL's public client (no secret) for ``authority``; talks through httpx with
    the source's CA and timeout. An authority MSAL does not know (a proxy, the tests'
    emulator) is not checked against Microsoft's instance list."""
    known = authority.startswith("https://login.microsoftonline.com/")
    try:
        return msal.PublicClientApplication(
            client_id, authority=authority, token_cache=cache,
            http_client=MsalHttp(timeout=timeout, ca_file=ca_file),
            instance_discovery=None if known else False)
    except ValueError as exc:  # the discovery document cannot be read
        raise GraphError("microsoft", f"the sign-in service at {authority} cannot be used "
                         f"({str(exc).split('.')[0]})",
                         hint="check authority and tenant of the source") from None
    except httpx.HTTPError as exc:
        raise GraphError("microsoft", f"the sign-in service at {authority} cannot be "
                         f"reached ({type(exc).__name__})",
                         hint="check the network, authority and ca_file") from None


class TokenFile:
    """One source's token cache file, and access tokens from it."""

    def __init__(self, path: Path, *, source: MicrosoftSource) -> None:
        self.path = path
        self.source = source
        self.name = source.name
        self._lock = threading.Lock()
        self._app: msal.PublicClientApplication | None = None
        self._cache: msal.SerializableTokenCache | None = None
        self._data: dict[str, Any] | None = None
        self._stamp: tuple[int, int] | None = None
        self._refused: tuple[tuple[int, int] | None, NeedsSignIn] | None = None

    # --- the file -----------------------------------------------------------------

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        return (info.st_mtime_ns, info.st_size)

    def read(self) -> dict[str, Any] | None:
        """The file's contents, or None when there is no usable sign-in."""
        stamp = self._file_stamp()
        if stamp is not None and stamp == self._stamp and self._data is not None:
            return self._data
        self._app = None
        self._stamp = stamp
        if stamp is None:
            self._data = None
            return None
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            log.warning("source %r: its token file %s is unreadable", self.name, self.path)
            self._data = None
            return None
        ok = (isinstance(data, dict) and data.get("version") == VERSION
              and isinstance(data.get("cache"), str) and data.get("client_id"))
        self._data = data if ok else None
        return self._data

    @staticmethod
    def write(path: Path, *, client_id: str, authority: str, scopes: list[str],
              account: str | None, username: str | None, cache: str) -> None:
        data = {"version": VERSION, "client_id": client_id, "authority": authority,
                "scopes": sorted(scopes), "account": account, "username": username,
                "cache": cache}
        write_private(path, json.dumps(data, indent=1).encode())

    # --- what the sign-in allows ------------------------------------------------------

    @property
    def scopes(self) -> tuple[str, ...]:
        data = self.read()
        return tuple(data.get("scopes") or ()) if data else ()

    @property
    def can_write(self) -> bool:
        return any(s.rsplit("/", 1)[-1] in WRITE_SCOPES for s in self.scopes)

    def status(self) -> dict[str, Any]:
        """For `cadenced auth status`: no network."""
        data = self.read()
        return {"source": self.name, "kind": "microsoft", "token_file": str(self.path),
                "signed_in": data is not None,
                "account": (data or {}).get("username"),
                "scopes": list(self.scopes), "can_read": data is not None,
                "can_write": self.can_write, "access_token_expiry": None}

    # --- access tokens ----------------------------------------------------------------

    def _needs_sign_in(self, reason: str) -> NeedsSignIn:
        return NeedsSignIn(self.name, reason,
                           hint=f"run: cadenced auth microsoft --source {self.name}")

    def access_token(self, *, force_refresh: bool = False) -> str:
        """A valid access token; refreshed through MSAL when needed (and written back).
        Raises NeedsSignIn or GraphError; never returns an error."""
        with self._lock:
            return self._access_token(force_refresh)

    def _access_token(self, force_refresh: bool) -> str:
        if self._refused is not None and self._refused[0] == self._file_stamp():
            raise self._refused[1]  # refused before, and nobody signed in since
        self._refused = None
        data = self.read()
        if data is None:
            raise self._needs_sign_in("not signed in to Microsoft yet")
        if self._app is None:
            self._cache = msal.SerializableTokenCache()
            self._cache.deserialize(data["cache"])
            try:
                self._app = application(
                    client_id=self.source.client_id or data["client_id"],
                    authority=data.get("authority") or authority_url(self.source),
                    cache=self._cache, timeout=self.source.timeout_seconds,
                    ca_file=self.source.ca_file)
            except GraphError as exc:
                raise GraphError(self.name, exc.reason, hint=exc.hint) from None
        app, cache = self._app, self._cache
        assert cache is not None
        accounts = app.get_accounts()
        account = next((a for a in accounts if a.get("home_account_id") == data.get("account")),
                       accounts[0] if accounts else None)
        if account is None:
            raise self._remember(self._needs_sign_in("the Microsoft sign-in holds no account"))
        try:
            result = app.acquire_token_silent_with_error(
                list(data.get("scopes") or READ_SCOPES), account=account,
                force_refresh=force_refresh)
        except httpx.HTTPError as exc:
            raise GraphError(self.name, f"renewing the Microsoft sign-in failed "
                             f"({type(exc).__name__})",
                             hint="check the network; cadenced tries again at its next sync"
                             ) from None
        if result and "access_token" in result:
            if cache.has_state_changed:
                self._save(data, cache)
            return str(result["access_token"])
        error = (result or {}).get("error") or "interaction_required"
        if error in SIGN_IN_ERRORS:
            raise self._remember(self._needs_sign_in(
                f"the Microsoft sign-in was revoked or has expired ({error})"))
        raise GraphError(self.name, f"renewing the Microsoft sign-in failed ({error})",
                         hint="cadenced tries again at its next sync")

    def _remember(self, exc: NeedsSignIn) -> NeedsSignIn:
        self._refused = (self._file_stamp(), exc)
        return exc

    def _save(self, data: dict[str, Any], cache: msal.SerializableTokenCache) -> None:
        data = {**data, "cache": cache.serialize()}
        try:
            write_private(self.path, json.dumps(data, indent=1).encode())
        except OSError as exc:
            log.warning("source %r: cannot save the renewed sign-in to %s: %s", self.name,
                        self.path, exc.strerror)
            return
        cache.has_state_changed = False
        self._data, self._stamp = data, self._file_stamp()

    def forget(self) -> bool:
        """Delete the token file (``cadenced auth revoke``). True when there was one."""
        self._app = self._data = None
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True
