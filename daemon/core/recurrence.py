"""The one recurrence engine: expands a master :class:`~daemon.core.model.Event`.

Both connectors hand over RFC 5545 data (RRULE text, RDATE and EXDATE datetimes),
and this module expands it with recurring-ical-events, so ICS and Google series
behave the same. Expansion here yields the *planned* slots: EXDATEs are not
applied (the caller marks those slots cancelled) and overrides are matched by
the caller.

Hostile or broken rules are refused before expansion: dateutil loops forever on
``INTERVAL=0`` and accepts ``BYMONTH=13`` silently. Expansion is bounded by the
rule's shape, checked before any work: at most one occurrence a day (a rule that
repeats within a day is not a 1:1 cadence), at most ``MAX_STEPS`` rule steps from
DTSTART to the end of the range (dateutil walks from DTSTART), at most
``MAX_OCCURRENCES`` in the range; a series whose expansion still takes longer
than ``MAX_SECONDS`` is dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import recurring_ical_events
from icalendar import Calendar, vRecur
from icalendar import Event as IcsEvent

from daemon.core.model import Event

MAX_OCCURRENCES = 5000
MAX_STEPS = 40_000
MAX_SECONDS = 2.0

_SUB_DAILY = {"HOURLY", "MINUTELY", "SECONDLY"}
_FREQS = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"} | _SUB_DAILY
_WEEKDAYS = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"}
_RANGES = {
    "BYSECOND": (0, 60, False),
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (1, 366, True),
}


class RuleError(ValueError):
    """The recurrence of a master is unusable; the series is skipped."""


class NotACadence(RuleError):
    """The rule repeats more often than daily: not a 1:1 cadence, not expanded."""


@dataclass(frozen=True, slots=True)
class Rule:
    freq: str
    interval: int
    byday: int  # number of BYDAY entries (0 when absent)
    bymonthday: int
    finite: bool  # UNTIL or COUNT present
    per_day: int  # occurrences a day that BYHOUR x BYMINUTE x BYSECOND allow


def parse_rule(text: str) -> Rule:
    """Validate one RRULE value and summarise it. Raises :class:`RuleError`."""
    parts: dict[str, str] = {}
    for chunk in text.strip().removeprefix("RRULE:").split(";"):
        if not chunk:
            continue
        name, sep, value = chunk.partition("=")
        if not sep:
            raise RuleError(f"RRULE part {chunk!r} has no value")
        parts[name.strip().upper()] = value.strip()
    freq = parts.get("FREQ", "").upper()
    if freq not in _FREQS:
        raise RuleError(f"RRULE has no valid FREQ ({freq or 'missing'})")
    try:
        interval = int(parts.get("INTERVAL", "1"))
    except ValueError:
        raise RuleError(f"RRULE INTERVAL {parts['INTERVAL']!r} is not a number") from None
    if interval < 1:
        raise RuleError(f"RRULE INTERVAL={interval} must be at least 1")
    if "COUNT" in parts:
        try:
            if int(parts["COUNT"]) < 1:
                raise ValueError
        except ValueError:
            raise RuleError(f"RRULE COUNT {parts['COUNT']!r} must be a positive number") from None
    for key, (low, high, signed) in _RANGES.items():
        if key not in parts:
            continue
        for item in parts[key].split(","):
            try:
                number = int(item)
            except ValueError:
                raise RuleError(f"RRULE {key} value {item!r} is not a number") from None
            if not (low <= (abs(number) if signed else number) <= high) or (signed and number == 0):
                raise RuleError(f"RRULE {key}={number} is out of range")
    days = [d for d in parts.get("BYDAY", "").split(",") if d]
    for day in days:
        code = day.lstrip("+-0123456789").upper()
        if code not in _WEEKDAYS:
            raise RuleError(f"RRULE BYDAY value {day!r} is not a weekday")
    if freq in _SUB_DAILY:
        raise NotACadence(f"repeats {freq.lower()}, more often than daily")
    per_day = 1
    for key in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        per_day *= len({v for v in parts.get(key, "").split(",") if v}) or 1
    if per_day > 1:
        raise NotACadence(f"repeats {per_day} times a day")
    return Rule(
        freq=freq,
        interval=interval,
        byday=len(days),
        bymonthday=len([d for d in parts.get("BYMONTHDAY", "").split(",") if d]),
        finite="UNTIL" in parts or "COUNT" in parts,
        per_day=per_day,
    )


def interval_days(rule: Rule) -> float:
    """Expected days between meetings, as the cadence rules define it."""
    if rule.freq == "DAILY":
        return float(rule.interval)
    if rule.freq == "WEEKLY":
        return 7 * rule.interval / max(1, rule.byday)
    if rule.freq == "MONTHLY":
        return 30 * rule.interval / max(1, rule.byday or rule.bymonthday)
    return 365.0 * rule.interval


def series_interval(master: Event) -> float:
    """Interval of a master: the shortest of its RRULEs. Raises :class:`RuleError`."""
    assert master.recurrence is not None
    rules = [parse_rule(r) for r in master.recurrence.rrules]
    if not rules:
        raise RuleError("recurring event has no RRULE")
    return min(interval_days(r) for r in rules)


def planned_starts(
    master: Event,
    range_start: datetime,
    range_end: datetime,
    *,
    max_occurrences: int = MAX_OCCURRENCES,
    max_seconds: float = MAX_SECONDS,
) -> list[datetime]:
    """Starts the master's rule plans in ``[range_start, range_end)``, EXDATEs not applied.

    Starts keep the master's own time zone. Raises :class:`RuleError` for a
    malformed or runaway rule.
    """
    return list(_planned_starts(master, range_start, range_end, max_occurrences, max_seconds))


@lru_cache(maxsize=4096)
def _planned_starts(master: Event, range_start: datetime, range_end: datetime,
                    max_occurrences: int, max_seconds: float) -> tuple[datetime, ...]:
    """:func:`planned_starts`, remembered: the service expands the same masters over
    the same day-aligned ranges every cycle. Errors are not remembered."""
    assert master.recurrence is not None
    rec = master.recurrence
    rules = [parse_rule(text) for text in rec.rrules]
    if not rules and not rec.rdates:
        raise RuleError("recurring event has no RRULE")
    if rules:
        shortest = min(interval_days(rule) for rule in rules)
        steps = (range_end - master.start) / timedelta(days=1) / shortest
        if steps > MAX_STEPS:
            raise RuleError(f"starts too long before the dates looked at ({steps:,.0f} "
                            f"repetitions; at most {MAX_STEPS:,})")
    component = IcsEvent()
    component.add("UID", master.uid)
    component.add("DTSTART", master.start)
    component.add("DURATION", master.duration)
    for text in rec.rrules:
        component.add("RRULE", vRecur.from_ical(text.removeprefix("RRULE:")))
    for rdate in rec.rdates:
        component.add("RDATE", rdate)
    calendar = Calendar()
    calendar.add_component(component)
    began = time.monotonic()
    try:
        # The series' own occurrences: only their starts are needed, so the
        # icalendar component that between() would build for each is skipped.
        found = [occurrence.start
                 for series in recurring_ical_events.of(calendar).series
                 for occurrence in series.between(range_start, range_end)]
    except Exception as exc:  # noqa: BLE001 - dateutil/icalendar raise many kinds on bad rules
        raise RuleError(f"cannot expand the rule: {exc}") from None
    if time.monotonic() - began > max_seconds:
        raise RuleError(f"expansion took longer than {max_seconds:g}s")
    # between() also returns occurrences that started before the range and overlap it.
    starts = sorted(s for s in found if range_start <= s < range_end)
    if len(starts) > max_occurrences:
        raise RuleError(f"more than {max_occurrences} occurrences in the range")
    return tuple(starts)
