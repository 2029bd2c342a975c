"""Microsoft Graph events as the core's events. Pure: no I/O.

:func:`read_events` takes what the calendar read kept: the instances
``calendarView/delta`` returned for the window (``singleInstance``, ``occurrence``,
``exception``; never a series master, never a cancelled occurrence) and the series
masters read by id (with ``recurrence`` and ``cancelledOccurrences``). It returns
the :class:`~daemon.core.model.Event` objects the ICS connector makes of the same
calendar exported as ICS, so one recurrence engine and one set of rules serve both:

- a single event is an event; ``uid`` is its ``iCalUId``;
- a master is a recurring event: ``uid`` its ``iCalUId``, its start read in its own
  zone (``originalStartTimeZone``, a Windows name such as "W. Europe Standard Time",
  resolved by :func:`daemon.core.zones.known_zone`) so its rule expands across DST,
  the rule from :mod:`connectors.microsoft.recurrence`;
- an ``exception`` is an override of its master: ``recurrence_id`` its
  ``originalStart``, the master's ``uid`` (an instance's own iCalUId differs per
  occurrence); ``isCancelled`` makes it a cancelled override;
- each ``cancelledOccurrences`` entry (``OID.<master id>.<yyyy-mm-dd>``) is a
  cancelled override at the master's time of day on that date: Graph leaves a
  cancelled occurrence out of the calendar view, so this is how a cancellation is seen;
- an ``occurrence`` is what its master's rule already says: no event of its own;
- people: ``organizer`` and ``attendees`` (``status.response``: accepted,
  declined, tentativelyAccepted, notResponded, none) with lowercase addresses;
  ``type: resource`` (and resource-looking addresses) are rooms. When the owner
  organizes (``isOrganizer``) and is not among the attendees, the organizer is
  added as an accepted attendee, as ICS exports and Google list the organizer;
- times come in UTC (cadenced asks ``Prefer: outlook.timezone="UTC"``); a
  ``timeZone`` other than UTC is resolved the same way; ``isAllDay`` events start at
  midnight in the owner's zone;
- ``showAs`` free is transparent, any other value busy.

A malformed resource (no start, an unreadable time, a rule that cannot be read) is
skipped with a warning naming the source and its UID; so is an exception whose master
could not be read. The rest is still mapped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import Interest
from connectors.microsoft.recurrence import UnreadableRecurrence, rrule
from daemon.core.detection import Sketch, is_resource_address
from daemon.core.errors import MalformedEventError
from daemon.core.model import Attendee, Event, PartStat, Recurrence, Status
from daemon.core.zones import known_zone

_RESPONSE = {"accepted": PartStat.ACCEPTED, "organizer": PartStat.ACCEPTED,
             "declined": PartStat.DECLINED, "tentativelyaccepted": PartStat.TENTATIVE,
             "notresponded": PartStat.NEEDS_ACTION}

@dataclass(frozen=True)
class Mapped:
    events: tuple[Event, ...]
    warnings: tuple[str, ...]
    uids: frozenset[str]
    total: int

def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""

def _address(person: Any) -> tuple[str, str | None]:
    email = (person or {}).get("emailAddress") if isinstance(person, Mapping) else None
    if not isinstance(email, Mapping):
        return "", None
    return _text(email.get("address")).lower(), _text(email.get("name")) or None

def _attendee(person: Any) -> Attendee | None:
    email, name = _address(person)
    if not email:
        return None
    status = person.get("status") if isinstance(person.get("status"), Mapping) else {}
    return Attendee(email=email, name=name,
                    partstat=_RESPONSE.get(_text(status.get("response")).lower(),
                                           PartStat.UNKNOWN),
                    is_resource=_text(person.get("type")).lower() == "resource"
                    or is_resource_address(email))

def people(resource: Mapping[str, Any]) -> tuple[Attendee | None, tuple[Attendee, ...]]:
    """The organizer and the attendees (the organizer added when it is the owner)."""
    email, name = _address(resource.get("organizer"))
    organizer = Attendee(email=email, name=name) if email else None
    listed = resource.get("attendees")
    attendees = [a for a in map(_attendee, listed if isinstance(listed, list) else [])
                 if a is not None]
    if organizer and resource.get("isOrganizer") and organizer.email not in {
            a.email for a in attendees}:
        attendees.insert(0, Attendee(organizer.email, organizer.name, PartStat.ACCEPTED))
    return organizer, tuple(attendees)

def sketch(resource: Mapping[str, Any], uid: str) -> Sketch:
    _, attendees = people(resource)
    organizer, _ = _address(resource.get("organizer"))
    found = {a.email for a in attendees if not a.is_resource}
    if organizer and not is_resource_address(organizer):
        found.add(organizer)
    return Sketch(uid=uid, summary=resource.get("subject") or "", participants=frozenset(found))

class _Reader:
    def __init__(self, source: str, uid: str, tz: ZoneInfo) -> None:
        self.source, self.uid, self.tz = source, uid, tz
        self.unknown: list[str] = []

    def malformed(self, reason: str) -> MalformedEventError:
        return MalformedEventError(self.source, self.uid, reason)

    def zone(self, name: str) -> ZoneInfo | None:
        if not name:
            return None
        found = known_zone(name)
        if found is None:
            if name not in self.unknown:
                self.unknown.append(name)
            return None
        return ZoneInfo(found)

    def moment(self, value: Any, what: str, all_day: bool) -> datetime:
        if not isinstance(value, Mapping) or not _text(value.get("dateTime")):
            raise self.malformed(f"it has no {what}")
        text = _text(value["dateTime"])
        head, dot, fraction = text.partition(".")
        try:
            moment = datetime.fromisoformat(head + (("." + fraction[:6]) if dot else ""))
        except ValueError:
            raise self.malformed(f"its {what} {text!r} is not a date and time") from None
        if all_day:
            return datetime.combine(moment.date(), time(0), tzinfo=self.tz)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone(_text(value.get("timeZone"))) or UTC)
        return moment

    def instant(self, value: Any, what: str) -> datetime:
        try:
            moment = datetime.fromisoformat(_text(value).replace("Z", "+00:00"))
        except ValueError:
            raise self.malformed(f"its {what} {value!r} is not a date and time") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

def _updated(value: Any) -> datetime | None:
    text = _text(value).replace("Z", "+00:00")
    head, _, rest = text.partition(".")
    offset = rest[rest.find("+"):] if "+" in rest else ""
    try:
        moment = datetime.fromisoformat(head + offset)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None

def _status(resource: Mapping[str, Any]) -> Status:
    return Status.CANCELLED if resource.get("isCancelled") else Status.CONFIRMED

def _transparent(resource: Mapping[str, Any]) -> bool | None:
    show = _text(resource.get("showAs")).lower()
    return None if not show or show == "unknown" else show == "free"

def _event(resource: Mapping[str, Any], reader: _Reader, *, uid: str,
           zone: ZoneInfo | None = None, **fields: Any) -> Event:
    all_day = bool(resource.get("isAllDay"))
    start = reader.moment(resource.get("start"), "start", all_day)
    end = reader.moment(resource.get("end"), "end", all_day) if resource.get("end") else start
    if zone is not None and not all_day:
        start, end = start.astimezone(zone), end.astimezone(zone)
    if end < start:
        raise reader.malformed("it ends before it starts")
    organizer, attendees = people(resource)
    base = {"source": reader.source, "uid": uid, "start": start, "end": end,
            "summary": resource.get("subject") or "", "status": _status(resource),
            "organizer": organizer, "attendees": attendees, "all_day": all_day,
            "last_modified": _updated(resource.get("lastModifiedDateTime")),
            "transparent": _transparent(resource)}
    return Event(**{**base, **fields})

def _series(master: Mapping[str, Any], exceptions: list[Mapping[str, Any]], reader: _Reader
            ) -> list[Event]:
    """A master, its exceptions and its cancelled occurrences."""
    zone = (reader.zone(_text(master.get("originalStartTimeZone")))
            or reader.zone(_text(((master.get("recurrence") or {}).get("range") or {})
                                 .get("recurrenceTimeZone"))) or reader.tz)
    first = _event(master, reader, uid=reader.uid, zone=zone)
    try:
        rule = rrule(master.get("recurrence") or {}, first.start)
    except UnreadableRecurrence as exc:
        raise reader.malformed(f"its recurrence cannot be read ({exc})") from None
    out = [Event(**{**_fields(first), "recurrence": Recurrence(rrules=(rule,))})]
    length = first.end - first.start
    for item in exceptions:
        original = reader.instant(item.get("originalStart"), "originalStart").astimezone(zone)
        out.append(_event(item, reader, uid=reader.uid, zone=zone, recurrence_id=original))
    seen = {e.recurrence_id for e in out[1:]}
    for oid in master.get("cancelledOccurrences") or []:
        day = _text(oid).rsplit(".", 1)[-1]
        try:
            when = date.fromisoformat(day)
        except ValueError:
            continue
        original = datetime.combine(when, first.start.timetz().replace(tzinfo=None),
                                    tzinfo=zone) if not first.all_day else datetime.combine(
            when, time(0), tzinfo=reader.tz)
        if original in seen:
            continue
        out.append(Event(**{**_fields(first), "start": original, "end": original + length,
                            "status": Status.CANCELLED, "recurrence_id": original}))
    return out

def _fields(event: Event) -> dict[str, Any]:
    return {name: getattr(event, name) for name in Event.__slots__}

def read_events(instances: Iterable[Mapping[str, Any]], masters: Mapping[str, Mapping[str, Any]],
                *, source: str, tz: ZoneInfo, interest: Interest | None) -> Mapped:
    """Map what a calendar read kept (see the module docstring)."""
    singles: list[Mapping[str, Any]] = []
    exceptions: dict[str, list[Mapping[str, Any]]] = {}
    orphans: list[Mapping[str, Any]] = []
    for item in instances:
        kind = _text(item.get("type"))
        master_id = _text(item.get("seriesMasterId"))
        if kind == "singleInstance" or not master_id:
            singles.append(item)
        elif master_id not in masters:
            orphans.append(item)
        elif kind == "exception":
            exceptions.setdefault(master_id, []).append(item)
    groups: list[tuple[str, Mapping[str, Any], list[Mapping[str, Any]] | None]] = [
        (_text(r.get("iCalUId")) or _text(r.get("id")), r, None) for r in singles]
    groups += [(_text(m.get("iCalUId")) or key, m, exceptions.get(key, []))
               for key, m in masters.items()]
    uids = {uid for uid, _, _ in groups if uid}
    total = len(singles) + sum(1 + len(e or []) + len(m.get("cancelledOccurrences") or [])
                               for _, m, e in groups if e is not None)
    if interest is not None:
        groups = [g for g in groups if interest.could_be_one_on_one(sketch(g[1], g[0]))]
    events: list[Event] = []
    warnings: list[str] = []
    for uid, resource, items in groups:
        reader = _Reader(source, uid, tz)
        try:
            if items is None:
                events.append(_event(resource, reader, uid=uid))
            else:
                events.extend(_series(resource, items, reader))
        except MalformedEventError as exc:
            warnings.append(str(exc))
        if reader.unknown:
            warnings.append(f"source {source!r}: event {uid}: unknown time zone "
                            f"{', '.join(map(repr, reader.unknown))}, read as UTC")
    for item in orphans:
        warnings.append(str(MalformedEventError(
            source, _text(item.get("id")), "its series could not be read")))
    return Mapped(tuple(events), tuple(warnings), frozenset(uids), total)

__all__ = ["Mapped", "people", "read_events", "sketch"]

