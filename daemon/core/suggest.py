"""Make-up slots for a 1:1: where the next one fits. Pure: busy blocks, hours and
``now`` in, ranked slots out; no I/O, no clock.

The rules (docs/suggest.md states them too):

- A slot is the 1:1's usual length, starts on a quarter hour, lies within the next
  ``horizon_days`` working days (today counts when there is time left), inside both
  people's working hours (each in their own zone), at least ``lead`` (an hour) after
  ``now``, so the other person sees the invite in time, and keeps
  ``buffer`` clear of every busy block on either side.
- Ranking, best first:
  1. on the series' usual weekday;
  2. nearer the usual time of day;
  3. on an earlier day;
  4. next to another meeting (it touches a busy block, buffer included) rather than
     in the middle of a free stretch, which it would split;
  5. earlier in the day.
  Without a usual weekday or time (no series), rules 1 and 2 are left out.
- The slots returned do not overlap one another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

STEP = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Hours:
    """Working hours on working days, in a zone."""

    zone: ZoneInfo
    days: frozenset[int] = frozenset(range(5))  # Monday = 0
    start: time = time(9, 0)
    end: time = time(17, 30)

    def contains(self, start: datetime, end: datetime) -> bool:
        """Whether ``[start, end)`` lies within one working day's hours here."""
        local_start, local_end = start.astimezone(self.zone), end.astimezone(self.zone)
        if local_start.date() != (local_end - timedelta(microseconds=1)).date():
            return False
        return (local_start.weekday() in self.days and self.start <= local_start.time()
                and local_end.time() <= self.end and local_end.time() != time(0))


@dataclass(frozen=True, slots=True)
class Habit:
    """When the 1:1 usually happens (from its series), if it has a rhythm."""

    weekday: int | None = None  # Monday = 0, in the owner's zone
    time_of_day: time | None = None


@dataclass(frozen=True, slots=True)
class TheirBusy:
    """When the other person is busy, as their calendar service told (free/busy), or
    why their calendar could not be seen (``unseen``; ``blocks`` is then empty)."""

    blocks: tuple[tuple[datetime, datetime], ...] = ()
    source: str = ""  # the source whose service was asked
    unseen: str | None = None


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime
    end: datetime
    usual_day: bool
    adjacent: bool  # next to another meeting


def suggest(busy: Iterable[tuple[datetime, datetime]], *, now: datetime,
            minutes: int, owner: Hours, other: Hours | None = None,
            habit: Habit = Habit(), horizon_days: int = 5,
            buffer: timedelta = timedelta(minutes=10), count: int = 3,
            lead: timedelta = timedelta(hours=1)) -> list[Slot]:
    """The best ``count`` slots for a 1:1 of ``minutes``; ``busy`` blocks may come from
    several sources and overlap each other. ``now`` must be timezone-aware."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    length = timedelta(minutes=minutes)
    blocks = _merge(busy)
    earliest = now + lead
    candidates = []
    for day in _working_days(earliest, owner, horizon_days, length):
        opening = datetime.combine(day, owner.start, owner.zone)
        closing = datetime.combine(day, owner.end, owner.zone)
        moment = max(opening, _ceil(earliest, opening))
        while moment + length <= closing:
            end = moment + length
            if ((other is None or other.contains(moment, end)) and owner.contains(moment, end)
                    and _free(blocks, moment - buffer, end + buffer)):
                candidates.append(_rank(moment, end, blocks, buffer, habit, owner, day))
            moment += STEP
    candidates.sort(key=lambda ranked: ranked[0])
    chosen: list[Slot] = []
    for _key, slot in candidates:
        if all(slot.end <= c.start or c.end <= slot.start for c in chosen):
            chosen.append(slot)
        if len(chosen) == count:
            break
    return chosen


def _rank(start: datetime, end: datetime, blocks: Sequence[tuple[datetime, datetime]],
          buffer: timedelta, habit: Habit, owner: Hours, day: date
          ) -> tuple[tuple[int | float | datetime | date, ...], Slot]:
    local = start.astimezone(owner.zone)
    usual_day = habit.weekday is not None and local.weekday() == habit.weekday
    adjacent = any((b_end <= start and start - b_end <= buffer + STEP)
                   or (end <= b_start and b_start - end <= buffer + STEP)
                   for b_start, b_end in blocks)
    minutes_off = 0.0
    if habit.time_of_day is not None:
        usual = datetime.combine(day, habit.time_of_day, owner.zone)
        minutes_off = abs((start - usual) / timedelta(minutes=1))
    key = (0 if usual_day or habit.weekday is None else 1, minutes_off, day,
           0 if adjacent else 1, start)
    return key, Slot(start, end, usual_day, adjacent)


def _working_days(now: datetime, owner: Hours, horizon: int, length: timedelta
                  ) -> list[date]:
    """The next ``horizon`` working days; today only when a slot still fits in it."""
    if not owner.days:
        return []
    days: list[date] = []
    day = now.astimezone(owner.zone).date()
    if now + length > datetime.combine(day, owner.end, owner.zone):
        day += timedelta(days=1)
    while len(days) < horizon:
        if day.weekday() in owner.days:
            days.append(day)
        day += timedelta(days=1)
    return days


def _ceil(now: datetime, opening: datetime) -> datetime:
    """The first quarter hour (counted from the day's opening) at or after ``now``."""
    if now <= opening:
        return opening
    steps = -((opening - now) // STEP)
    return opening + steps * STEP


def _merge(busy: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(b for b in busy if b[1] > b[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _free(blocks: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return all(b_end <= start or end <= b_start for b_start, b_end in blocks)


def habit_of(starts: Sequence[datetime], zone: ZoneInfo) -> Habit:
    """The weekday and time of day most of ``starts`` share (the series' own slots)."""
    if not starts:
        return Habit()
    local = [s.astimezone(zone) for s in starts]
    weekdays = [s.weekday() for s in local]
    weekday = max(sorted(set(weekdays)), key=weekdays.count)
    times = [s.time().replace(second=0, microsecond=0) for s in local if s.weekday() == weekday]
    return Habit(weekday, max(sorted(set(times)), key=times.count))
