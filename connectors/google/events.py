"""Google Calendar v3 event resources as the core's events.

Pure: no I/O. :func:`read_events` takes every resource a calendar holds (as
``events.list`` returns them with ``singleEvents=false, showDeleted=true``: masters,
exceptions, cancelled instances, deleted events, one-offs) and returns exactly
the :class:`~daemon.core.model.Event` objects the ICS connector
(:mod:`connectors.ics.parse`) makes of the same calendar exported as ICS, so one
recurrence engine and one set of rules serve both. The mapping:

- ``uid`` is the ``iCalUID``; an exception carries its master's. A cancelled
  instance sent as a bare tombstone (id, status, ``recurringEventId``,
  ``originalStartTime``) gets it through its master, found by ``id`` in the same
  batch, and takes everything else it lacks from the master too (title, people,
  duration, sequence): it becomes a cancelled override, as a ``STATUS:CANCELLED``
  VEVENT with a RECURRENCE-ID would.
- An exception is an override: ``recurrence_id`` is its ``originalStartTime``
  and it has no recurrence. One whose master is not in the batch is an orphan
  and is still mapped as an override, like an ICS override without its master
  (the core counts it as a one-off); an orphan tombstone has nothing to say and
  is dropped.
- Deleted events (``status: cancelled`` without ``recurringEventId``), and every
  exception of a deleted master, are gone from the calendar, as from an ICS
  export: no event, no UID in ``uids``, not counted in ``total``. So a deleted 1:1
  *departs* (:mod:`daemon.core.history`) exactly as it does when it leaves a feed.
- ``{"dateTime", "timeZone"}`` is read in ``timeZone`` (IANA, or a Windows or
  vendor-prefixed name :func:`~connectors.ics.timezones.known_zone` resolves), so a
  master's rule expands across DST in its own zone. Without a known zone the
  value keeps its UTC offset, or takes the owner's zone ``tz`` when that zone has
  the same offset at that moment; a value without an offset is floating and read
  in ``tz``. An unknown zone name adds a warning. ``{"date"}`` is all-day:
  midnight in ``tz``.
- ``recurrence`` lines are parsed with icalendar, as the ICS connector parses
  them: RRULE text as icalendar writes it back; RDATE/EXDATE values with a TZID in
  that zone, UTC ones in UTC, others (and dates) in the master's start zone.
  EXRULE is ignored with a warning (the model has no place for it).
- ``organizer`` and ``attendees`` become :class:`~daemon.core.model.Attendee` with a
  lowercase email and ``displayName`` as name; ``responseStatus`` is the
  partstat (the organizer's own entry has none, as in ICS); ``resource: true`` or
  a resource-calendar address marks a room.
- Events whose ``eventType`` is not ``default`` (focus time, out of office,
  working location, birthdays, from Gmail) are never 1:1s: skipped quietly,
  their UID still in ``uids``.
- A malformed resource (no start, an unreadable time, an end before its start,
  unreadable recurrence lines) is skipped with a warning naming the source and
  its UID (or id); the rest is still mapped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Event as IcsEvent

from connectors.base import Interest
from daemon.core.detection import Sketch, is_resource_address
from daemon.core.errors import MalformedEventError
from daemon.core.model import Attendee, Event, PartStat, Recurrence, Status
from daemon.core.zones import known_zone

UTC = ZoneInfo("UTC")

_PARTSTAT = {
    "accepted": PartStat.ACCEPTED,
    "declined": PartStat.DECLINED,
    "tentative": PartStat.TENTATIVE,
    "needsaction": PartStat.NEEDS_ACTION,
}
_STATUS = {"tentative": Status.TENTATIVE, "cancelled": Status.CANCELLED}
_LINE = re.compile(r"(RRULE|EXRULE|RDATE|EXDATE)[;:]", re.IGNORECASE)


@dataclass(frozen=True)
class Mapped:
    """What :func:`read_events` made of a calendar's resources."""

    events: tuple[Event, ...]  # those the interest accepts (all without one)
    warnings: tuple[str, ...]  # one per malformed resource (or unknown zone, ignored EXRULE)
    uids: frozenset[str]  # every UID still in the calendar, mapped or not
    total: int  # resources still in the calendar: deleted events and their tombstones excluded


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _raw(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _is_cancelled(resource: Mapping[str, Any]) -> bool:
    return _text(resource.get("status")).lower() == "cancelled"


def _is_tombstone(resource: Mapping[str, Any]) -> bool:
    """A cancelled instance that only says which slot it cancels."""
    return bool(resource.get("recurringEventId")) and _is_cancelled(resource) \
        and "start" not in resource


def _uid(resource: Mapping[str, Any], masters: Mapping[str, str]) -> str:
    master_id = _text(resource.get("recurringEventId"))
    return _text(resource.get("iCalUID")) or masters.get(master_id, "")


def _people(resource: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    attendees = resource.get("attendees")
    found = [resource.get("organizer")] + (list(attendees) if isinstance(attendees, list) else [])
    return [p for p in found if isinstance(p, Mapping)]


def sketch(resource: Mapping[str, Any], masters: Mapping[str, str]) -> Sketch:
    """What a resource says about its UID, title and participants, cheaply.

    ``masters`` maps a master's ``id`` to its ``iCalUID`` (for tombstones).
    """
    people = set()
    for person in _people(resource):
        email = _text(person.get("email")).lower()
        if email and not person.get("resource") and not is_resource_address(email):
            people.add(email)
    return Sketch(uid=_uid(resource, masters), summary=_raw(resource.get("summary")),
                  participants=frozenset(people))


def read_events(resources: Iterable[Mapping[str, Any]], *, source: str, tz: ZoneInfo,
                interest: Interest | None) -> Mapped:
    """Map a calendar's whole set of resources (see the module docstring)."""
    items = [r for r in resources if isinstance(r, Mapping)]
    by_id = {_text(r.get("id")): r for r in items
             if r.get("id") and not r.get("recurringEventId")}
    masters = {key: _text(r.get("iCalUID")) for key, r in by_id.items() if r.get("iCalUID")}
    kept: list[tuple[Mapping[str, Any], Mapping[str, Any] | None]] = []
    uids: set[str] = set()
    for resource in items:
        master = by_id.get(_text(resource.get("recurringEventId")))
        if resource.get("recurringEventId"):
            if (master is not None and _is_cancelled(master)) or \
                    (master is None and _is_tombstone(resource)):
                continue  # a deleted series, or a cancelled slot of a series we cannot see
            if _is_tombstone(resource):
                assert master is not None
                inherited = {k: v for k, v in master.items()
                             if k not in ("recurrence", "start", "end")}
                resource = {**inherited, **resource}
        elif _is_cancelled(resource):
            continue  # a deleted event
        kept.append((resource, master))
        if uid := _uid(resource, masters):
            uids.add(uid)
    total = len(kept)
    kept = [(r, m) for r, m in kept
            if (_text(r.get("eventType")) or _text((m or {}).get("eventType")) or "default")
            == "default"]
    if interest is not None:
        sketches = [sketch(r, masters) for r, _ in kept]
        wanted = {s.uid for s in sketches if interest.could_be_one_on_one(s)}
        kept = [item for item, s in zip(kept, sketches, strict=True) if s.uid in wanted]
    events: list[Event] = []
    warnings: list[str] = []
    for resource, master in kept:
        try:
            events.append(_event(resource, master, masters, source=source, tz=tz,
                                 warnings=warnings))
        except MalformedEventError as exc:
            warnings.append(str(exc))
    return Mapped(tuple(events), tuple(warnings), frozenset(uids), total)


# --- one resource ------------------------------------------------------------


class _Reader:
    """Reads one resource's times, remembering unknown zone names for one warning."""

    def __init__(self, source: str, uid: str, tz: ZoneInfo) -> None:
        self.source, self.uid, self.tz = source, uid, tz
        self.unknown: list[str] = []

    def malformed(self, reason: str) -> MalformedEventError:
        return MalformedEventError(self.source, self.uid, reason)

    def moment(self, value: Any, what: str, floating: tzinfo) -> tuple[datetime, bool]:
        """A start, end or original start as an aware datetime, and whether it is a date."""
        if not isinstance(value, Mapping):
            raise self.malformed(f"it has no {what}")
        name = _text(value.get("timeZone"))
        zone_name = known_zone(name) if name else None
        zone = ZoneInfo(zone_name) if zone_name else None
        if value.get("dateTime"):
            if name and zone is None and name not in self.unknown:
                self.unknown.append(name)
            try:
                moment = datetime.fromisoformat(_text(value["dateTime"]))
            except ValueError:
                raise self.malformed(
                    f"its {what} {value['dateTime']!r} is not a date and time") from None
            if moment.tzinfo is None:
                return moment.replace(tzinfo=zone or floating), False
            if zone is not None:
                return moment.astimezone(zone), False
            local = moment.astimezone(self.tz)
            return (local if local.utcoffset() == moment.utcoffset() else moment), False
        if value.get("date"):
            try:
                day = date.fromisoformat(_text(value["date"]))
            except ValueError:
                raise self.malformed(f"its {what} {value['date']!r} is not a date") from None
            return datetime.combine(day, time(0), tzinfo=floating), True
        raise self.malformed(f"its {what} has no date or dateTime")


def _person(data: Any) -> Attendee | None:
    if not isinstance(data, Mapping):
        return None
    email = _text(data.get("email")).lower()
    if not email:
        return None
    status = _text(data.get("responseStatus")).lower()
    return Attendee(
        email=email,
        name=_raw(data.get("displayName")) or None,
        partstat=_PARTSTAT.get(status, PartStat.UNKNOWN),
        is_resource=bool(data.get("resource")) or is_resource_address(email),
    )


def _dates(prop: Any) -> list[date | datetime]:
    """The values of an RDATE/EXDATE property (one line or several); a PERIOD's start."""
    out = []
    for line in prop if isinstance(prop, list) else [prop]:
        for item in line.dts:
            out.append(item.dt[0] if isinstance(item.dt, tuple) else item.dt)
    return out


def _recurrence(lines: Any, start: datetime, reader: _Reader,
                warnings: list[str]) -> Recurrence | None:
    """A master's ``recurrence`` lines, read by icalendar as the ICS connector reads them."""
    if not isinstance(lines, list) or not all(
            isinstance(line, str) and "\r" not in line and "\n" not in line for line in lines):
        raise reader.malformed("its recurrence is not a list of lines")
    kept = []
    for line in (line.strip() for line in lines):
        match = _LINE.match(line)
        if match is None:
            raise reader.malformed(f"recurrence line {line!r} is not RRULE, RDATE or EXDATE")
        if match.group(1).upper() == "EXRULE":
            warnings.append(f"source {reader.source!r}: event {reader.uid}: "
                            f"EXRULE {line[7:]!r} ignored")
        else:
            kept.append(line)
    try:
        component = IcsEvent.from_ical("BEGIN:VEVENT\r\n" + "".join(f"{line}\r\n" for line in kept)
                                       + "END:VEVENT\r\n")
        if component.errors:
            raise ValueError("; ".join(str(message) for _, message in component.errors))
        if "RRULE" not in component and "RDATE" not in component:
            return None
        rrules = component.get("RRULE", [])
        rrules = [r.to_ical().decode() for r in (rrules if isinstance(rrules, list) else [rrules])]
        if not all(rrules):
            raise ValueError("an RRULE is empty")
        time_of_day = start.timetz().replace(tzinfo=None)

        def at(value: date | datetime) -> datetime:
            if isinstance(value, datetime):
                return value if value.tzinfo is not None else value.replace(tzinfo=start.tzinfo)
            return datetime.combine(value, time_of_day, tzinfo=start.tzinfo)

        return Recurrence(
            rrules=tuple(rrules),
            rdates=tuple(at(v) for v in _dates(component.get("RDATE", []))),
            exdates=tuple(at(v) for v in _dates(component.get("EXDATE", []))),
        )
    except (AttributeError, TypeError, ValueError) as exc:
        raise reader.malformed(f"its recurrence cannot be read ({exc})") from None


def _updated(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(_text(value))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0)  # as an ICS LAST-MODIFIED says it


def _event(resource: Mapping[str, Any], master: Mapping[str, Any] | None,
           masters: Mapping[str, str], *, source: str, tz: ZoneInfo,
           warnings: list[str]) -> Event:
    """One resource as a core :class:`Event`. Raises :class:`MalformedEventError`.

    ``master`` is the master of an exception, if in the batch; ``masters`` maps
    master ids to their iCalUIDs. A tombstone must already carry its master's fields.
    """
    uid = _uid(resource, masters)
    reader = _Reader(source, uid or _text(resource.get("id")) or "", tz)
    if not uid:
        raise reader.malformed("it has no iCalUID")
    exception = bool(resource.get("recurringEventId"))
    if master is not None and _is_tombstone(resource):  # its slot, as long as the master's
        start, all_day = reader.moment(resource.get("originalStartTime"), "originalStartTime", tz)
        first, _ = reader.moment(master.get("start"), "start", tz)
        last, _ = reader.moment(master.get("end"), "end", first.tzinfo or tz)
        end = start + (last - first)
    else:
        start, all_day = reader.moment(resource.get("start"), "start", tz)
        if resource.get("end") is None:
            end = start + (timedelta(days=1) if all_day else timedelta(0))
        else:
            end, _ = reader.moment(resource.get("end"), "end", start.tzinfo or tz)
    if end < start:
        raise reader.malformed("it ends before it starts")
    recurrence = recurrence_id = None
    if exception:
        recurrence_id, _ = reader.moment(resource.get("originalStartTime"), "originalStartTime",
                                         start.tzinfo or tz)
    elif resource.get("recurrence"):
        recurrence = _recurrence(resource["recurrence"], start, reader, warnings)
    try:
        sequence = int(resource.get("sequence", 0))
    except (TypeError, ValueError):
        sequence = 0
    attendees = resource.get("attendees")
    if reader.unknown:
        warnings.append(f"source {source!r}: event {uid}: unknown time zone "
                        f"{', '.join(map(repr, reader.unknown))}, read at its UTC offset")
    return Event(
        source=source,
        uid=uid,
        start=start,
        end=end,
        summary=_raw(resource.get("summary")),
        status=_STATUS.get(_text(resource.get("status")).lower(), Status.CONFIRMED),
        organizer=_person(resource.get("organizer")),
        attendees=tuple(a for a in map(_person, attendees if isinstance(attendees, list) else [])
                        if a is not None),
        recurrence=recurrence,
        recurrence_id=recurrence_id,
        all_day=all_day,
        sequence=sequence,
        last_modified=_updated(resource.get("updated")),
        # Absent means "unsaid", as an ICS event without TRANSP: the core's
        # busy rule reads that as busy for a timed event, free for an all-day.
        transparent={"transparent": True, "opaque": False}.get(
            _text(resource.get("transparency")).lower()),
    )
