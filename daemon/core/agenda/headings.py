"""A meeting's heading and hidden marker: the date written into the heading and read
back from what a human left of it, and the marker line that keys a section. Pure."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo
from urllib.parse import quote

from daemon.core.agenda.model import Meeting

CANCELLED = " — cancelled"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december")
_MONTH_NUMBER = {
    **{name.lower(): i for i, name in enumerate(_MONTHS, start=1)},
    **{name: i for i, name in enumerate(_MONTH_NAMES, start=1)},
    "sept": 9,
}
# the date, time and length cadenced writes into a heading: "Mon 23 Nov 2026 · 14:00–14:45 (45 min)"
STAMP = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+(\d{1,2})\s+([A-Z][a-z]{2})\s+(\d{4})\s*·\s*"
    r"(\d{1,2}):(\d{2})\s*[–-]\s*\d{1,2}:\d{2}(?:\s*\(\d+\s*min\))?"
)
_ISO_DAY = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_DAY_MONTH_YEAR = re.compile(r"(?<!\d)(\d{1,2})\.?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})(?!\d)")
_MONTH_DAY_YEAR = re.compile(r"\b([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)")


# ---------------------------------------------------------------- headings and dates


def stamp(meeting: Meeting, tz: tzinfo) -> str:
    start = meeting.start.astimezone(tz)
    end = meeting.end.astimezone(tz)
    minutes = max(0, round((meeting.end - meeting.start).total_seconds() / 60))
    return (f"{_DAYS[start.weekday()]} {start.day} {_MONTHS[start.month - 1]} {start.year}"
            f" · {start:%H:%M}–{end:%H:%M} ({minutes} min)")


def heading_text(meeting: Meeting, *, tz: tzinfo) -> str:
    """The heading cadenced writes for a meeting (without the ``## ``)."""
    return stamp(meeting, tz) + (CANCELLED if meeting.cancelled else "")


def _month(name: str) -> int | None:
    return _MONTH_NUMBER.get(name.lower())


def _safe_date(year: int, month: int | None, day: int) -> date | None:
    if month is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def heading_when(heading: str) -> datetime | None:
    """The (naive, local) moment a heading names, if it names one."""
    found = STAMP.search(heading)
    if found:
        day = _safe_date(int(found.group(3)), _month(found.group(2)), int(found.group(1)))
        hour, minute = int(found.group(4)), int(found.group(5))
        if day is not None and hour < 24 and minute < 60:
            return datetime.combine(day, time(hour, minute))
    for pattern, order in ((_ISO_DAY, "ymd"), (_DAY_MONTH_YEAR, "dmy"), (_MONTH_DAY_YEAR, "mdy")):
        for found in pattern.finditer(heading):
            a, b, c = found.groups()
            if order == "ymd":
                day = _safe_date(int(a), int(b), int(c))
            elif order == "dmy":
                day = _safe_date(int(c), _month(b), int(a))
            else:
                day = _safe_date(int(c), _month(a), int(b))
            if day is not None:
                return datetime.combine(day, time())
    return None


def key_start(key: str) -> datetime | None:
    _, _, stamp = key.rpartition("|")
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def marker_line(key: str) -> str:
    """The hidden line that makes a section cadenced's (the key escaped for a comment)."""
    return f"<!-- cadenced:meeting key={quote(key, safe='|@:/+=,.;!$&()*~')} -->"
