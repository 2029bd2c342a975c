"""The report's counts over generated calendars: per person, the strip, the held and
expected counts and the minutes come from the same instances (a property test)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.core.model import PartStat, Status
from daemon.core.report.content import build_report
from daemon.core.rules import analyze, is_held

from conftest import at, config, one_on_one

ADA = {"name": "Ada Lovelace", "email": "ada@example.com"}
NOW = at("2026-11-25T08:00")  # a Wednesday: this week's meeting is still to come
FIRST = at("2026-06-01T10:00")  # a Monday, well before the 12 weeks of the strip

# What can happen to one week's slot of a weekly 1:1.
change = st.one_of(
    st.just(("as planned",)),
    st.tuples(st.just("moved"), st.integers(min_value=-6 * 24, max_value=6 * 24)),
    st.tuples(st.just("shortened"), st.integers(min_value=5, max_value=25)),
    st.just(("cancelled",)),
    st.just(("declined",)),
    st.just(("deleted",)),
)


@st.composite
def calendars(draw):
    minutes = draw(st.sampled_from([25, 30, 45, 60]))
    weeks = 26
    events = []
    exdates = []
    changes = draw(st.lists(change, min_size=weeks, max_size=weeks))
    for week, what in enumerate(changes):
        slot = FIRST + timedelta(weeks=week)
        kind = what[0]
        if kind == "deleted":
            exdates.append(slot)
        elif kind == "moved":
            events.append(one_on_one("ada", slot + timedelta(hours=what[1]), minutes,
                                     recurrence_id=slot))
        elif kind == "shortened":
            events.append(one_on_one("ada", slot, minutes - what[1], recurrence_id=slot))
        elif kind == "cancelled":
            events.append(one_on_one("ada", slot, minutes, recurrence_id=slot,
                                     status=Status.CANCELLED))
        elif kind == "declined":
            events.append(one_on_one("ada", slot, minutes, recurrence_id=slot,
                                     other_partstat=PartStat.DECLINED))
    events.append(one_on_one("ada", FIRST, minutes, rrule=f"FREQ=WEEKLY;BYDAY=MO;COUNT={weeks}",
                             exdates=exdates))
    extra = draw(st.lists(st.integers(min_value=0, max_value=25 * 7 * 24), max_size=4))
    for n, hours in enumerate(extra):
        events.append(one_on_one(f"extra-{n}", FIRST + timedelta(hours=hours), minutes))
    return minutes, events


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendars())
def test_strip_counts_and_minutes_come_from_the_same_instances(drawn):
    minutes, events = drawn
    cfg = config([ADA])
    analysis = analyze(events, cfg, NOW)
    report = build_report(analysis, cfg, NOW)
    [row] = report.rows
    [rel] = analysis.relationships
    first_week = row.strip[0].week_start
    begin = at(f"{first_week.isoformat()}T00:00")
    end = begin + timedelta(weeks=len(row.strip))
    held = [o for o in rel.occurrences if is_held(o, NOW) and begin <= o.start < end]

    # One set of instances behind the count, the minutes and the strip.
    assert row.held == len(held) == sum(cell.held for cell in row.strip)
    assert row.minutes_held == round(sum(o.actual / timedelta(minutes=1) for o in held))
    # Each held meeting is drawn in the week its actual start is in.
    for occ in held:
        cell = row.strip[(occ.start - begin).days // 7]
        assert cell.held >= 1 and cell.kind in ("held", "moved", "shortened")
    # Meetings and minutes share one denominator: the slots the series planned.
    assert row.expected is not None
    assert row.minutes_planned == row.expected * minutes
    # A week with nothing held but a cancelled or declined slot shows it there.
    for cell in row.strip:
        if cell.held == 0:
            assert cell.kind in ("cancelled", "missed", "none")
