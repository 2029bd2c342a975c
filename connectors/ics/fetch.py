"""Fetch one ICS feed: over HTTP(S), ``webcal://`` or from a local file.

The contract of this module is small: :func:`fetch_feed` either returns the
feed's bytes (or says they have not changed), or raises a
:class:`~daemon.core.errors.SourceError` whose reason and hint a user can act on.
It never returns an empty result for a failed download, and no ``httpx`` or
``OSError`` exception escapes it.

A secret feed URL is a credential (whoever has it reads the calendar), so no URL
is ever put into a message or a log line: :func:`url_fingerprint` identifies a
feed without revealing it.

The pieces: :mod:`~connectors.ics.urls` (what an address is),
:mod:`~connectors.ics.http_client` (one HTTP GET and its errors),
:mod:`~connectors.ics.validators` (conditional requests, unchanged bodies),
:mod:`~connectors.ics.body` (is it a whole calendar) and
:mod:`~connectors.ics.redaction` (no URL in the HTTP libraries' logs).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.ics.body import check_calendar_body, too_large
from connectors.ics.http_client import default_user_agent, fetch_http
from connectors.ics.redaction import install_redaction
from connectors.ics.urls import check_url_hint, file_url_path, scheme_of, unsupported_scheme
from connectors.ics.validators import Fetched, Validators, content_hash, result
from daemon.core.errors import SourceError
from daemon.core.redact import normalize_url, url_fingerprint

if TYPE_CHECKING:
    import httpx

__all__ = [
    "Fetched",
    "Validators",
    "content_hash",
    "fetch_feed",
    "normalize_url",
    "url_fingerprint",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024


def fetch_feed(
    url: str,
    *,
    source: str,
    previous: Validators | None = None,
    timeout: float = 30.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    user_agent: str | None = None,
    client: httpx.Client | None = None,
) -> Fetched:
    """Download the ICS feed at ``url`` for the source named ``source``.

    ``url`` is a filesystem path, a ``file://``, ``http://``, ``https://``,
    ``webcal://`` or ``webcals://`` URL. With ``previous`` the request is conditional
    (``If-None-Match`` / ``If-Modified-Since``) and an unchanged body is reported as
    ``not_modified`` instead of being returned again.

    Returns a :class:`Fetched`: either ``content`` holding a complete iCalendar body
    (it contains ``BEGIN:VCALENDAR`` and ends with an ``END:VCALENDAR`` line, at most
    ``max_bytes`` long), or ``content=None, not_modified=True``.

    Raises :class:`SourceError` for every failure (cannot connect, timeout, HTTP
    error status, too many redirects, too large, HTML page, not iCalendar,
    truncated, unreadable local file). Its message and hint never contain the URL.
    HTTPS certificates are always verified; at most 5 redirects are followed; every
    network phase times out after ``timeout`` seconds. ``client``, when given, is
    used and left open; otherwise a client is created and closed here.
    """
    url = normalize_url(url)
    fingerprint = url_fingerprint(url)
    scheme, has_scheme = scheme_of(url)
    if scheme in ("http", "https"):
        return fetch_http(
            url,
            fingerprint=fingerprint,
            source=source,
            previous=previous,
            timeout=timeout,
            max_bytes=max_bytes,
            user_agent=user_agent or default_user_agent(),
            client=client,
        )
    if scheme == "file":
        return _fetch_file(
            file_url_path(url, source),
            fingerprint=fingerprint,
            source=source,
            previous=previous,
            max_bytes=max_bytes,
        )
    if has_scheme and "://" in url:
        raise unsupported_scheme(source, scheme)
    return _fetch_file(
        Path(url).expanduser(),
        fingerprint=fingerprint,
        source=source,
        previous=previous,
        max_bytes=max_bytes,
    )


def _fetch_file(
    path: Path,
    *,
    fingerprint: str,
    source: str,
    previous: Validators | None,
    max_bytes: int,
) -> Fetched:
    log.debug("reading %s", fingerprint)
    try:
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
        raise SourceError(
            source,
            f"cannot read the local file {path.name!r}: {problem}",
            hint=check_url_hint(source),
        ) from None
    if len(data) > max_bytes:
        raise too_large(source, max_bytes)
    check_calendar_body(data, source=source, content_type=None, local=True)
    return result(data, etag=None, last_modified=None, previous=previous, fingerprint=fingerprint)


install_redaction()
