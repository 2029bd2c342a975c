"""Make-up slots for the relationships that need one, from every source's events.

Who gets slots: a relationship with an open ``missed_cadence`` gap, a
``no_upcoming`` flag, or a cancelled or declined 1:1 in the last interval that
nothing held or booked has made up since; anyone named on request. Busy time comes
from every event of every source read (:mod:`daemon.core.busy`), and the other
person's from the sources that can tell it (``Availability``: Google's free/busy),
unless ``[suggest] free_busy = false``; the ranking is
:func:`daemon.core.suggest.suggest`. The last slots found are kept in the state
(``suggestions``) for ``cadenced status``.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import Availability
from daemon.config import Config, Person
from daemon.core.busy import blocks
from daemon.core.model import Event
from daemon.core.rules import Analysis, MissedCadence, NoUpcoming, Relationship, is_booked
from daemon.core.suggest import Habit, Hours, Slot, TheirBusy, habit_of, suggest

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_MINUTES = 30


@dataclass(frozen=True)
class Suggestion:
    person: str
    name: str
    reason: str  # why a make-up is due ("" when asked for by name)
    minutes: int
    slots: tuple[Slot, ...]
    their_zone: str | None  # the zone their hours were read in, when it is not the owner's
    their_calendar: TheirBusy | None = None  # None: nobody was asked


def due(rel: Relationship, now: datetime, horizon: timedelta = timedelta(days=7)) -> str:
    """Why ``rel`` needs a make-up 1:1 now, in a few words; "" when it does not (nothing
    erodes, or a 1:1 already booked within ``horizon`` makes it up)."""
    if rel.unknown:
        return ""
    if any(is_booked(o) and now < o.start <= now + horizon for o in rel.occurrences):
        return ""
    for flag in rel.flags:
        if isinstance(flag, MissedCadence) and flag.until is None:
            return "no 1:1 held yet" if flag.since is None else "the cadence was missed"
    if any(isinstance(f, NoUpcoming) for f in rel.flags):
        return "nothing booked"
    interval = timedelta(days=rel.expected_interval_days or 0)
    lost = [o for o in rel.occurrences if (o.cancelled or o.declined)
            and now - interval <= o.original_start <= now]
    if lost:
        since = lost[-1].original_start
        if not any(is_booked(o) and o.start > since for o in rel.occurrences):
            return "a 1:1 was cancelled and not made up"
    return ""


def suggestions(analysis: Analysis, events: list[Event], config: Config, now: datetime, *,
                people: tuple[str, ...] = (), calendars: Sequence[object] = ()
                ) -> list[Suggestion]:
    """Slots for every relationship :func:`due` names, or for ``people`` (addresses).
    ``calendars`` (the sources) that fill ``Availability`` are asked when the other
    person is busy."""
    tz = config.owner.tz
    settings = config.suggest
    owner = _hours(tz, settings.working_days, settings.day_start, settings.day_end)
    # The working days ahead, weekends included, with room to spare.
    horizon_end = now + timedelta(days=settings.horizon_days * 7 // 5 + 3)
    busy = blocks(events, config.owner.addresses, now - timedelta(days=1), horizon_end)
    listed = {p.email: p for p in config.people}
    wanted = []
    for rel in analysis.relationships:
        reason = due(rel, now, horizon_end - now)
        if people and rel.person not in people:
            continue
        if not people and not reason:
            continue
        wanted.append((rel, reason))
    theirs = ask(calendars, [rel.person for rel, _ in wanted], now, horizon_end) \
        if settings.free_busy else {}
    out = []
    for rel, reason in wanted:
        recurring = [o for o in rel.occurrences if o.recurring]
        habit = habit_of([o.original_start for o in recurring[-8:]], tz) if recurring else Habit()
        lengths = [o.planned / timedelta(minutes=1) for o in rel.occurrences]
        minutes = round(statistics.median(lengths)) if lengths else DEFAULT_MINUTES
        other, zone = _their_hours(listed.get(rel.person), recurring, config)
        their = theirs.get(rel.person)
        slots = suggest([*busy, *(their.blocks if their else ())], now=now, minutes=minutes,
                        owner=owner, other=other, habit=habit,
                        horizon_days=settings.horizon_days,
                        buffer=timedelta(minutes=settings.buffer_minutes))
        out.append(Suggestion(rel.person, rel.name, reason, minutes, tuple(slots), zone, their))
    return out


def ask(calendars: Sequence[object], addresses: list[str], start: datetime, end: datetime
        ) -> dict[str, TheirBusy]:
    """Each address's busy time from the first source that can see it; an address no
    source could see keeps the last source's reason. Never raises."""
    found: dict[str, TheirBusy] = {}
    for calendar in calendars:
        if not isinstance(calendar, Availability):
            continue
        missing = [a for a in addresses if a not in found or found[a].unseen]
        if not missing:
            break
        for address, busy in calendar.busy_of(missing, start, end).items():
            if address not in found or busy.unseen is None:
                found[address] = busy
    return found


def seen_line(their: TheirBusy | None) -> str:
    """One line on the other person's calendar, "" when nobody was asked."""
    if their is None:
        return ""
    if their.unseen:
        return f"their calendar could not be seen: {their.unseen}"
    return f"their busy times are left out too (free/busy from {their.source})"


def _hours(zone: ZoneInfo, days: tuple[str, ...], start: str, end: str) -> Hours:
    return Hours(zone, frozenset(DAYS.index(d) for d in days), time.fromisoformat(start),
                 time.fromisoformat(end))


def _their_hours(person: Person | None, recurring: list[Any], config: Config
                 ) -> tuple[Hours | None, str | None]:
    """The other person's hours: from their ``[[people]]`` entry, else in the zone the
    series is written in when that is not the owner's; None: the owner's hours do."""
    settings = config.suggest
    zone_name = person.timezone if person and person.timezone else None
    if zone_name is None and recurring:
        written = recurring[-1].original_start.tzinfo
        if isinstance(written, ZoneInfo) and written.key not in (config.owner.timezone, "UTC"):
            zone_name = written.key
    if zone_name is None and not (person and (person.day_start or person.day_end)):
        return None, None
    zone = ZoneInfo(zone_name) if zone_name else config.owner.tz
    start = (person.day_start if person and person.day_start else settings.day_start)
    end = (person.day_end if person and person.day_end else settings.day_end)
    return _hours(zone, ("mon", "tue", "wed", "thu", "fri"), start, end), zone_name


def to_json(found: list[Suggestion], now: datetime) -> list[dict[str, Any]]:
    return [{"person": s.person, "name": s.name, "reason": s.reason, "minutes": s.minutes,
             "their_zone": s.their_zone, "their_calendar": _their_json(s.their_calendar),
             "slots": [{"start": slot.start.isoformat(), "end": slot.end.isoformat(),
                        "usual_day": slot.usual_day} for slot in s.slots]}
            for s in found]


def _their_json(their: TheirBusy | None) -> dict[str, Any] | None:
    if their is None:
        return None
    return {"seen": their.unseen is None, "source": their.source, "reason": their.unseen}


def remember(store: Any, found: list[Suggestion], now: datetime) -> None:
    """Keep the first slot of each person in the state, for ``cadenced status``."""
    store.save_document("meta", "suggestions", {
        "at": now.astimezone(UTC).isoformat(),
        "first": {s.person: s.slots[0].start.isoformat() for s in found if s.slots}})
