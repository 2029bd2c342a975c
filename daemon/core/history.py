"""What history adds to the rules: facts a single snapshot cannot show.

Pure data and a pure update. The store keeps a :class:`History` as JSON; the
sync calls :func:`observe` after each cycle with what it saw, and
:func:`daemon.core.rules.analyze` takes the history as one more input:

- a one-off 1:1 moved between two syncs is ``rescheduled`` (its original start
  is the start first seen: ``single_origins``);
- a series whose RRULE was edited in place to a longer interval is
  ``cadence_reduced`` (``changes``);
- a 1:1 whose event left a source that was read successfully is ``departed``:
  if it had not started yet it counts as cancelled; if it had, it stays what it
  was (a feed that only publishes recent weeks drops old meetings, and they
  were still held). Nothing is derived for a source that failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from daemon.core.model import Occurrence

_EPS = 1e-9
# The retention: records about meetings planned (or markers written) longer ago than this
# are dropped: history here, the nudge and report markers and what the agendas carried
# (docs/daemon.md, "How long it is kept").
KEEP = timedelta(days=365 + 90)


@dataclass(frozen=True, slots=True)
class Seen:
    """One 1:1 occurrence as a sync saw it, with whom and at what cadence."""

    person: str
    occurrence: Occurrence
    interval_days: float | None = None  # the series' interval; None for one-offs


@dataclass(frozen=True, slots=True)
class Departed:
    """A 1:1 whose event is no longer in its (successfully read) source."""

    seen: Seen
    left_at: datetime  # the sync that first missed it

    def as_occurrence(self) -> Occurrence:
        """Not yet started when it left: cancelled. Started: as it was."""
        occ = self.seen.occurrence
        if occ.start > self.left_at and not occ.cancelled:
            return replace(occ, cancelled=True)
        return occ


@dataclass(frozen=True, slots=True)
class IntervalChange:
    """A series' RRULE edited in place to repeat less often."""

    person: str
    uid: str
    from_days: float
    to_days: float
    effective: datetime  # the series' first start after the change was seen


@dataclass(frozen=True)
class History:
    single_origins: Mapping[str, datetime] = field(default_factory=dict)
    intervals: Mapping[str, float] = field(default_factory=dict)
    changes: tuple[IntervalChange, ...] = ()
    departed: tuple[Departed, ...] = ()
    seen: tuple[Seen, ...] = ()  # the last sync's 1:1s in the window


def utc_midnight(moment: datetime) -> datetime:
    """The start of ``moment``'s UTC day: ranges aligned to it stay the same all day."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def interval_changes(person: str, series: Mapping[str, tuple[float, list[datetime]]],
                     intervals: Mapping[str, float], now: datetime) -> list[IntervalChange]:
    """Series whose interval grew since it was last seen (``intervals``).

    ``series`` maps a series UID to its interval and its planned starts; the
    change takes effect at the first planned start from ``now`` on.
    """
    changes = []
    for uid, (interval, starts) in series.items():
        before = intervals.get(uid)
        if before is not None and interval > before + _EPS:
            upcoming = [start for start in starts if start >= now]
            changes.append(IntervalChange(person, uid, before, interval,
                                          min(upcoming) if upcoming else now))
    return changes


def depart(history: History, read_ok: Mapping[str, frozenset[str]], now: datetime) -> History:
    """Record the 1:1s the last sync saw whose event left a source read successfully.

    ``read_ok`` maps each source read successfully now to the UIDs of every
    event it holds. A departed 1:1 whose event comes back is forgotten.
    """
    horizon = now - KEEP
    departed = [
        d for d in history.departed
        if d.seen.occurrence.original_start >= horizon
        and d.seen.occurrence.uid not in read_ok.get(d.seen.occurrence.source, frozenset())
    ]
    known = {(d.seen.occurrence.uid, d.seen.occurrence.original_start) for d in departed}
    for seen in history.seen:
        occ = seen.occurrence
        uids = read_ok.get(occ.source)
        if uids is None or occ.uid in uids:
            continue  # the source failed, or the event is still there
        if (occ.uid, occ.original_start) not in known:
            departed.append(Departed(seen, now))
            known.add((occ.uid, occ.original_start))
    return replace(history, departed=tuple(departed))


def observe(history: History, current: list[Seen], now: datetime,
            window_start: datetime, window_end: datetime) -> History:
    """The history after a sync whose analysis produced ``current``.

    ``current`` holds the 1:1 occurrences of every relationship, departed ones
    excluded. Call :func:`depart` before the analysis, this after it.
    """
    horizon = now - KEEP
    origins = {uid: at for uid, at in history.single_origins.items() if at >= horizon}
    for seen in current:
        if not seen.occurrence.recurring:
            origins.setdefault(seen.occurrence.uid, seen.occurrence.original_start)

    by_person: dict[str, dict[str, tuple[float, list[datetime]]]] = {}
    for seen in current:
        if seen.occurrence.recurring and seen.interval_days is not None:
            series = by_person.setdefault(seen.person, {})
            series.setdefault(seen.occurrence.uid, (seen.interval_days, []))[1].append(
                seen.occurrence.original_start)
    changes = [c for c in history.changes if c.effective >= horizon]
    # Only the series this sync saw: one that left every calendar has no interval to
    # compare with any more (kept, the table would grow with every series ever seen).
    intervals: dict[str, float] = {}
    for person, series in by_person.items():
        changes += interval_changes(person, series, history.intervals, now)
        intervals.update({uid: interval for uid, (interval, _) in series.items()})

    # Whole UTC days, so that the record changes at most once a day when nothing else does.
    first = utc_midnight(window_start)
    last = utc_midnight(window_end) + timedelta(days=1)
    window_seen = tuple(s for s in current
                        if first <= s.occurrence.original_start < last
                        or first <= s.occurrence.start < last)
    return History(origins, intervals, tuple(changes), history.departed, window_seen)


# --- JSON --------------------------------------------------------------------------


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _occ_json(occ: Occurrence) -> dict[str, Any]:
    return {
        "source": occ.source, "uid": occ.uid, "summary": occ.summary,
        "original_start": occ.original_start.isoformat(),
        "planned_minutes": occ.planned / timedelta(minutes=1),
        "start": occ.start.isoformat(), "end": occ.end.isoformat(),
        "recurring": occ.recurring, "cancelled": occ.cancelled,
        "declined_by": list(occ.declined_by),
    }


def _occ(data: dict[str, Any]) -> Occurrence:
    return Occurrence(
        source=data["source"], uid=data["uid"], summary=data["summary"],
        original_start=_dt(data["original_start"]),
        planned=timedelta(minutes=data["planned_minutes"]),
        start=_dt(data["start"]), end=_dt(data["end"]), recurring=data["recurring"],
        cancelled=data["cancelled"], declined_by=tuple(data["declined_by"]),
    )


def _seen_json(seen: Seen) -> dict[str, Any]:
    return {"person": seen.person, "interval_days": seen.interval_days,
            "occurrence": _occ_json(seen.occurrence)}


def _seen(data: dict[str, Any]) -> Seen:
    return Seen(data["person"], _occ(data["occurrence"]), data["interval_days"])


def to_json(history: History) -> dict[str, Any]:
    return {
        "single_origins": {uid: at.isoformat() for uid, at in sorted(
            history.single_origins.items())},
        "intervals": dict(sorted(history.intervals.items())),
        "changes": [{"person": c.person, "uid": c.uid, "from_days": c.from_days,
                     "to_days": c.to_days, "effective": c.effective.isoformat()}
                    for c in history.changes],
        "departed": [{"seen": _seen_json(d.seen), "left_at": d.left_at.isoformat()}
                     for d in history.departed],
        "seen": [_seen_json(s) for s in history.seen],
    }


def from_json(data: dict[str, Any] | None) -> History:
    if not data:
        return History()
    return History(
        single_origins={uid: _dt(at) for uid, at in data.get("single_origins", {}).items()},
        intervals=dict(data.get("intervals", {})),
        changes=tuple(IntervalChange(c["person"], c["uid"], c["from_days"], c["to_days"],
                                     _dt(c["effective"])) for c in data.get("changes", [])),
        departed=tuple(Departed(_seen(d["seen"]), _dt(d["left_at"]))
                       for d in data.get("departed", [])),
        seen=tuple(_seen(s) for s in data.get("seen", [])),
    )
