"""A 1:1 habit booked one meeting at a time: the cadence of a run of one-off 1:1s.

Many managers book each 1:1 as its own event (a scheduling assistant, a booking
page, or by hand after each meeting). When the one-offs with a person keep a
rhythm, that rhythm is the relationship's cadence. Pure: no I/O, no clock.

Rules (docs/rules.md states them too):

- the meetings looked at are the person's one-off 1:1s that are booked (neither
  cancelled nor declined), by actual start, inside the analysis window;
- with at least :data:`MIN_MEETINGS` of them, each gap between two in a row is
  matched to the nearest cadence in :data:`CADENCES` it is within
  :data:`TOLERANCE_DAYS` of (the same tolerance for every cadence; a gap near none
  matches nothing);
- the cadence matched by most gaps wins (the shorter one on a tie) when it matches
  at least two thirds of the gaps: that is the inferred interval. Otherwise the
  meetings are ad hoc and give no cadence.

A skipped week shows as one gap of two weeks among weekly ones: the habit is
still weekly, and the rules then flag the gap as a missed cadence, as for a series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

MIN_MEETINGS = 3
CADENCES = (7.0, 14.0, 21.0, 28.0, 30.0)  # weekly ... every 4 weeks, monthly (as a series)
TOLERANCE_DAYS = 2.0
SHARE = 2 / 3


@dataclass(frozen=True, slots=True)
class Habit:
    interval_days: float
    meetings: int  # the one-offs it was inferred from


def _nearest(gap: float) -> float | None:
    close = [c for c in CADENCES if abs(gap - c) <= TOLERANCE_DAYS]
    return min(close, key=lambda c: (abs(gap - c), c)) if close else None


def infer(starts: Sequence[datetime]) -> Habit | None:
    """The cadence that one-off 1:1s starting at ``starts`` keep, or None (ad hoc)."""
    ordered = sorted(starts)
    if len(ordered) < MIN_MEETINGS:
        return None
    gaps = [(b - a) / timedelta(days=1) for a, b in pairwise(ordered)]
    votes: dict[float, int] = {}
    for gap in gaps:
        cadence = _nearest(gap)
        if cadence is not None:
            votes[cadence] = votes.get(cadence, 0) + 1
    if not votes:
        return None
    best = min(votes, key=lambda c: (-votes[c], c))
    if votes[best] < SHARE * len(gaps) - 1e-9:
        return None
    return Habit(best, len(ordered))
