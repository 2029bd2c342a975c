"""The recurrence engine refuses what would hang or is not a 1:1 cadence."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from daemon.core.model import Event, Recurrence
from daemon.core.recurrence import NotACadence, RuleError, parse_rule, planned_starts

from conftest import at


def master(rule: str, start: datetime | None = None) -> Event:
    start = start or at("2026-01-05T10:00")
    return Event(source="t", uid="u", start=start, end=start + timedelta(minutes=30),
                 recurrence=Recurrence(rrules=(rule,)))


@pytest.mark.parametrize("rule", ["FREQ=HOURLY", "FREQ=MINUTELY;INTERVAL=30",
                                  "FREQ=DAILY;BYHOUR=9,15", "FREQ=WEEKLY;BYMINUTE=0,30"])
def test_rule_repeating_within_a_day_is_not_a_cadence(rule):
    with pytest.raises(NotACadence):
        parse_rule(rule)


@pytest.mark.parametrize(("rule", "reason"), [
    ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL=0"),
    ("FREQ=MONTHLY;BYMONTH=13", "BYMONTH=13"),
    ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY=0"),
    ("FREQ=WEEKLY;BYDAY=XX", "'XX'"),
    ("FREQ=SOMETIMES", "FREQ"),
    ("FREQ=WEEKLY;COUNT=-3", "COUNT"),
    ("FREQ=WEEKLY;INTERVAL=two", "INTERVAL"),
])
def test_malformed_rule_is_refused_with_its_reason(rule, reason):
    with pytest.raises(RuleError, match=reason):
        parse_rule(rule)


@pytest.mark.timeout(10)
def test_daily_rule_from_year_one_is_refused_quickly():
    began = time.monotonic()
    with pytest.raises(RuleError, match="too long before"):
        planned_starts(master("FREQ=DAILY", at("0001-01-01T10:00")),
                       at("2026-01-01T00:00"), at("2027-01-01T00:00"))
    assert time.monotonic() - began < 1


def test_occurrence_cap_applies():
    with pytest.raises(RuleError, match="more than 10 occurrences"):
        planned_starts(master("FREQ=DAILY"), at("2026-01-01T00:00"), at("2026-03-01T00:00"),
                       max_occurrences=10)


def test_occurrence_started_before_the_range_is_not_returned():
    starts = planned_starts(master("FREQ=WEEKLY;BYDAY=MO"), at("2026-01-12T10:10"),
                            at("2026-01-27T00:00"))
    assert starts == [at("2026-01-19T10:00"), at("2026-01-26T10:00")]


def test_weekly_rule_keeps_wall_time_across_dst():
    starts = planned_starts(master("FREQ=WEEKLY;BYDAY=MO"), at("2026-03-20T00:00"),
                            at("2026-04-07T00:00"))
    assert [s.utcoffset() for s in starts] == [timedelta(hours=1), timedelta(hours=2),
                                                timedelta(hours=2)]
    assert {s.hour for s in starts} == {10}
