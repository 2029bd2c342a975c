"""From events to each person's 1:1 meetings.

Events are deduplicated across sources (same UID and RECURRENCE-ID count once),
grouped into series (a master with its overrides), classified with
:class:`~daemon.core.detection.Directory`, and expanded into occurrences with what
happened to each planned slot. Pure: no I/O, no clock.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from daemon.core.detection import Directory
from daemon.core.history import Departed, History
from daemon.core.model import Event, Occurrence, PartStat, Series, Status
from daemon.core.recurrence import (
    NotACadence,
    RuleError,
    parse_rule,
    planned_starts,
    series_interval,
)

log = logging.getLogger(__name__)



@dataclass
class PersonMeetings:
    """Everything with one person: recurring series and one-off meetings."""

    person: str
    series: list[Series] = field(default_factory=list)
    singles: list[Occurrence] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # CNs seen, for display
    departed: list[Departed] = field(default_factory=list)  # 1:1s that left their source

    def occurrences(self) -> list[Occurrence]:
        """All meetings, one per (UID, original start), in order of actual start.

        A meeting still in a source wins over the record of one that left.
        """
        unique: dict[tuple[str, datetime], Occurrence] = {}
        for series in self.series:
            for occ in series.occurrences:
                unique.setdefault(occ.key, occ)
        for occ in self.singles:
            unique.setdefault(occ.key, occ)
        for gone in self.departed:
            occ = gone.as_occurrence()
            unique.setdefault(occ.key, occ)
        return sorted(unique.values(), key=lambda o: (o.start, o.uid))


def _preference(event: Event) -> tuple[int, datetime | None]:
    return (event.sequence, event.last_modified)


def deduplicate(events: Iterable[Event]) -> list[Event]:
    """One event per (UID, RECURRENCE-ID): the highest SEQUENCE, then the latest
    LAST-MODIFIED, then the first source read wins."""
    chosen: dict[tuple[str, datetime | None], Event] = {}
    for event in events:
        key = (event.uid, event.recurrence_id)
        known = chosen.get(key)
        if known is None:
            chosen[key] = event
            continue
        new_seq, new_mod = _preference(event)
        old_seq, old_mod = _preference(known)
        if new_seq > old_seq or (
            new_seq == old_seq and new_mod is not None and (old_mod is None or new_mod > old_mod)
        ):
            chosen[key] = event
    return list(chosen.values())


def _declined_by(event: Event, person: str, directory: Directory) -> tuple[str, ...]:
    who = []
    for participant in event.participants():
        if participant.partstat is not PartStat.DECLINED:
            continue
        canonical = directory.person_of(participant.email)
        if canonical == person or participant.email in directory.owner:
            who.append(canonical)
    return tuple(sorted(set(who)))


def _single(event: Event, person: str, directory: Directory,
            origins: Mapping[str, datetime]) -> Occurrence:
    if event.recurrence_id is not None:
        original = event.recurrence_id
    else:  # a one-off: its start when first seen, if an earlier sync saw it elsewhere
        original = origins.get(event.uid, event.start)
    return Occurrence(
        source=event.source,
        uid=event.uid,
        summary=event.summary,
        original_start=original,
        planned=event.duration,
        start=event.start,
        end=event.end,
        recurring=False,
        cancelled=event.status is Status.CANCELLED,
        declined_by=_declined_by(event, person, directory),
    )


def _names(event: Event, person: str, directory: Directory) -> list[str]:
    return [
        p.name for p in event.participants()
        if p.name and directory.person_of(p.email) == person
    ]


def collect(
    events: Iterable[Event],
    directory: Directory,
    *,
    range_start: datetime,
    range_end: datetime,
    warnings: list[str],
    history: History | None = None,
) -> dict[str, PersonMeetings]:
    """Each person's 1:1 series and one-offs, series expanded in [range_start, range_end).

    A master whose STATUS is CANCELLED is a deleted series and is left out. A
    malformed rule skips its series with a warning; a rule more frequent than
    daily is not a 1:1 cadence and is left out quietly. Overrides whose master
    is absent are one-off meetings with their RECURRENCE-ID as planned start.
    With ``history``, one-offs keep the start first seen as their planned start,
    and 1:1s that left their source are added back (see :mod:`daemon.core.history`).
    """
    history = history or History()
    origins = history.single_origins
    groups: dict[str, list[Event]] = defaultdict(list)
    for event in deduplicate(events):
        groups[event.uid].append(event)
    people: dict[str, PersonMeetings] = {}

    def meetings_of(person: str) -> PersonMeetings:
        return people.setdefault(person, PersonMeetings(person))

    for uid, group in groups.items():
        masters = [e for e in group if e.is_master]
        overrides = [e for e in group if e.is_override]
        singles = [e for e in group if not e.is_master and not e.is_override]
        if masters:
            master = masters[0]
            person = directory.counterpart(master)
            if person is None or master.status is Status.CANCELLED:
                continue
            if master.recurrence is not None and not master.recurrence.rrules:
                # Only RDATEs: a list of dates without a cadence, so one-off meetings.
                try:
                    planned = planned_starts(master, range_start, range_end)
                    dates = _occurrences(master, overrides, person, directory, planned,
                                         range_start, range_end, recurring=False)
                except RuleError as exc:
                    warnings.append(f"source {master.source!r}: event {uid} skipped: {exc}")
                    continue
                meetings_of(person).singles.extend(dates)
                meetings_of(person).names.extend(_names(master, person, directory))
                continue
            try:
                series = _expand(master, overrides, person, directory, range_start, range_end)
            except NotACadence as exc:
                log.debug("source %r: series %s left out: %s", master.source, uid, exc)
                continue
            except RuleError as exc:
                warnings.append(f"source {master.source!r}: event {uid} skipped: {exc}")
                continue
            meetings = meetings_of(person)
            meetings.series.append(series)
            meetings.names += _names(master, person, directory)
            continue
        for event in singles + overrides:
            person = directory.counterpart(event)
            if person is None:
                continue
            meetings = meetings_of(person)
            meetings.singles.append(_single(event, person, directory, origins))
            meetings.names += _names(event, person, directory)
    for gone in history.departed:
        if range_start <= gone.seen.occurrence.original_start < range_end:
            meetings = meetings_of(gone.seen.person)
            meetings.departed.append(gone)
    for meetings in people.values():
        meetings.series.sort(key=lambda s: (s.first_start, s.uid))
    return people


def _occurrences(master: Event, overrides: list[Event], person: str, directory: Directory,
                 planned: list[datetime], range_start: datetime, range_end: datetime,
                 recurring: bool) -> list[Occurrence]:
    """The planned slots of a master with what happened to each (overrides, EXDATEs)."""
    assert master.recurrence is not None
    by_id = {o.recurrence_id: o for o in overrides}
    excluded = set(master.recurrence.exdates)
    master_declined = _declined_by(master, person, directory)

    def from_override(slot: datetime, override: Event) -> Occurrence:
        return Occurrence(
            source=override.source, uid=master.uid, summary=override.summary,
            original_start=slot, planned=master.duration,
            start=override.start, end=override.end, recurring=recurring,
            cancelled=override.status is Status.CANCELLED,
            declined_by=_declined_by(override, person, directory),
        )

    occurrences: list[Occurrence] = []
    for slot in planned:
        override = by_id.pop(slot, None)
        if override is not None:  # an override wins over an EXDATE for the same slot
            occurrences.append(from_override(slot, override))
            continue
        occurrences.append(Occurrence(
            source=master.source, uid=master.uid, summary=master.summary,
            original_start=slot, planned=master.duration,
            start=slot, end=slot + master.duration, recurring=recurring,
            cancelled=slot in excluded, declined_by=master_declined,
        ))
    # Overrides whose RECURRENCE-ID matches no generated slot (a rule edited later)
    # still describe a real meeting of the series.
    for rid, override in by_id.items():
        assert rid is not None
        if range_start <= rid < range_end:
            occurrences.append(from_override(rid, override))
    occurrences.sort(key=lambda o: o.original_start)
    return occurrences


def _expand(master: Event, overrides: list[Event], person: str, directory: Directory,
            range_start: datetime, range_end: datetime) -> Series:
    interval = series_interval(master)
    assert master.recurrence is not None
    last_start: datetime | None = None
    planned: list[datetime] | None = None
    if all(parse_rule(r).finite for r in master.recurrence.rrules):
        # One walk to the rule's end gives both the slots in range and the last start.
        horizon = max(range_end, master.start + timedelta(days=366 * 30))
        try:
            every = planned_starts(master, master.start, horizon)
        except RuleError:  # a COUNT or UNTIL too far out to walk: treated as endless
            every = None
        if every is not None:
            last_start = every[-1] if every else master.start
            planned = [s for s in every if range_start <= s < range_end]
    if planned is None:
        planned = planned_starts(master, range_start, range_end)
    occurrences = _occurrences(master, overrides, person, directory, planned, range_start,
                               range_end, recurring=True)
    return Series(
        source=master.source,
        uid=master.uid,
        summary=master.summary,
        first_start=master.start,
        last_start=last_start,
        interval_days=interval,
        occurrences=tuple(occurrences),
    )
