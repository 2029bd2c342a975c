"""One relationship's whole history, for the person page of ``cadenced serve``: each
meeting with what happened to it, and the minutes held per month. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from daemon.core.model import Occurrence

# What happened to one meeting, in the words of the page.
PLANNED, HELD, MOVED, CUT, CANCELLED, DECLINED = (
    "planned", "held", "moved", "cut short", "cancelled", "declined")


@dataclass(frozen=True)
class Instance:
    """One meeting of the relationship."""

    start: datetime  # actual start, in the owner's zone
    original_start: datetime  # as planned
    planned_minutes: int
    actual_minutes: int
    title: str
    status: str  # one of PLANNED, HELD, MOVED, CUT, CANCELLED, DECLINED
    moved: bool  # held (or planned) at another time than the series said


@dataclass(frozen=True)
class Month:
    first: date  # the first day of the month
    minutes: int  # minutes held that month


def _minutes(delta: timedelta) -> int:
    return max(0, round(delta.total_seconds() / 60))


def instances(occurrences: Sequence[Occurrence], *, now: datetime, tz: tzinfo,
              shortened: timedelta) -> list[Instance]:
    """Every meeting, newest first. A held meeting cut by at least ``shortened`` is
    ``cut short``; one held at another time ``moved``; a future one ``planned``."""
    seen: dict[tuple[str, datetime], Occurrence] = {}
    for occ in occurrences:
        seen.setdefault(occ.key, occ)
    found = []
    for occ in seen.values():
        moved = occ.start != occ.original_start
        if occ.cancelled:
            status = CANCELLED
        elif occ.declined:
            status = DECLINED
        elif occ.start > now:
            status = PLANNED
        elif occ.planned - occ.actual >= shortened:
            status = CUT
        elif moved:
            status = MOVED
        else:
            status = HELD
        found.append(Instance(start=occ.start.astimezone(tz),
                              original_start=occ.original_start.astimezone(tz),
                              planned_minutes=_minutes(occ.planned),
                              actual_minutes=_minutes(occ.actual), title=occ.summary,
                              status=status, moved=moved))
    found.sort(key=lambda i: i.start, reverse=True)
    return found


def minutes_by_month(history: Sequence[Instance], *, now: datetime, months: int = 12
                     ) -> list[Month]:
    """Minutes held in each of the last ``months`` calendar months (the current one
    included), oldest first; a month with nothing held is 0."""
    local = now.astimezone(history[0].start.tzinfo) if history else now
    year, month = local.year, local.month
    firsts = []
    for _ in range(months):
        firsts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    firsts.reverse()
    totals = dict.fromkeys(firsts, 0)
    for item in history:
        if item.status in (HELD, MOVED, CUT) and item.start <= now:
            first = item.start.date().replace(day=1)
            if first in totals:
                totals[first] += item.actual_minutes
    return [Month(first, minutes) for first, minutes in totals.items()]
