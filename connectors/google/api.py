"""Talking to Google's REST APIs: clients, retries, and errors turned into ours.

Clients are google-api-python-client Resources built from the discovery
documents bundled in that package (no discovery request at run time). With an
``api_root`` other than Google's, every API's ``rootUrl`` is rewritten to it, so a
proxy or the test emulator serves Calendar, Drive and Docs on one root (an
``api_endpoint`` client option would leave uploads and batches on Google's host).

:func:`execute` runs one request with a timeout (set on the HTTP object) and
retries what Google says is worth retrying: 5xx, 429, and 403 with a rate-limit
reason, including ``quotaExceeded`` that the client's own ``num_retries`` leaves
alone, with exponential backoff and jitter, honouring ``Retry-After``. Any other
4xx is not retried. Everything that goes wrong leaves as a
:class:`~daemon.core.errors.GoogleApiError` or :class:`~daemon.core.errors.NeedsSignIn`
naming the source and what to do; no library exception escapes.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import ssl
import time
from collections.abc import Callable
from importlib import resources
from typing import Any, Literal

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError

from connectors.google.errors import GoogleApiError
from daemon.config import GOOGLE_API_ROOT
from daemon.core.errors import NeedsSignIn

log = logging.getLogger(__name__)

Api = Literal["calendar", "drive", "docs"]
DEFAULT_API_ROOT = GOOGLE_API_ROOT
_DOCUMENTS: dict[str, str] = {
    "calendar": "calendar.v3.json",
    "drive": "drive.v3.json",
    "docs": "docs.v1.json",
}
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})
MAX_DELAY = 32.0  # seconds between two attempts at most
MAX_RETRY_AFTER = 120.0


@functools.cache
def _bundled(api: Api) -> str:
    folder = resources.files("googleapiclient") / "discovery_cache" / "documents"
    return (folder / _DOCUMENTS[api]).read_text(encoding="utf-8")


def discovery_document(api: Api, api_root: str | None) -> dict[str, Any]:
    """The bundled discovery document of ``api``, pointed at ``api_root``."""
    document: dict[str, Any] = json.loads(_bundled(api))
    if api_root and api_root != DEFAULT_API_ROOT:
        root = api_root if api_root.endswith("/") else api_root + "/"
        document["rootUrl"] = root
        document["mtlsRootUrl"] = root
        document["baseUrl"] = root + document.get("servicePath", "")
    return document


def build_service(api: Api, credentials: Any, *, api_root: str | None,
                  timeout: float = 30.0) -> Any:
    """A client for ``api`` that authorizes with ``credentials`` and times out
    every call after ``timeout`` seconds."""
    http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=timeout))
    return build_from_document(discovery_document(api, api_root), http=http)


def google_reason(error: HttpError) -> tuple[str | None, str]:
    """(the first ``errors[].reason``, Google's message) of an error reply."""
    try:
        body = json.loads(error.content.decode("utf-8", "replace"))
    except (ValueError, AttributeError):
        return None, (error.resp.reason or "").strip()
    inner = body.get("error") if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        return None, str(inner or error.resp.reason or "")
    reasons = [e.get("reason") for e in inner.get("errors") or [] if isinstance(e, dict)]
    reason = next((r for r in reasons if r), None) or inner.get("status")
    return reason, str(inner.get("message") or error.resp.reason or "").strip()


def is_retryable(status: int, reason: str | None) -> bool:
    return status >= 500 or status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS)


def backoff(attempt: int, retry_after: str | None = None) -> float:
    """Seconds to wait before attempt ``attempt + 1``: Retry-After when given,
    else 1, 2, 4, ... with up to a second of jitter, at most :data:`MAX_DELAY`."""
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER)
        except ValueError:
            pass  # an HTTP date: use the usual backoff
    return min(2.0 ** attempt + random.random(), MAX_DELAY)  # noqa: S311 - jitter, not crypto


def _hint(status: int, reason: str | None, source: str) -> str | None:
    sign_in = f"run: cadenced auth google --source {source}"
    if status == 401:
        return f"Google refused the sign-in; {sign_in}"
    if status == 403 and reason == "insufficientPermissions":
        return f"the sign-in lacks a permission this needs; {sign_in} and grant every box"
    if status == 403 and reason == "forbiddenForNonOrganizer":
        return "only the organizer can change this event"
    if status == 404:
        return "check calendar_id of the source (Google Calendar > Settings > Integrate calendar)"
    if is_retryable(status, reason):
        return "Google is busy or over quota; cadenced tries again at its next sync"
    return None


def execute(request: Any, *, source: str, what: str, attempts: int = 5,
            idempotent: bool = True, sleep: Callable[[float], None] = time.sleep) -> Any:
    """Run ``request`` and return its decoded reply, retrying what may be retried.

    ``what`` names the call in messages ("listing events"). A request that is not
    ``idempotent`` (creating a file) is retried only when Google refused it
    before acting (429, rate limits), never after a timeout or a 5xx, which may
    have come after the server acted.
    """
    for attempt in range(attempts):
        last = attempt + 1 >= attempts
        try:
            return request.execute(num_retries=0)
        except HttpError as exc:
            status = int(exc.resp.status)
            reason, message = google_reason(exc)
            refused_before_acting = status == 429 or (
                status == 403 and reason in RATE_LIMIT_REASONS)
            if not last and is_retryable(status, reason) and (
                    idempotent or refused_before_acting):
                delay = backoff(attempt, exc.resp.get("retry-after"))
                log.info("source %r: %s: HTTP %d %s; retrying in %.1fs",
                         source, what, status, reason or "", delay)
                sleep(delay)
                continue
            raise GoogleApiError(
                source, f"{what}: HTTP {status}" + (f" {reason}" if reason else "")
                + (f": {message}" if message else ""),
                status=status, google_reason=reason, hint=_hint(status, reason, source),
            ) from None
        except RefreshError as exc:
            raise sign_in_error(source, exc) from None
        except (OSError, httplib2.HttpLib2Error, TransportError) as exc:
            if isinstance(exc, ssl.SSLError | ssl.CertificateError):
                raise GoogleApiError(source, f"{what}: TLS verification failed ({exc})",
                                     hint="check the system's CA certificates and api_root"
                                     ) from None
            kind = "timed out" if isinstance(exc, TimeoutError) else (
                f"failed: {type(exc).__name__}")
            if not last and idempotent:
                delay = backoff(attempt)
                log.info("source %r: %s %s; retrying in %.1fs", source, what, kind, delay)
                sleep(delay)
                continue
            raise GoogleApiError(source, f"{what} {kind}",
                                 hint="check the network; cadenced tries again at its next "
                                 "sync") from None
    raise AssertionError("unreachable")  # pragma: no cover


def sign_in_error(source: str, exc: RefreshError) -> Exception:
    """A refresh failure as ours: NeedsSignIn for ``invalid_grant``, else a GoogleApiError."""
    text = str(exc)
    if "invalid_grant" in text:
        return NeedsSignIn(
            source, "the Google sign-in was revoked or has expired",
            hint=f"run: cadenced auth google --source {source} (apps in Google's "
            "'testing' mode get tokens that expire after 7 days; publish the OAuth app "
            "to avoid that)")
    return GoogleApiError(source, "refreshing the Google sign-in failed",
                          hint="check the network; cadenced tries again at its next sync")
