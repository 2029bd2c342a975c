"""Revoking a sign-in at Google, then deleting its token file in any case."""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import requests

from connectors.google.auth.token import revoke_uri, safe_endpoint
from daemon.core.errors import CadencedError

log = logging.getLogger(__name__)

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
    if token is not None and not safe_endpoint(token_uri):
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
