"""The core's own calendar model.

Connectors (ICS, Google Calendar) turn their formats into these objects; the
recurrence engine (:mod:`daemon.core.recurrence`) and the cadence rules
(:mod:`daemon.core.rules`) see nothing else. Every datetime is timezone-aware.

Glossary
--------
event
    One VEVENT or one Google event: a single meeting, a recurring *master*, or an
    *override* (an edited or cancelled instance of a series, identified by
    ``recurrence_id``, the instance's original start).
series
    A master with its overrides, expanded into occurrences.
occurrence
    One planned slot of a series (or a single event) with what actually happened
    to it: moved, cut short, cancelled, declined.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta


class Status(enum.StrEnum):
    CONFIRMED = "confirmed"
    TENTATIVE = "tentative"
    CANCELLED = "cancelled"


class PartStat(enum.StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    TENTATIVE = "tentative"
    NEEDS_ACTION = "needs-action"
    DELEGATED = "delegated"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Attendee:
    """A participant of an event. ``email`` is lowercase, without ``mailto:``."""

    email: str
    name: str | None = None
    partstat: PartStat = PartStat.UNKNOWN
    is_resource: bool = False  # a room or resource (CUTYPE=ROOM/RESOURCE, Google resource)


@dataclass(frozen=True, slots=True)
class Recurrence:
    """The recurrence of a master event, as RFC 5545 data.

    ``rrules`` are RRULE values ("FREQ=WEEKLY;BYDAY=MO"); ``rdates`` and ``exdates``
    are aware datetimes. The Google connector fills it from the ``recurrence``
    lines, the ICS connector from the VEVENT's properties.
    """

    rrules: tuple[str, ...] = ()
    rdates: tuple[datetime, ...] = ()
    exdates: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    """One event as a connector read it.

    ``recurrence`` is set on masters only; ``recurrence_id`` on overrides only.
    ``organizer`` is a lowercase email or None. ``all_day`` events have midnight
    starts in the owner's zone and are never 1:1s.
    """

    source: str
    uid: str
    start: datetime
    end: datetime
    summary: str = ""
    status: Status = Status.CONFIRMED
    organizer: Attendee | None = None
    attendees: tuple[Attendee, ...] = ()
    recurrence: Recurrence | None = None
    recurrence_id: datetime | None = None
    all_day: bool = False
    sequence: int = 0
    last_modified: datetime | None = None
    transparent: bool | None = None  # TRANSP / transparency: True free, False busy, None unsaid

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def is_master(self) -> bool:
        return self.recurrence is not None and self.recurrence_id is None

    @property
    def is_override(self) -> bool:
        return self.recurrence_id is not None

    def participants(self) -> tuple[Attendee, ...]:
        """Organizer and attendees, people only, one entry per email.

        Rooms and resources are dropped. A participation status lives on the
        attendee entry, so when the organizer is also listed as an attendee
        (Google does this) the attendee entry wins; among repeated attendee
        entries, one with a known status wins.
        """
        seen: dict[str, Attendee] = {}
        for person in self.attendees:
            if person.is_resource or not person.email:
                continue
            known = seen.get(person.email)
            if known is None or (
                known.partstat is PartStat.UNKNOWN and person.partstat is not PartStat.UNKNOWN
            ):
                seen[person.email] = person
        organizer = self.organizer
        if organizer and organizer.email and not organizer.is_resource:
            seen.setdefault(organizer.email, organizer)
        return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One meeting slot with P: what was planned and what happened.

    ``original_start`` and ``planned`` describe the slot as the series planned it
    (the RECURRENCE-ID or the start the rule generated, and the series' duration);
    ``start`` and ``end`` are the actual times. A single event's planned slot is
    its own start and duration.
    """

    source: str
    uid: str
    summary: str
    original_start: datetime
    planned: timedelta
    start: datetime
    end: datetime
    recurring: bool
    cancelled: bool = False
    declined_by: tuple[str, ...] = ()

    @property
    def actual(self) -> timedelta:
        return self.end - self.start

    @property
    def declined(self) -> bool:
        return bool(self.declined_by)

    @property
    def key(self) -> tuple[str, datetime]:
        """Identity across sources: the same UID and original start count once."""
        return (self.uid, self.original_start)


@dataclass(frozen=True, slots=True)
class Series:
    """A recurring 1:1 series with one person, expanded in the analysis range."""

    source: str
    uid: str
    summary: str
    first_start: datetime
    last_start: datetime | None  # None when the rule never ends
    interval_days: float
    occurrences: tuple[Occurrence, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceReport:
    """How reading one source went: ``ok`` False means it failed and ``error`` says why."""

    name: str
    ok: bool
    error: str | None = None
    events: int = 0
    warnings: tuple[str, ...] = field(default=())
    hint: str | None = None  # what to do about the error
