"""Is a downloaded body a whole calendar? The checks, and the errors about size and end.

Every failure is a :class:`~daemon.core.errors.SourceError` whose reason and hint a
user can act on; none of them quotes the feed's address.
"""

from __future__ import annotations

import re

from daemon.core.errors import SourceError

_BEGIN_VCALENDAR = re.compile(rb"(?i)BEGIN:VCALENDAR")
_HTML_START = (b"<!doctype", b"<html")
_BOM = b"\xef\xbb\xbf"

RETRY_HINT = "cadenced will retry later"


def check_calendar_body(
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
        raise truncated(source)


def _ends_with_end_vcalendar(data: bytes) -> bool:
    stripped = data.rstrip()
    tail = stripped[-len(b"END:VCALENDAR") :]
    if tail.upper() != b"END:VCALENDAR":
        return False
    before = stripped[: -len(b"END:VCALENDAR")]
    return not before or before.endswith((b"\n", b"\r"))


def too_large(source: str, max_bytes: int) -> SourceError:
    limit = _format_size(max_bytes)
    return SourceError(
        source,
        f"feed is larger than the {limit} limit",
        hint="the calendar may export its whole history; raise the size limit "
        "or publish a shorter date range",
    )


def truncated(source: str) -> SourceError:
    return SourceError(
        source,
        "the feed was cut off (truncated download)",
        hint=f"the connection dropped during the download; {RETRY_HINT}",
    )


def _format_size(n: int) -> str:
    mib = 1024 * 1024
    if n >= mib:
        return f"{n / mib:.4g} MB"
    if n >= 1024:
        return f"{n / 1024:.4g} kB"
    return f"{n} bytes"
