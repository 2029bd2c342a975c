"""The cadence rules: a pure function of normalized events, config and ``now``.

``analyze(events, config, now)`` finds each person the owner has a 1:1
relationship with and the flags that say where the habit erodes. No I/O, no
clock. docs/rules.md states these rules in prose, exactly as implemented here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from daemon.config import Cadence, Config
from daemon.core.detection import Directory
from daemon.core.habits import infer
from daemon.core.history import History, IntervalChange, interval_changes, utc_midnight
from daemon.core.meetings import PersonMeetings, collect
from daemon.core.model import Event, Occurrence, Series

HISTORY = timedelta(days=365)  # how far before the window meetings are read for gaps
_COUNTED = ("held", "rescheduled", "shortened", "cancelled", "declined")
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class OccurrenceFlag:
    kind: str  # rescheduled | shortened | cancelled | declined
    occurrence: Occurrence


@dataclass(frozen=True, slots=True)
class MissedCadence:
    since: datetime | None  # start of the meeting before the gap; None: never met
    until: datetime | None  # start of the meeting that closed it; None while open
    gap_days: float | None
    expected_interval_days: float
    kind: str = "missed_cadence"


@dataclass(frozen=True, slots=True)
class CadenceReduced:
    from_days: float
    to_days: float
    effective: datetime
    source: str
    uid: str
    kind: str = "cadence_reduced"


@dataclass(frozen=True, slots=True)
class NoUpcoming:
    expected_interval_days: float
    horizon: datetime  # nothing is booked from now until here
    kind: str = "no_upcoming"


@dataclass(frozen=True, slots=True)
class NoSeries:
    """A person in ``[[people]]`` with no recurring 1:1 and no cadence in their one-offs:
    the first erosion of all. ``expected_interval_days`` is their ``cadence_days``, if set."""

    expected_interval_days: float | None
    kind: str = "no_series"


Flag = OccurrenceFlag | MissedCadence | CadenceReduced | NoUpcoming | NoSeries

# Where a relationship's expected interval comes from.
SERIES, CONFIGURED, INFERRED, NONE = "series", "configured", "inferred", "none"


@dataclass(frozen=True)
class Relationship:
    """One person the owner has (or should have) 1:1s with, and what erodes them.

    ``expected_interval_days`` is None when nothing says how often (``cadence`` is
    ``"none"``). ``unknown`` says why nothing can be told yet (the only sources that
    could hold these 1:1s have never been read): such a relationship has no flag.
    """

    person: str
    name: str
    expected_interval_days: float | None
    last_held: datetime | None
    next_scheduled: Occurrence | None
    counts: dict[str, int]
    flags: tuple[Flag, ...]
    occurrences: tuple[Occurrence, ...] = field(default=(), repr=False)
    series: tuple[Series, ...] = field(default=(), repr=False)
    cadence: str = SERIES  # series | configured | inferred | none
    inferred_from: int = 0  # one-off meetings the cadence was inferred from
    unknown: str | None = None


@dataclass(frozen=True)
class Analysis:
    now: datetime
    window_start: datetime
    window_end: datetime
    relationships: tuple[Relationship, ...]
    warnings: tuple[str, ...]
    shortened: timedelta = timedelta(minutes=5)  # the threshold for "cut short"


def window(cadence: Cadence, now: datetime) -> tuple[datetime, datetime]:
    return (now - timedelta(days=cadence.lookback_days),
            now + timedelta(days=cadence.lookahead_days))


def is_held(occ: Occurrence, now: datetime) -> bool:
    """A meeting is held when it started at or before now, not cancelled or declined."""
    return occ.start <= now and not occ.cancelled and not occ.declined


def is_booked(occ: Occurrence) -> bool:
    return not occ.cancelled and not occ.declined


def moved_or_cut_short(occ: Occurrence, shortened: timedelta) -> bool:
    """Booked, but moved or at least ``shortened`` shorter than planned: what the
    ``rescheduled`` and ``shortened`` flags say of one occurrence."""
    return is_booked(occ) and (occ.start != occ.original_start
                               or occ.planned - occ.actual >= shortened)


def analyze(events: Iterable[Event], config: Config, now: datetime,
            history: History | None = None, *,
            unread: Mapping[str, str] | None = None) -> Analysis:
    """Relationships and their flags. ``now`` must be timezone-aware.

    ``history`` (what earlier syncs saw, :mod:`daemon.core.history`) adds what one
    snapshot cannot show: one-offs moved between syncs, series edited in place
    to a longer interval, 1:1s that left their source. ``unread`` names the
    sources that have never been read (no good copy), each with the reason: their
    silence is no evidence, so a configured person with no meeting at all is
    ``unknown`` while one of them is unread.
    """
    history = history or History()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    cadence = config.cadence
    start, end = window(cadence, now)
    directory = Directory.from_config(config)
    cadences = {p.email: p.cadence_days for p in config.people if p.cadence_days}
    expected = {p.email for p in config.people if p.cadence_days != 0}  # 0: none expected
    longest = max([*cadences.values(), 366.0])
    range_end = max(end, now + timedelta(days=cadence.missed_factor * longest))
    warnings: list[str] = []
    # Whole UTC days, so that syncs within a day expand the same ranges (and reuse them).
    found = collect(events, directory, range_start=utc_midnight(start - HISTORY),
                    range_end=utc_midnight(range_end) + timedelta(days=1),
                    warnings=warnings, history=history)
    for email in expected:
        found.setdefault(email, PersonMeetings(email))
    unknown = _unread_text(unread or {})
    relationships = []
    for person, meetings in sorted(found.items()):
        changes = [c for c in history.changes if c.person == person]
        changes += interval_changes(
            person,
            {s.uid: (s.interval_days, [o.original_start for o in s.occurrences])
             for s in meetings.series},
            history.intervals, now)
        rel = _relationship(meetings, directory, cadences.get(person), cadence, now, start, end,
                            changes, listed=person in expected, unknown=unknown)
        if rel is not None:
            relationships.append(rel)
    return Analysis(now, start, end, tuple(relationships), tuple(warnings),
                    timedelta(minutes=cadence.shortened_minutes))


def _unread_text(unread: Mapping[str, str]) -> str | None:
    if not unread:
        return None
    parts = [f"{name} has not been read ({reason})" for name, reason in sorted(unread.items())]
    return "; ".join(parts)


def _display_name(meetings: PersonMeetings, directory: Directory) -> str:
    names = meetings.names
    return directory.names.get(meetings.person) or (
        max(set(names), key=names.count) if names else meetings.person)


def _relationship(meetings: PersonMeetings, directory: Directory, cadence_days: float | None,
                  cadence: Cadence, now: datetime, start: datetime, end: datetime,
                  changes: list[IntervalChange], *, listed: bool = False,
                  unknown: str | None = None) -> Relationship | None:
    # Series that ended before the window are history, not a relationship. A series
    # deleted from its source still counts while its last meetings are in the window.
    active = [s for s in meetings.series if s.last_start is None or s.last_start >= start]
    gone = sorted((d.seen for d in meetings.departed
                   if d.seen.interval_days is not None
                   and d.seen.occurrence.original_start >= start),
                  key=lambda s: s.occurrence.original_start)
    series = meetings.series
    occurrences = meetings.occurrences()
    if listed and not occurrences and unknown:
        return Relationship(meetings.person, _display_name(meetings, directory), cadence_days,
                            None, None, dict.fromkeys(_COUNTED, 0), (),
                            cadence=CONFIGURED if cadence_days else NONE, unknown=unknown)
    basis, inferred_from = (CONFIGURED, 0) if cadence_days else (SERIES, 0)
    fallback = gone[-1].interval_days if gone else None
    if not cadence_days and not active and not gone:
        habit = infer([o.start for o in meetings.singles
                       if is_booked(o) and start <= o.start <= end])
        if habit is not None:
            cadence_days, basis, inferred_from = habit.interval_days, INFERRED, habit.meetings
        elif not listed:
            return None  # ad-hoc one-offs with someone not in [[people]]
        elif not series:
            basis = NONE  # in [[people]], and nothing says how often
    current = cadence_days or (series[-1].interval_days if series else fallback)

    def interval_at(moment: datetime) -> float:
        if cadence_days:
            return cadence_days
        if not series:
            assert fallback is not None
            return fallback
        started = [s for s in series if s.first_start <= moment]
        return (started[-1] if started else series[0]).interval_days

    flags: list[Flag] = []
    counts = dict.fromkeys(_COUNTED, 0)
    shortened = timedelta(minutes=cadence.shortened_minutes)
    for occ in occurrences:
        if start <= occ.start <= now and is_held(occ, now):
            counts["held"] += 1
        if not start <= occ.original_start <= end:
            continue
        kinds = []
        if occ.cancelled:
            kinds.append("cancelled")
        elif occ.declined:
            kinds.append("declined")
        else:
            if occ.start != occ.original_start:
                kinds.append("rescheduled")
            if occ.planned - occ.actual >= shortened:
                kinds.append("shortened")
        for kind in kinds:
            counts[kind] += 1
            flags.append(OccurrenceFlag(kind, occ))

    held = [o for o in occurrences if is_held(o, now)]
    upcoming = [o for o in occurrences if o.start > now and is_booked(o)]
    if current is None:  # in [[people]], but no series and no rhythm in the one-offs
        flags.insert(0, NoSeries(expected_interval_days=None))
    elif not occurrences:  # in [[people]] with cadence_days, and nothing found at all
        flags.append(NoSeries(expected_interval_days=current))
    else:
        factor = cadence.missed_factor
        horizon = now + timedelta(days=factor * current)
        flags += _missed(held, upcoming, interval_at, factor, current, now, start, horizon)
        flags += _reduced(series, start, end)
        flags += [CadenceReduced(c.from_days, c.to_days, c.effective,
                                 _source_of(series, c.uid), c.uid)
                  for c in changes if start <= c.effective <= end]
        if not any(o.start <= horizon for o in upcoming):
            flags.append(NoUpcoming(expected_interval_days=current, horizon=horizon))

    return Relationship(
        person=meetings.person,
        name=_display_name(meetings, directory),
        expected_interval_days=current,
        last_held=held[-1].start if held else None,
        next_scheduled=upcoming[0] if upcoming else None,
        counts=counts,
        flags=tuple(flags),
        occurrences=tuple(occurrences),
        series=tuple(series),
        cadence=basis,
        inferred_from=inferred_from,
    )


def _missed(held: list[Occurrence], upcoming: list[Occurrence], interval_at, factor: float,
            current: float, now: datetime, start: datetime,
            horizon: datetime) -> list[MissedCadence]:
    if not held:
        if any(o.start <= horizon for o in upcoming):
            return []
        return [MissedCadence(None, None, None, current)]
    flags = []
    for before, after in pairwise(held):
        expected = interval_at(before.start)
        gap = (after.start - before.start) / timedelta(days=1)
        if gap > factor * expected + _EPS and after.start >= start:
            flags.append(MissedCadence(before.start, after.start, round(gap, 2), expected))
    last = held[-1]
    expected = interval_at(last.start)
    gap = (now - last.start) / timedelta(days=1)
    if gap > factor * expected + _EPS:
        flags.append(MissedCadence(last.start, None, round(gap, 2), expected))
    return flags


def _source_of(series: list[Series], uid: str) -> str:
    return next((s.source for s in series if s.uid == uid), "")


def _reduced(series: list[Series], start: datetime, end: datetime) -> list[CadenceReduced]:
    flags = []
    for before, after in pairwise(series):
        ended = before.last_start is not None and before.last_start <= after.first_start
        if ended and after.interval_days > before.interval_days + _EPS \
                and start <= after.first_start <= end:
            flags.append(CadenceReduced(before.interval_days, after.interval_days,
                                        after.first_start, after.source, after.uid))
    return flags


def finding_key(person: str, flag: Flag) -> str:
    """The identity of a finding across syncs: the same problem keeps one key."""
    def utc(moment: datetime) -> str:
        return moment.astimezone(UTC).isoformat()
    if isinstance(flag, OccurrenceFlag):
        occ = flag.occurrence
        return f"{flag.kind}|{person}|{occ.uid}|{utc(occ.original_start)}"
    if isinstance(flag, MissedCadence):
        return f"{flag.kind}|{person}|{utc(flag.since) if flag.since else 'never'}"
    if isinstance(flag, CadenceReduced):
        return f"{flag.kind}|{person}|{flag.uid}|{utc(flag.effective)}"
    return f"{flag.kind}|{person}"
