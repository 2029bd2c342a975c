"""The overlay calendar of ``cadenced serve``: one event per upcoming 1:1 with a link
to its agenda, to subscribe to next to the real calendar."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from daemon.core.agenda.model import Meeting

__all__ = ["CALNAME", "overlay_calendar"]

CALNAME = "cadenced agendas"



def _uid(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24] + "@cadenced"


def _text(value: str) -> str:
    """A text value without control characters (line breaks become ``\\n``)."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in value if c == "\n" or c == "\t" or (ord(c) >= 0x20 and c != "\x7f"))


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {value.isoformat()}")
    return value


def _in_zone(value: datetime, *, utc: bool) -> datetime:
    """``value`` in its IANA zone (written with TZID), else in UTC."""
    zone = value.tzinfo
    if not utc and isinstance(zone, ZoneInfo) and zone.key and zone.key != "UTC":
        return value
    return value.astimezone(UTC)


def overlay_calendar(
    meetings: Sequence[tuple[Meeting, str | None, str]], *, now: datetime
) -> bytes:
    """An RFC 5545 calendar with one event per upcoming 1:1 (``end > now``).

    ``meetings`` holds ``(meeting, agenda url or None, person name)``. Each event:
    UID from ``meeting.key`` (stable across runs and moves), DTSTAMP ``now``,
    DTSTART/DTEND in the meeting's zone (TZID, with its VTIMEZONE) or UTC, SUMMARY
    ``1:1 agenda: <title>``, DESCRIPTION with the person and ``Agenda: <url>``, URL,
    STATUS (CANCELLED for a cancelled one) and TRANSP:TRANSPARENT (the overlay
    never makes you look busy: the real meeting already does).
    """
    now = _aware(now, "now")
    upcoming: dict[str, tuple[Meeting, str | None, str]] = {}
    for meeting, url, name in meetings:
        _aware(meeting.start, f"the start of {meeting.key}")
        _aware(meeting.end, f"the end of {meeting.key}")
        if meeting.end > now and meeting.key not in upcoming:
            upcoming[meeting.key] = (meeting, url, name)
    ordered = sorted(upcoming.values(), key=lambda m: (m[0].start, m[0].key))
    calendar = _calendar(ordered, now=now, utc=False)
    if calendar.get_missing_tzids():  # a zone icalendar cannot describe: use UTC
        calendar = _calendar(ordered, now=now, utc=True)
    return calendar.to_ical()


def _calendar(meetings: list[tuple[Meeting, str | None, str]], *, now: datetime,
              utc: bool) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//cadenced//agendas//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", CALNAME)
    calendar.add("x-published-ttl", "PT15M")
    calendar.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    stamp = now.astimezone(UTC).replace(microsecond=0)
    for meeting, url, name in meetings:
        event = Event()
        event.add("uid", _uid(meeting.key))
        event.add("dtstamp", stamp)
        event.add("dtstart", _in_zone(meeting.start, utc=utc))
        event.add("dtend", _in_zone(meeting.end, utc=utc))
        event.add("summary", _text(f"1:1 agenda: {meeting.title}"))
        lines = [f"1:1 with {name}"]
        if url:
            lines.append(f"Agenda: {url}")
        if meeting.cancelled:
            lines.append("This 1:1 is cancelled.")
        event.add("description", _text("\n".join(lines)))
        if url:
            event.add("url", _text(url))
        event.add("status", "CANCELLED" if meeting.cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    if meetings and not utc:
        first = min(m.start for m, _, _ in meetings).date() - timedelta(days=366)
        last = max(m.end for m, _, _ in meetings).date() + timedelta(days=366)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    return calendar
