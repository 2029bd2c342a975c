"""When the owner is busy, from every event of every source. Pure.

An event makes the owner busy over its own times unless it is cancelled, marked
free (``TRANSP:TRANSPARENT`` / Google's ``transparency: transparent``) or declined
by the owner. An all-day event blocks only when it is marked busy explicitly
(``TRANSP:OPAQUE``): most are holidays, birthdays and reminders. Recurring events
are expanded over the range asked for; the same event in two sources counts once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from daemon.core.meetings import deduplicate
from daemon.core.model import Event, PartStat, Status
from daemon.core.recurrence import RuleError, planned_starts


def blocks(events: Iterable[Event], owner: frozenset[str], start: datetime, end: datetime
           ) -> list[tuple[datetime, datetime]]:
    """The owner's busy ``(start, end)`` blocks that overlap ``[start, end)``."""
    chosen = deduplicate(events)
    moved = {(e.uid, e.recurrence_id) for e in chosen if e.recurrence_id is not None}
    out: list[tuple[datetime, datetime]] = []
    for event in chosen:
        if not _blocks(event, owner):
            continue
        if event.is_master:
            try:
                starts = planned_starts(event, start - event.duration, end)
            except RuleError:
                continue
            skipped = set(event.recurrence.exdates) if event.recurrence else set()
            for first in starts:
                if first in skipped or (event.uid, first) in moved:
                    continue
                out.append((first, first + event.duration))
        else:
            out.append((event.start, event.end))
    return sorted(b for b in out if b[0] < end and b[1] > start)


def _blocks(event: Event, owner: frozenset[str]) -> bool:
    if event.status is Status.CANCELLED:
        return False
    if event.all_day:
        return event.transparent is False
    if event.transparent:
        return False
    return not any(a.email in owner and a.partstat is PartStat.DECLINED
                   for a in event.attendees)
