"""Fetch one ICS feed: over HTTP(S), ``webcal://`` or from a local file.

The contract of this module is small: :func:`fetch_feed` either returns the
feed's bytes (or says they have not changed), or raises a
:class:`~daemon.core.errors.SourceError` whose reason and hint a user can act on.
It never returns an empty result for a failed download, and no ``httpx`` or
``OSError`` exception escapes it.

A secret feed URL is a credential (whoever has it reads the calendar), so no URL
is ever put into a message or a log line: :func:`url_fingerprint` identifies a
feed without revealing it.
"""

from __future__ import annotations

import errno
import hashlib
import http
import logging
import re
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

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

# A whole download (headers and body) may take this many times the per-step timeout.
TOTAL_TIMEOUT_FACTOR = 4
MAX_REDIRECTS = 5
DEFAULT_MAX_BYTES = 20 * 1024 * 1024

# A DTSTAMP content line and its folded continuation lines, preceded by the newline
# that ends the line before it. Starting the pattern with a literal lets `re` scan
# for it quickly (about 25 ms for 10 MB); the line's own terminating newline stays
# and takes the place of the one consumed in front, so LF and CRLF both come out clean.
_DTSTAMP_LINE = re.compile(rb"(?i)\nDTSTAMP[;:][^\n]*(?:\n[ \t][^\n]*)*")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_BEGIN_VCALENDAR = re.compile(rb"(?i)BEGIN:VCALENDAR")
_HTML_START = (b"<!doctype", b"<html")
_BOM = b"\xef\xbb\xbf"

_RELINK_HINT = "the secret link may have been reset; copy the current ICS address into the config"
_RETRY_HINT = "cadenced will retry later"


@dataclass(frozen=True)
class Validators:
    """What is remembered of the last good download, to make the next one cheap.

    ``etag`` and ``last_modified`` are the server's HTTP validators (sent back as
    ``If-None-Match`` / ``If-Modified-Since``); ``content_hash`` is
    :func:`content_hash` of the last good body.
    """

    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    raw_hash: str | None = None  # sha256 of the exact bytes: the cheap first check


@dataclass(frozen=True)
class Fetched:
    """The result of one successful :func:`fetch_feed`.

    ``content`` is the body, or ``None`` when it has not changed; ``validators`` is
    what to pass as ``previous`` next time; ``not_modified`` is true on HTTP 304 and
    when the body's :func:`content_hash` equals ``previous.content_hash``.
    """

    content: bytes | None
    validators: Validators
    not_modified: bool


def content_hash(data: bytes) -> str:
    """Return the SHA-256 hex digest of ``data`` with every DTSTAMP line removed.

    Google and Exchange stamp each event with the time of the export, so two
    downloads of an unchanged calendar differ only in their DTSTAMP lines. Folded
    continuation lines of a DTSTAMP line are dropped with it; LF and CRLF line
    endings are both handled. Linear time; never raises.
    """
    return hashlib.sha256(_DTSTAMP_LINE.sub(b"", b"\n" + data)).hexdigest()



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
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else ""
    if scheme in ("http", "https"):
        return _fetch_http(
            url,
            fingerprint=fingerprint,
            source=source,
            previous=previous,
            timeout=timeout,
            max_bytes=max_bytes,
            user_agent=user_agent or _default_user_agent(),
            client=client,
        )
    if scheme == "file":
        return _fetch_file(
            _file_url_path(url, source),
            fingerprint=fingerprint,
            source=source,
            previous=previous,
            max_bytes=max_bytes,
        )
    if match and "://" in url:
        raise SourceError(
            source,
            f"unsupported URL scheme {scheme!r}",
            hint=f"use an https://, webcal:// or file:// address for source {source!r}",
        )
    return _fetch_file(
        Path(url).expanduser(),
        fingerprint=fingerprint,
        source=source,
        previous=previous,
        max_bytes=max_bytes,
    )


# --- local files -----------------------------------------------------------------


def _file_url_path(url: str, source: str) -> Path:
    parts = urllib.parse.urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise SourceError(
            source,
            "file:// URLs naming another host are not supported",
            hint=_check_url_hint(source),
        )
    from urllib.request import url2pathname  # file:// only: it loads http.client, email

    return Path(url2pathname(parts.path))


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
            hint=_check_url_hint(source),
        ) from None
    if len(data) > max_bytes:
        raise _too_large(source, max_bytes)
    _check_calendar_body(data, source=source, content_type=None, local=True)
    return _result(data, etag=None, last_modified=None, previous=previous, fingerprint=fingerprint)


# --- HTTP ------------------------------------------------------------------------


def _fetch_http(
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
    headers = {"User-Agent": user_agent, "Accept": "text/calendar, */*;q=0.5"}
    if previous is not None and previous.etag:
        headers["If-None-Match"] = previous.etag
    if previous is not None and previous.last_modified:
        headers["If-Modified-Since"] = previous.last_modified
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
            hint=f"the server is slow or unreachable; {_RETRY_HINT}",
        ) from None
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        if stage == "body":
            raise _truncated(source) from None
        raise SourceError(
            source,
            f"the server closed the connection without answering ({type(exc).__name__})",
            hint=f"the server may be overloaded; {_RETRY_HINT}",
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
            hint=_RETRY_HINT,
        ) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise SourceError(
            source,
            f"the download failed ({type(exc).__name__})",
            hint=_check_url_hint(source),
        ) from None
    finally:
        if own_client is not None:
            own_client.close()


def _send_following_redirects(
    client: httpx.Client, request: httpx.Request, *, source: str
) -> httpx.Response:
    """Send ``request`` (streamed) and follow at most MAX_REDIRECTS redirects ourselves,
    so the cap holds whatever the given client's own ``max_redirects`` is."""
    redirects = 0
    while True:
        response = client.send(request, stream=True, follow_redirects=False)
        next_request = response.next_request
        if next_request is None:
            return response
        response.close()
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
                hint=f"the server misbehaves; {_RETRY_HINT}",
            )
        validators = Validators(
            etag=etag or previous.etag,
            last_modified=last_modified or previous.last_modified,
            content_hash=previous.content_hash,
            raw_hash=previous.raw_hash,
        )
        return Fetched(content=None, validators=validators, not_modified=True)
    if not 200 <= status < 300:
        raise _status_error(source, response)

    declared = _content_length(response)
    if declared is not None and declared > max_bytes:
        raise _too_large(source, max_bytes)

    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(source, max_bytes)
        if time.monotonic() > deadline:
            raise SourceError(
                source,
                "the download was too slow (the whole feed must arrive within "
                f"{TOTAL_TIMEOUT_FACTOR} x timeout_seconds)",
                hint=f"the server trickles data; {_RETRY_HINT}",
            )
        chunks.append(chunk)
    if declared is not None and response.num_bytes_downloaded < declared:
        raise _truncated(source)
    data = b"".join(chunks)
    log.debug("%s: %d bytes", fingerprint, len(data))

    _check_calendar_body(data, source=source, content_type=response.headers.get("Content-Type"))
    return _result(
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
        hint = f"the server rate-limits requests; {_RETRY_HINT}"
    elif status in (401, 403, 404, 410):
        hint = _RELINK_HINT
    elif status >= 500:
        hint = f"the calendar server has a problem; {_RETRY_HINT}"
    else:
        hint = _check_url_hint(source)
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


# --- body checks and results -----------------------------------------------------


def _check_calendar_body(
    data: bytes, *, source: str, content_type: str | None, local: bool = False
) -> None:
    """Raise SourceError unless ``data`` is a complete iCalendar body. A ``local``
    file that ends early is incomplete on disk, not cut off by a network."""
    head = data[:1024]
    if head.startswith(_BOM):
        head = head[len(_BOM) :]
    head = head.lstrip().lower()
    looks_like_calendar = head.startswith(b"begin:vcalendar")
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    # A calendar served with the wrong Content-Type is still a calendar; an HTML
    # Content-Type with any other body, or an HTML body whatever the type, is a page.
    if head.startswith(_HTML_START) or (
        mime in ("text/html", "application/xhtml+xml") and not looks_like_calendar
    ):
        raise SourceError(
            source,
            "the server sent an HTML page instead of a calendar "
            "(an expired or private link usually shows a login page)",
            hint=(
                "open the calendar's settings and copy its current secret ICS address "
                "into the config"
            ),
        )
    if not looks_like_calendar and _BEGIN_VCALENDAR.search(data) is None:
        raise SourceError(
            source,
            "not an iCalendar file",
            hint=f"make sure the url of source {source!r} points to an .ics feed, "
            "not to a web page of the calendar",
        )
    if not _ends_with_end_vcalendar(data):
        if local:
            raise SourceError(
                source,
                "the local file is incomplete (it ends before END:VCALENDAR)",
                hint="export the calendar again, or wait until whatever writes the file "
                "has finished",
            )
        raise _truncated(source)


def _ends_with_end_vcalendar(data: bytes) -> bool:
    stripped = data.rstrip()
    tail = stripped[-len(b"END:VCALENDAR") :]
    if tail.upper() != b"END:VCALENDAR":
        return False
    before = stripped[: -len(b"END:VCALENDAR")]
    return not before or before.endswith((b"\n", b"\r"))


def _result(
    data: bytes,
    *,
    etag: str | None,
    last_modified: str | None,
    previous: Validators | None,
    fingerprint: str,
) -> Fetched:
    raw = hashlib.sha256(data).hexdigest()
    if previous is not None and previous.raw_hash == raw and previous.content_hash:
        digest = previous.content_hash  # the very same bytes: skip the DTSTAMP pass
    else:
        digest = content_hash(data)
    validators = Validators(etag=etag, last_modified=last_modified, content_hash=digest,
                            raw_hash=raw)
    if previous is not None and previous.content_hash == digest:
        log.debug("%s: content unchanged", fingerprint)
        return Fetched(content=None, validators=validators, not_modified=True)
    return Fetched(content=data, validators=validators, not_modified=False)


def _too_large(source: str, max_bytes: int) -> SourceError:
    limit = _format_size(max_bytes)
    return SourceError(
        source,
        f"feed is larger than the {limit} limit",
        hint="the calendar may export its whole history; raise the size limit "
        "or publish a shorter date range",
    )


def _truncated(source: str) -> SourceError:
    return SourceError(
        source,
        "the feed was cut off (truncated download)",
        hint=f"the connection dropped during the download; {_RETRY_HINT}",
    )


def _check_url_hint(source: str) -> str:
    return f"check the url of source {source!r} in the config"


def _format_size(n: int) -> str:
    mib = 1024 * 1024
    if n >= mib:
        return f"{n / mib:.4g} MB"
    if n >= 1024:
        return f"{n / 1024:.4g} kB"
    return f"{n} bytes"


def _default_user_agent() -> str:
    import importlib.metadata  # only for HTTP: it loads email and zipfile

    try:
        version = importlib.metadata.version("cadenced")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    return f"cadenced/{version} (+calendar sync)"


# --- keep secret URLs out of httpx's and httpcore's own log lines --------------------

# httpcore's DEBUG trace prints response headers as a list of byte-string pairs; a
# redirect's Location can carry the secret path. Matches ``(b'Location', b'<value>')``.
_LOCATION_HEADER = re.compile(
    r"""(\(b(['"])(?i:content-location|location)\2,\s*b)(['"])(?:\\.|(?!\3).)*\3"""
)
_HTTPCORE_LOGGERS = (
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


class _RedactURLs(logging.Filter):
    """Keep feed URLs out of the HTTP libraries' log records.

    httpx logs every request's full URL at INFO ("HTTP Request: GET <url> ..."): URL
    arguments are replaced by their :func:`url_fingerprint`. httpcore's DEBUG trace
    shows response headers: Location values are blanked out. Never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        httpx = sys.modules.get("httpx")  # no httpx record before httpx is loaded
        if (httpx is not None and isinstance(args, tuple)
                and any(isinstance(a, httpx.URL) for a in args)):
            record.args = tuple(
                url_fingerprint(str(a)) if isinstance(a, httpx.URL) else a for a in args
            )
        if isinstance(record.msg, str) and "ocation" in record.msg:
            record.msg = _LOCATION_HEADER.sub(r"\1\3…\3", record.msg)
        return True


def _install_redaction() -> None:
    """Attach the filter to each logger that emits records (filters do not inherit)."""
    for name in ("httpx", *_HTTPCORE_LOGGERS):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactURLs) for f in logger.filters):
            logger.addFilter(_RedactURLs())


_install_redaction()
