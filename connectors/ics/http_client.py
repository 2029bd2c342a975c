"""One HTTP(S) GET of a feed: redirects followed by hand, a size and time cap, and
every ``httpx`` failure turned into a :class:`~daemon.core.errors.SourceError`.

``httpx`` is imported when a download starts, so a scan of local files never loads it.
HTTPS certificates are always verified; no message quotes the address.
"""

from __future__ import annotations

import errno
import http
import logging
import time
from typing import TYPE_CHECKING

from connectors.ics.body import RETRY_HINT, check_calendar_body, too_large, truncated
from connectors.ics.urls import check_url_hint
from connectors.ics.validators import Fetched, Validators, conditional_headers, not_modified, result
from daemon.core.errors import SourceError

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

# A whole download (headers and body) may take this many times the per-step timeout.
TOTAL_TIMEOUT_FACTOR = 4
MAX_REDIRECTS = 5

_RELINK_HINT = "the secret link may have been reset; copy the current ICS address into the config"


def fetch_http(
    url: str,
    *,
    fingerprint: str,
    source: str,
    previous: Validators | None,
    timeout: float,
    max_bytes: int,
    user_agent: str,
    client: httpx.Client | None,
) -> Fetched:
    """GET ``url`` (conditional when ``previous`` has validators); see
    :func:`~connectors.ics.fetch.fetch_feed` for the contract."""
    headers = {"User-Agent": user_agent, "Accept": "text/calendar, */*;q=0.5"}
    headers.update(conditional_headers(previous))
    conditional = "If-None-Match" in headers or "If-Modified-Since" in headers

    import httpx  # here, not at the top: a scan of local files never loads it

    own_client: httpx.Client | None = None
    stage = "connect"  # or "body" once the status line and headers are in
    log.debug("fetching %s", fingerprint)
    try:
        if client is None:
            client = own_client = httpx.Client(timeout=httpx.Timeout(timeout))
        request = client.build_request("GET", url, headers=headers, timeout=httpx.Timeout(timeout))
        deadline = time.monotonic() + TOTAL_TIMEOUT_FACTOR * timeout
        response = _send_following_redirects(client, request, source=source)
        try:
            stage = "body"
            return _read_response(
                response,
                fingerprint=fingerprint,
                source=source,
                previous=previous,
                conditional=conditional,
                max_bytes=max_bytes,
                deadline=deadline,
            )
        finally:
            response.close()
    except httpx.TimeoutException:
        raise SourceError(
            source,
            f"timed out after {timeout:g}s",
            hint=f"the server is slow or unreachable; {RETRY_HINT}",
        ) from None
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        if stage == "body":
            raise truncated(source) from None
        raise SourceError(
            source,
            f"the server closed the connection without answering ({type(exc).__name__})",
            hint=f"the server may be overloaded; {RETRY_HINT}",
        ) from None
    except httpx.ConnectError as exc:
        raise SourceError(
            source,
            f"could not connect to the server: {_connect_problem(exc)} ({type(exc).__name__})",
            hint=f"check the network connection and the url of source {source!r} in the config",
        ) from None
    except httpx.DecodingError:
        raise SourceError(
            source,
            "the server sent a corrupt compressed body (DecodingError)",
            hint=RETRY_HINT,
        ) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise SourceError(
            source,
            f"the download failed ({type(exc).__name__})",
            hint=check_url_hint(source),
        ) from None
    finally:
        if own_client is not None:
            own_client.close()


def _send_following_redirects(
    client: httpx.Client, request: httpx.Request, *, source: str
) -> httpx.Response:
    """Send ``request`` (streamed) and follow at most MAX_REDIRECTS redirects ourselves,
    so the cap holds whatever the given client's own ``max_redirects`` is. Once on
    https, a redirect to plain http is refused before anything is sent in clear."""
    redirects = 0
    secure = False
    while True:
        secure = secure or request.url.scheme == "https"
        response = client.send(request, stream=True, follow_redirects=False)
        next_request = response.next_request
        if next_request is None:
            return response
        response.close()
        if secure and next_request.url.scheme != "https":
            raise SourceError(
                source,
                "its https address redirects to plain http, which is refused (the feed "
                "would travel unencrypted): use the calendar's https address",
                hint=f"copy the calendar's current https:// ICS address into the url of "
                f"source {source!r}",
            )
        redirects += 1
        if redirects > MAX_REDIRECTS:
            raise SourceError(
                source,
                "too many redirects",
                hint=(
                    f"the address redirects more than {MAX_REDIRECTS} times (probably in a loop); "
                    "copy the current ICS address into the config"
                ),
            )
        request = next_request


def _read_response(
    response: httpx.Response,
    *,
    fingerprint: str,
    source: str,
    previous: Validators | None,
    conditional: bool,
    max_bytes: int,
    deadline: float,
) -> Fetched:
    status = response.status_code
    log.debug("%s: HTTP %d", fingerprint, status)
    etag = response.headers.get("ETag")
    last_modified = response.headers.get("Last-Modified")

    if status == 304:
        if previous is None or not conditional:
            raise SourceError(
                source,
                "HTTP 304 Not Modified to a request that was not conditional",
                hint=f"the server misbehaves; {RETRY_HINT}",
            )
        return not_modified(previous, etag, last_modified)
    if not 200 <= status < 300:
        raise _status_error(source, response)

    declared = _content_length(response)
    if declared is not None and declared > max_bytes:
        raise too_large(source, max_bytes)

    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise too_large(source, max_bytes)
        if time.monotonic() > deadline:
            raise SourceError(
                source,
                "the download was too slow (the whole feed must arrive within "
                f"{TOTAL_TIMEOUT_FACTOR} x timeout_seconds)",
                hint=f"the server trickles data; {RETRY_HINT}",
            )
        chunks.append(chunk)
    if declared is not None and response.num_bytes_downloaded < declared:
        raise truncated(source)
    data = b"".join(chunks)
    log.debug("%s: %d bytes", fingerprint, len(data))

    check_calendar_body(data, source=source, content_type=response.headers.get("Content-Type"))
    return result(
        data, etag=etag, last_modified=last_modified, previous=previous, fingerprint=fingerprint
    )


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    try:
        length = int(value.strip())
    except ValueError:
        return None
    return length if length >= 0 else None


def _status_error(source: str, response: httpx.Response) -> SourceError:
    status = response.status_code
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = response.reason_phrase
    reason = f"HTTP {status} {phrase}".rstrip()
    if status == 429:
        hint = f"the server rate-limits requests; {RETRY_HINT}"
    elif status in (401, 403, 404, 410):
        hint = _RELINK_HINT
    elif status >= 500:
        hint = f"the calendar server has a problem; {RETRY_HINT}"
    else:
        hint = check_url_hint(source)
    return SourceError(source, reason, hint=hint)


def _connect_problem(exc: BaseException) -> str:
    """Name the cause of a connect failure from the exception chain, without its text
    (which could quote the address)."""
    import socket
    import ssl

    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "the TLS certificate could not be verified"
        if isinstance(cause, ssl.SSLError):
            return "the TLS handshake failed"
        if isinstance(cause, socket.gaierror):
            return "the host name could not be resolved"
        if isinstance(cause, ConnectionRefusedError):
            return "the connection was refused"
        if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "the network or host is unreachable"
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "the TLS certificate could not be verified"
    if "SSL" in text or "TLS" in text:
        return "the TLS handshake failed"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "the host name could not be resolved"
    if "Connection refused" in text:
        return "the connection was refused"
    return "the connection failed"


def default_user_agent() -> str:
    import importlib.metadata  # only for HTTP: it loads email and zipfile

    try:
        version = importlib.metadata.version("cadenced")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    return f"cadenced/{version} (+calendar sync)"
