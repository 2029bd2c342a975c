"""Graph's ``patternedRecurrence`` as RFC 5545 RRULE text. Pure.

Graph says a series' rule as a ``pattern`` (daily, weekly, absoluteMonthly,
relativeMonthly, absoluteYearly, relativeYearly; ``interval``, ``daysOfWeek``,
``dayOfMonth``, ``month``, ``index``, ``firstDayOfWeek``) and a ``range`` (noEnd,
endDate, numbered). The RRULE is written as an ICS export of the same series says
it: INTERVAL only when above 1, WKST only where it changes the expansion (weekly,
every few weeks), UNTIL as the end of the range's last day in the series' zone, in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

DAYS = {"sunday": "SU", "monday": "MO", "tuesday": "TU", "wednesday": "WE",
        "thursday": "TH", "friday": "FR", "saturday": "SA"}
INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


class UnreadableRecurrence(ValueError):
    """The pattern cannot be said as an RRULE (an unknown type, missing days)."""


def _days(pattern: Mapping[str, Any]) -> list[str]:
    days = pattern.get("daysOfWeek")
    if not isinstance(days, list) or not days or any(str(d).lower() not in DAYS for d in days):
        raise UnreadableRecurrence(f"daysOfWeek {days!r} is not a list of weekdays")
    return [DAYS[str(d).lower()] for d in days]


def _positive(value: Any, what: str, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
        raise UnreadableRecurrence(f"{what} {value!r} is out of range")
    return value


def rrule(recurrence: Mapping[str, Any], start: datetime) -> str:
    """The RRULE of ``recurrence`` for a series that starts at ``start`` (in its zone)."""
    pattern = recurrence.get("pattern")
    span = recurrence.get("range") or {}
    if not isinstance(pattern, Mapping) or not isinstance(span, Mapping):
        raise UnreadableRecurrence("it has no pattern")
    kind = str(pattern.get("type") or "")
    interval = _positive(pattern.get("interval", 1) or 1, "interval", 999)
    parts: list[str] = []
    if kind == "daily":
        parts.append("FREQ=DAILY")
    elif kind == "weekly":
        parts += ["FREQ=WEEKLY", "BYDAY=" + ",".join(_days(pattern))]
        first = str(pattern.get("firstDayOfWeek") or "sunday").lower()
        if interval > 1 and first in DAYS and first != "monday":
            parts.append(f"WKST={DAYS[first]}")
    elif kind in ("absoluteMonthly", "absoluteYearly"):
        parts.append("FREQ=MONTHLY" if kind == "absoluteMonthly" else "FREQ=YEARLY")
        if kind == "absoluteYearly":
            parts.append(f"BYMONTH={_positive(pattern.get('month'), 'month', 12)}")
        parts.append(f"BYMONTHDAY={_positive(pattern.get('dayOfMonth'), 'dayOfMonth', 31)}")
    elif kind in ("relativeMonthly", "relativeYearly"):
        parts.append("FREQ=MONTHLY" if kind == "relativeMonthly" else "FREQ=YEARLY")
        if kind == "relativeYearly":
            parts.append(f"BYMONTH={_positive(pattern.get('month'), 'month', 12)}")
        index = INDEX.get(str(pattern.get("index") or "first").lower())
        if index is None:
            raise UnreadableRecurrence(f"index {pattern.get('index')!r} is unknown")
        days = _days(pattern)
        if len(days) == 1:
            parts.append(f"BYDAY={index}{days[0]}")
        else:
            parts += ["BYDAY=" + ",".join(days), f"BYSETPOS={index}"]
    else:
        raise UnreadableRecurrence(f"pattern type {kind!r} is unknown")
    if interval > 1:
        parts.insert(1, f"INTERVAL={interval}")
    end = str(span.get("type") or "noEnd")
    if end == "numbered":
        parts.append(f"COUNT={_positive(span.get('numberOfOccurrences'), 'count', 100000)}")
    elif end == "endDate":
        parts.append("UNTIL=" + until(span.get("endDate"), start.tzinfo or UTC))
    elif end != "noEnd":
        raise UnreadableRecurrence(f"range type {end!r} is unknown")
    return ";".join(parts)


def until(value: Any, zone: tzinfo) -> str:
    """The end of an inclusive ``endDate`` (the series' zone) as an RRULE UNTIL in UTC."""
    try:
        last = date.fromisoformat(str(value))
    except ValueError:
        raise UnreadableRecurrence(f"endDate {value!r} is not a date") from None
    moment = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone) - timedelta(
        seconds=1)
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
