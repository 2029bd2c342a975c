"""Turn ICS text into the core's events.

Two passes. A cheap first pass splits the text into VEVENT blocks and sketches
each one (UID, title, participant emails) without a real parse. Only the UIDs
whose sketch could be a 1:1 are then parsed with icalendar (all blocks of such
a UID: master and overrides together). Without an ``interest`` every event is
parsed; the results are the same either way, which a test proves.

Each VEVENT is normalized on its own: one malformed event is skipped with a
warning naming the source and UID, and the rest of the file is still read.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import x_wr_timezone
from icalendar import Calendar
from icalendar import Event as IcsEvent

from connectors.base import Interest
from connectors.ics.prepass import Split, sketch, split_calendar, trimmed
from connectors.ics.timezones import isolate_custom_zones
from daemon.core.detection import is_resource_address
from daemon.core.errors import MalformedEventError, SourceError
from daemon.core.model import Attendee, Event, PartStat, Recurrence, Status

log = logging.getLogger(__name__)

_PARTSTAT = {
    "ACCEPTED": PartStat.ACCEPTED,
    "DECLINED": PartStat.DECLINED,
    "TENTATIVE": PartStat.TENTATIVE,
    "NEEDS-ACTION": PartStat.NEEDS_ACTION,
    "DELEGATED": PartStat.DELEGATED,
}


_TRANSP = {"TRANSPARENT": True, "OPAQUE": False}


def _address(value: str) -> str:
    value = value.strip()
    if value[:7].lower() == "mailto:":
        value = value[7:]
    return value.strip().lower()


def too_many_events(source: str, count: int, limit: int) -> SourceError:
    return SourceError(
        source,
        f"the feed has {count:,} events, more than max_events = {limit:,}; none was read",
        hint=f"if the calendar really holds that many, raise max_events for source "
        f"{source!r} in the config; the last good copy is kept meanwhile",
    )


@dataclass(frozen=True)
class Parsed:
    events: tuple[Event, ...]
    total: int
    warnings: tuple[str, ...]
    uids: frozenset[str] = frozenset()  # every VEVENT's UID, parsed or not
    refresh: timedelta | None = None


def parse_calendar(
    data: bytes | str, *, source: str, tz: ZoneInfo, interest: Interest | None = None,
    max_events: int | None = None,
) -> Parsed:
    """Parse ICS data into events. Malformed events become warnings, not errors.

    A feed of more than ``max_events`` VEVENTs raises :class:`SourceError` after the
    cheap first pass, before any event is parsed or any recurrence expanded.
    """
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    text = text.lstrip("\ufeff")
    split = split_calendar(text)  # the cheap pass: blocks and sketches
    if max_events is not None and len(split.events) > max_events:
        raise too_many_events(source, len(split.events), max_events)
    blocks = split.events
    sketches = split.sketches
    if interest is not None:
        wanted = {s.uid for s in sketches if interest.could_be_one_on_one(s)}
        blocks = [b for b, s in zip(blocks, sketches, strict=True) if s.uid in wanted]
    warnings: list[str] = []
    components = _parse_blocks(split, blocks, source, warnings)
    events: list[Event] = []
    for component in components:
        try:
            events.append(normalize(component, source=source, tz=tz, warnings=warnings))
        except MalformedEventError as exc:
            warnings.append(str(exc))
    uids = frozenset(s.uid for s in sketches if s.uid) | {e.uid for e in events}
    return Parsed(tuple(events), len(split.events), tuple(warnings), uids, split.refresh)


def _parse_blocks(split: Split, blocks: list[str], source: str,
                  warnings: list[str]) -> list[IcsEvent]:
    if not blocks:
        return []
    blocks = [trimmed(b) for b in blocks]
    timezones, body = isolate_custom_zones(split.timezones, "".join(blocks))
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + split.calendar_props + "".join(timezones)
    try:
        calendar = Calendar.from_ical(head + body + "END:VCALENDAR\r\n")
    except Exception:  # noqa: BLE001 - one broken block; fall back to one at a time
        return _parse_one_by_one(head, split.timezones,
                                 blocks, source, warnings)
    return _vevents(calendar, split)


def _parse_one_by_one(head: str, timezones: list[str], blocks: list[str], source: str,
                      warnings: list[str]) -> list[IcsEvent]:
    out: list[IcsEvent] = []
    for block in blocks:
        _, body = isolate_custom_zones(timezones, block)
        try:
            calendar = Calendar.from_ical(head + body + "END:VCALENDAR\r\n")
        except Exception as exc:  # noqa: BLE001 - icalendar raises ValueError and others
            warnings.append(str(MalformedEventError(source, sketch(block).uid or None,
                                                    f"cannot be parsed ({exc})")))
            continue
        out.extend(_vevents(calendar, None))
    return out


def _vevents(calendar: Calendar, split: Split | None) -> list[IcsEvent]:
    if "X-WR-TIMEZONE" in calendar:
        try:
            calendar = x_wr_timezone.to_standard(calendar)
        except Exception as exc:  # noqa: BLE001 - an unknown zone name; read times as given
            log.warning("X-WR-TIMEZONE %s ignored: %s", calendar.get("X-WR-TIMEZONE"), exc)
    return [c for c in calendar.subcomponents if c.name == "VEVENT"]


# --- normalization -----------------------------------------------------------


def _aware(value: date | datetime, tz: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return datetime.combine(value, time(0), tzinfo=tz)


def _values(prop: Any) -> list[Any]:
    """Dates of an RDATE/EXDATE property (one or a list of lines)."""
    out = []
    for line in prop if isinstance(prop, list) else [prop]:
        for item in getattr(line, "dts", []):
            value = item.dt
            if isinstance(value, tuple):  # a PERIOD: its start
                value = value[0]
            out.append(value)
    return out


def _person(prop: Any) -> Attendee | None:
    email = _address(str(prop))
    if not email:
        return None
    params = getattr(prop, "params", {})
    cutype = str(params.get("CUTYPE", "")).upper()
    return Attendee(
        email=email,
        name=str(params["CN"]) if "CN" in params else None,
        partstat=_PARTSTAT.get(str(params.get("PARTSTAT", "")).upper(), PartStat.UNKNOWN),
        is_resource=cutype in {"ROOM", "RESOURCE"} or is_resource_address(email),
    )


def _dt(prop: Any) -> Any:
    """A property's ``dt`` value, or None when it has none or could not be parsed.

    icalendar 7 keeps an unparsable value (``DTSTART:garbage``) as a broken
    property whose ``.dt`` raises :class:`~icalendar.error.BrokenCalendarProperty`,
    a ValueError.
    """
    try:
        return getattr(prop, "dt", None)
    except ValueError:
        return None


def _moment(component: IcsEvent, name: str, tz: ZoneInfo, uid: str, source: str,
            warnings: list[str]) -> date | datetime | None:
    prop = component.get(name)
    if prop is None:
        return None
    value = _dt(prop)
    if not isinstance(value, date):
        raise MalformedEventError(source, uid, f"{name} is not a date or time")
    if isinstance(value, datetime) and value.tzinfo is None and "TZID" in prop.params:
        warnings.append(
            f"source {source!r}: event {uid}: unknown time zone {prop.params['TZID']!r}, "
            f"read as {tz.key}"
        )
    return value


def normalize(component: IcsEvent, *, source: str, tz: ZoneInfo,
              warnings: list[str] | None = None) -> Event:
    """One VEVENT as a core :class:`Event`. Raises :class:`MalformedEventError`."""
    warnings = warnings if warnings is not None else []
    uid = str(component.get("UID", "")).strip()
    if not uid:
        seed = f"{component.get('DTSTART')!r}|{component.get('SUMMARY', '')}"
        uid = "no-uid-" + hashlib.sha256(seed.encode()).hexdigest()[:16]
    raw_start = _moment(component, "DTSTART", tz, uid, source, warnings)
    if raw_start is None:
        raise MalformedEventError(source, uid, "it has no DTSTART")
    all_day = not isinstance(raw_start, datetime)
    start = _aware(raw_start, tz)
    raw_end = _moment(component, "DTEND", tz, uid, source, warnings)
    if raw_end is not None:
        end = _aware(raw_end, start.tzinfo or tz)
    elif "DURATION" in component:
        duration = _dt(component["DURATION"])
        if not isinstance(duration, timedelta):
            raise MalformedEventError(source, uid, "DURATION is not a duration")
        end = start + duration
    else:
        end = start + (timedelta(days=1) if all_day else timedelta(0))
    if end < start:
        raise MalformedEventError(source, uid, "it ends before it starts")

    recurrence = None
    if "RRULE" in component or "RDATE" in component:
        rrules = component.get("RRULE")
        rrules = rrules if isinstance(rrules, list) else ([rrules] if rrules is not None else [])
        time_of_day = start.timetz()
        def _at(value: date | datetime) -> datetime:
            if isinstance(value, datetime):
                return _aware(value, start.tzinfo or tz)
            return datetime.combine(value, time_of_day.replace(tzinfo=None), tzinfo=start.tzinfo)
        try:
            recurrence = Recurrence(
                rrules=tuple(r.to_ical().decode() for r in rrules),
                rdates=tuple(_at(v) for v in _values(component.get("RDATE", []))),
                exdates=tuple(_at(v) for v in _values(component.get("EXDATE", []))),
            )
        except (AttributeError, TypeError, ValueError) as exc:
            raise MalformedEventError(source, uid, f"its recurrence cannot be read ({exc})") \
                from None

    recurrence_id = None
    if "RECURRENCE-ID" in component:
        rid = _dt(component["RECURRENCE-ID"])
        if not isinstance(rid, date):
            raise MalformedEventError(source, uid, "RECURRENCE-ID is not a date or time")
        recurrence_id = _aware(rid, start.tzinfo or tz)
        recurrence = None  # an override describes one instance

    attendees = component.get("ATTENDEE", [])
    attendees = attendees if isinstance(attendees, list) else [attendees]
    organizer = _person(component["ORGANIZER"]) if "ORGANIZER" in component else None
    status = str(component.get("STATUS", "")).upper()
    try:
        sequence = int(component.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        sequence = 0
    modified = _dt(component.get("LAST-MODIFIED"))
    return Event(
        source=source,
        uid=uid,
        start=start,
        end=end,
        summary=str(component.get("SUMMARY", "")),
        status=Status.CANCELLED if status == "CANCELLED"
        else Status.TENTATIVE if status == "TENTATIVE" else Status.CONFIRMED,
        organizer=organizer,
        attendees=tuple(a for a in (_person(p) for p in attendees) if a is not None),
        recurrence=recurrence,
        recurrence_id=recurrence_id,
        all_day=all_day,
        sequence=sequence,
        last_modified=_aware(modified, ZoneInfo("UTC")) if isinstance(modified, date) else None,
        transparent=_TRANSP.get(str(component.get("TRANSP", "")).upper()),
    )
