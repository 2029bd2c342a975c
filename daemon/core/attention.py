"""What "needs attention" means, once, for every output. Pure.

A relationship needs attention when one of these holds in the analysis window
(docs/rules.md says the same):

- no 1:1 series was found for a person in ``[[people]]`` (``no_series``);
- the gap since the last 1:1 is open and past the cadence, or none was held yet
  (an open ``missed_cadence``; a gap that a later meeting closed is history);
- nothing is booked within the horizon (``no_upcoming``);
- the series' cadence was reduced (``cadence_reduced``);
- at least :data:`REPEATED` [0] of the last :data:`REPEATED` [1] meetings up to
  now were moved or cut short.

A single cancelled, declined, moved or shortened meeting is a flag, shown in
`scan`, but alone it is no reason for attention. A relationship that is
``unknown`` (its only sources never read) never needs attention: nothing is
known of it yet. `scan`, `status`, the report and the pages all ask this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.core.rules import (
    Analysis,
    CadenceReduced,
    Flag,
    MissedCadence,
    NoSeries,
    NoUpcoming,
    Relationship,
    moved_or_cut_short,
)

REPEATED = (3, 6)  # 3 or more of the last 6 meetings moved or cut short


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason a relationship needs attention. ``flag`` is the finding behind it
    (None for repeated erosion, which is a pattern over several meetings)."""

    kind: str  # no_series | not_held_yet | missed_cadence | no_upcoming | cadence_reduced | eroded
    urgency: float  # higher first
    flag: Flag | None = None
    eroded: int = 0  # for "eroded": how many of the last ``recent`` were moved or cut
    recent: int = 0


def reasons(rel: Relationship, now: datetime, shortened: timedelta) -> tuple[Reason, ...]:
    """Why ``rel`` needs attention at ``now``, most urgent first; empty when it does not.
    ``shortened`` is the rules' threshold for a meeting cut short."""
    if rel.unknown:
        return ()
    found: list[Reason] = []
    for flag in rel.flags:
        if isinstance(flag, NoSeries):
            found.append(Reason("no_series", 30.0, flag))
        elif isinstance(flag, MissedCadence) and flag.until is None:
            if flag.since is None:
                found.append(Reason("not_held_yet", 30.0, flag))
            else:
                gap = flag.gap_days or 0.0
                found.append(Reason("missed_cadence",
                                    10.0 + 10 * gap / flag.expected_interval_days, flag))
        elif isinstance(flag, NoUpcoming):
            found.append(Reason("no_upcoming", 15.0, flag))
        elif isinstance(flag, CadenceReduced):
            found.append(Reason("cadence_reduced", 12.0, flag))
    recent = [o for o in rel.occurrences if o.original_start <= now][-REPEATED[1]:]
    eroded = sum(1 for o in recent if moved_or_cut_short(o, shortened))
    if eroded >= REPEATED[0]:
        found.append(Reason("eroded", 8.0 + eroded, eroded=eroded, recent=len(recent)))
    found.sort(key=lambda r: -r.urgency)
    return tuple(found)


def short_words(reason: Reason) -> str:
    """A few words for a table cell ("nothing booked", "3 of last 6 moved or cut")."""
    flag = reason.flag
    if reason.kind == "no_series":
        return "no 1:1 series found"
    if reason.kind == "not_held_yet":
        return "no 1:1 held yet"
    if reason.kind == "missed_cadence" and isinstance(flag, MissedCadence):
        return f"no 1:1 for {round(flag.gap_days or 0)}d"
    if reason.kind == "no_upcoming":
        return "nothing booked"
    if reason.kind == "cadence_reduced" and isinstance(flag, CadenceReduced):
        return f"cadence reduced {flag.from_days:g}d → {flag.to_days:g}d"
    return f"{reason.eroded} of last {reason.recent} moved or cut short"


def for_analysis(analysis: Analysis) -> dict[str, tuple[Reason, ...]]:
    """The reasons of every relationship that needs attention, by person."""
    out = {}
    for rel in analysis.relationships:
        found = reasons(rel, analysis.now, analysis.shortened)
        if found:
            out[rel.person] = found
    return out
