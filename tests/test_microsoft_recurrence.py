"""Graph's patternedRecurrence as the RRULE an ICS export of the same series carries,
checked by expanding both with dateutil from the same start."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from connectors.microsoft.recurrence import UnreadableRecurrence, rrule

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 10, 5, 10, tzinfo=BERLIN)  # a Monday


def rule(pattern, span=None):
    return rrule({"pattern": pattern, "range": span or {"type": "noEnd"}}, START)


@pytest.mark.parametrize(("pattern", "span", "expected"), [
    ({"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]}, None, "FREQ=WEEKLY;BYDAY=MO"),
    ({"type": "weekly", "interval": 2, "daysOfWeek": ["monday", "thursday"],
      "firstDayOfWeek": "sunday"}, {"type": "numbered", "numberOfOccurrences": 6},
     "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;WKST=SU;COUNT=6"),
    ({"type": "daily", "interval": 3}, None, "FREQ=DAILY;INTERVAL=3"),
    ({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 5}, None,
     "FREQ=MONTHLY;BYMONTHDAY=5"),
    ({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["monday"], "index": "first"},
     None, "FREQ=MONTHLY;BYDAY=1MO"),
    ({"type": "relativeMonthly", "daysOfWeek": ["monday", "friday"], "index": "last"},
     None, "FREQ=MONTHLY;BYDAY=MO,FR;BYSETPOS=-1"),
    ({"type": "relativeYearly", "month": 10, "daysOfWeek": ["monday"], "index": "first"},
     None, "FREQ=YEARLY;BYMONTH=10;BYDAY=1MO"),
    ({"type": "absoluteYearly", "month": 10, "dayOfMonth": 5}, None,
     "FREQ=YEARLY;BYMONTH=10;BYMONTHDAY=5"),
])
def test_patterns_become_the_rrule_an_ics_export_says(pattern, span, expected):
    assert rule(pattern, span) == expected


def test_an_end_date_is_inclusive_in_the_series_zone():
    text = rule({"type": "weekly", "daysOfWeek": ["monday"]},
                {"type": "endDate", "endDate": "2026-11-02"})
    assert text.endswith("UNTIL=20261102T225959Z")
    starts = list(rrulestr(text, dtstart=START))
    assert starts[-1] == datetime(2026, 11, 2, 10, tzinfo=BERLIN) and len(starts) == 5


@pytest.mark.parametrize("pattern", [
    {"type": "weekly"}, {"type": "hourly"}, {"type": "absoluteMonthly", "dayOfMonth": 40},
    {"type": "relativeMonthly", "daysOfWeek": ["monday"], "index": "fifth"},
])
def test_unreadable_patterns_are_refused(pattern):
    with pytest.raises(UnreadableRecurrence):
        rule(pattern)
