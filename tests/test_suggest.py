"""Make-up slots (daemon.core.suggest): pure, so Hypothesis can throw calendars at it."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.suggest import Habit, Hours, habit_of, suggest

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
OWNER = Hours(BERLIN)
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=BERLIN)  # a Tuesday morning


def at(text: str, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def test_an_empty_week_offers_the_usual_slot_first():
    habit = Habit(weekday=3, time_of_day=time(10, 0))  # Thursdays at 10
    [first, second, third] = suggest([], now=NOW, minutes=30, owner=OWNER, habit=habit)
    assert first.start == at("2026-11-26T10:00") and first.usual_day
    # Then the usual day's nearest hours, before any other day.
    assert {second.start, third.start} <= {at("2026-11-26T09:30"), at("2026-11-26T10:30"),
                                           at("2026-11-26T09:00"), at("2026-11-26T11:00")}


def test_a_busy_usual_slot_moves_to_the_nearest_free_time_that_day():
    habit = Habit(weekday=3, time_of_day=time(10, 0))
    busy = [(at("2026-11-26T09:00"), at("2026-11-26T12:00"))]
    first = suggest(busy, now=NOW, minutes=30, owner=OWNER, habit=habit)[0]
    assert first.start == at("2026-11-26T12:15")  # 10 min buffer, on a quarter hour
    assert first.adjacent


def test_without_a_habit_the_earliest_slot_next_to_a_meeting_wins_that_day():
    busy = [(at("2026-11-24T13:00"), at("2026-11-24T14:00"))]
    slots = suggest(busy, now=at("2026-11-24T12:00"), minutes=30, owner=OWNER)
    # 12:15-12:45 ends next to the 13:00 meeting; 12:00 would split the free stretch.
    assert slots[0].start == at("2026-11-24T12:15") and slots[0].adjacent
    assert all(s.start >= at("2026-11-24T12:00") for s in slots)


def test_the_other_persons_hours_in_their_zone_are_respected():
    other = Hours(NEW_YORK)  # 09:00 New York is 15:00 Berlin
    slots = suggest([], now=NOW, minutes=45, owner=OWNER, other=other, count=5)
    for slot in slots:
        assert slot.start.astimezone(BERLIN).time() >= time(15, 0)
        assert slot.end.astimezone(BERLIN).time() <= time(17, 30)


def test_weekends_and_the_horizon_are_kept():
    friday = at("2026-11-27T17:10")  # too late today, then a weekend
    slots = suggest([], now=friday, minutes=30, owner=OWNER, horizon_days=1)
    assert slots and all(s.start.date() == at("2026-11-30T00:00").date() for s in slots)


def test_habit_of_a_series():
    starts = [at(f"2026-11-{d:02}T10:00") for d in (5, 12, 19)] + [at("2026-11-24T15:00")]
    assert habit_of(starts, BERLIN) == Habit(weekday=3, time_of_day=time(10, 0))
    assert habit_of([], BERLIN) == Habit()


blocks = st.lists(
    st.tuples(st.integers(min_value=0, max_value=8 * 24 * 4), st.integers(1, 16)),
    max_size=30,
).map(lambda pairs: [(NOW + timedelta(minutes=15 * s), NOW + timedelta(minutes=15 * (s + n)))
                     for s, n in pairs])


@settings(max_examples=150, deadline=None)
@given(busy=blocks, minutes=st.sampled_from([25, 30, 45, 60]),
       weekday=st.one_of(st.none(), st.integers(0, 4)),
       hour=st.integers(8, 18), offset=st.integers(0, 5 * 24 * 60))
def test_no_slot_ever_overlaps_a_busy_block_or_the_past_and_it_is_deterministic(
        busy, minutes, weekday, hour, offset):
    now = NOW + timedelta(minutes=offset)
    habit = Habit(weekday, time(hour % 24, 0) if weekday is not None else None)
    buffer = timedelta(minutes=10)
    slots = suggest(busy, now=now, minutes=minutes, owner=OWNER, habit=habit, buffer=buffer)
    assert slots == suggest(list(reversed(busy)), now=now, minutes=minutes, owner=OWNER,
                            habit=habit, buffer=buffer)
    for slot in slots:
        assert slot.start >= now and slot.end - slot.start == timedelta(minutes=minutes)
        assert OWNER.contains(slot.start, slot.end)
        for start, end in busy:
            assert slot.end + buffer <= start or end <= slot.start - buffer
    for a in slots:
        for b in slots:
            assert a is b or a.end <= b.start or b.end <= a.start
