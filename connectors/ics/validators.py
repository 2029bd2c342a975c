"""What makes the next download of a feed cheap: HTTP validators and content hashes.

A conditional request sends back the server's ``ETag`` / ``Last-Modified``; a body
that comes anyway is compared by :func:`content_hash`, which ignores the DTSTAMP
lines Google and Exchange rewrite on every export.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

# A DTSTAMP content line and its folded continuation lines, preceded by the newline
# that ends the line before it. Starting the pattern with a literal lets `re` scan
# for it quickly (about 25 ms for 10 MB); the line's own terminating newline stays
# and takes the place of the one consumed in front, so LF and CRLF both come out clean.
_DTSTAMP_LINE = re.compile(rb"(?i)\nDTSTAMP[;:][^\n]*(?:\n[ \t][^\n]*)*")


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
    """The result of one successful :func:`~connectors.ics.fetch.fetch_feed`.

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


def conditional_headers(previous: Validators | None) -> dict[str, str]:
    """``If-None-Match`` / ``If-Modified-Since`` for what ``previous`` remembers."""
    headers = {}
    if previous is not None and previous.etag:
        headers["If-None-Match"] = previous.etag
    if previous is not None and previous.last_modified:
        headers["If-Modified-Since"] = previous.last_modified
    return headers


def not_modified(previous: Validators, etag: str | None, last_modified: str | None) -> Fetched:
    """The answer to an HTTP 304: the body of ``previous`` still holds."""
    validators = Validators(
        etag=etag or previous.etag,
        last_modified=last_modified or previous.last_modified,
        content_hash=previous.content_hash,
        raw_hash=previous.raw_hash,
    )
    return Fetched(content=None, validators=validators, not_modified=True)


def result(
    data: bytes,
    *,
    etag: str | None,
    last_modified: str | None,
    previous: Validators | None,
    fingerprint: str,
) -> Fetched:
    """``data`` as a :class:`Fetched`: ``not_modified`` when it has ``previous``'s content."""
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
