"""Make-up slots (daemon.core.suggest): pure, so Hypothesis can throw calendars at it."""

from __future__ import annotations

import json
import re
from datetime import datetime, time, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.cli.main import main
from daemon.core.busy import blocks
from daemon.core.model import Attendee, Event, PartStat, Recurrence, Status
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
    slots = suggest(busy, now=at("2026-11-24T11:00"), minutes=30, owner=OWNER)
    # 12:15-12:45 ends next to the 13:00 meeting; 12:00 would split the free stretch.
    assert slots[0].start == at("2026-11-24T12:15") and slots[0].adjacent
    assert all(s.start >= at("2026-11-24T12:00") for s in slots)  # an hour's notice


def test_the_other_persons_hours_in_their_zone_are_respected():
    other = Hours(NEW_YORK)  # 09:00 New York is 15:00 Berlin
    slots = suggest([], now=NOW, minutes=45, owner=OWNER, other=other, count=5)
    for slot in slots:
        assert slot.start.astimezone(BERLIN).time() >= time(15, 0)
        assert slot.end.astimezone(BERLIN).time() <= time(17, 30)


def test_weekends_and_the_horizon_are_kept():
    friday = at("2026-11-27T16:10")  # too late today (an hour's notice), then a weekend
    slots = suggest([], now=friday, minutes=30, owner=OWNER, horizon_days=1)
    assert slots and all(s.start.date() == at("2026-11-30T00:00").date() for s in slots)


def test_habit_of_a_series():
    starts = [at(f"2026-11-{d:02}T10:00") for d in (5, 12, 19)] + [at("2026-11-24T15:00")]
    assert habit_of(starts, BERLIN) == Habit(weekday=3, time_of_day=time(10, 0))
    assert habit_of([], BERLIN) == Habit()


busy_lists = st.lists(
    st.tuples(st.integers(min_value=0, max_value=8 * 24 * 4), st.integers(1, 16)),
    max_size=30,
).map(lambda pairs: [(NOW + timedelta(minutes=15 * s), NOW + timedelta(minutes=15 * (s + n)))
                     for s, n in pairs])


@settings(max_examples=150, deadline=None)
@given(busy=busy_lists, minutes=st.sampled_from([25, 30, 45, 60]),
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
        assert slot.start >= now + timedelta(hours=1)
        assert slot.end - slot.start == timedelta(minutes=minutes)
        assert OWNER.contains(slot.start, slot.end)
        for start, end in busy:
            assert slot.end + buffer <= start or end <= slot.start - buffer
    for a in slots:
        for b in slots:
            assert a is b or a.end <= b.start or b.end <= a.start


# -- busy time from events (daemon.core.busy) ------------------------------------------


ME = frozenset({"me@example.com"})


def event(uid, start, minutes=60, **kw):
    begin = at(start)
    return Event(source="work", uid=uid, start=begin, end=begin + timedelta(minutes=minutes),
                 summary=uid, **kw)


def test_busy_blocks_follow_transparency_cancellation_declines_and_recurrence():
    events = [
        event("standup", "2026-11-23T09:00", 15, recurrence=Recurrence(
            rrules=("FREQ=DAILY;COUNT=5",), exdates=(at("2026-11-25T09:00"),))),
        event("standup", "2026-11-26T11:00", 15, recurrence_id=at("2026-11-26T09:00")),
        event("focus", "2026-11-24T13:00", 120, transparent=True),
        event("offsite", "2026-11-24T15:00", status=Status.CANCELLED),
        event("talk", "2026-11-24T16:00", attendees=(
            Attendee("me@example.com", partstat=PartStat.DECLINED),)),
        event("holiday", "2026-11-27T00:00", 24 * 60, all_day=True),
        event("trip", "2026-11-26T00:00", 24 * 60, all_day=True, transparent=False),
        event("review", "2026-11-24T10:00"),
        event("review", "2026-11-24T10:00"),  # the same event from a second source
    ]
    got = blocks(events, ME, at("2026-11-23T00:00"), at("2026-11-28T00:00"))
    assert got == sorted([
        (at("2026-11-23T09:00"), at("2026-11-23T09:15")),
        (at("2026-11-24T09:00"), at("2026-11-24T09:15")),
        (at("2026-11-24T10:00"), at("2026-11-24T11:00")),
        (at("2026-11-26T00:00"), at("2026-11-27T00:00")),
        (at("2026-11-26T11:00"), at("2026-11-26T11:15")),
        (at("2026-11-27T09:00"), at("2026-11-27T09:15")),
    ])


# -- `cadenced suggest` on the demo, with a second calendar --------------------------




DEMO = resources.files("daemon") / "demo"
BUSY_ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//busy//EN\r
BEGIN:VEVENT\r
UID:board@test\r
DTSTAMP:20261101T000000Z\r
DTSTART;TZID=Europe/Berlin:20261123T153000\r
DTEND;TZID=Europe/Berlin:20261123T173000\r
SUMMARY:Board meeting\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:focus@test\r
DTSTAMP:20261101T000000Z\r
DTSTART;TZID=Europe/Berlin:20261120T100000\r
DTEND;TZID=Europe/Berlin:20261120T170000\r
SUMMARY:Focus time\r
TRANSP:TRANSPARENT\r
END:VEVENT\r
END:VCALENDAR\r
"""


def demo_with_a_second_calendar(tmp_path):
    (tmp_path / "demo.ics").write_bytes((DEMO / "demo.ics").read_bytes())
    (tmp_path / "busy.ics").write_text(BUSY_ICS, newline="")
    text = re.sub(r'(?m)^url = .*$', f'url = "{tmp_path / "demo.ics"}"',
                  (DEMO / "config.toml").read_text())
    text += f'\n[[sources]]\nname = "personal"\nurl = "{tmp_path / "busy.ics"}"\n'
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_suggest_gives_every_flagged_person_slots_clear_of_every_calendar(tmp_path):
    config = demo_with_a_second_calendar(tmp_path)
    done = CliRunner().invoke(main, ["--config", str(config), "suggest", "--json",
                                     "--now", "2026-11-20T09:00+01:00"])
    assert done.exit_code == 0, done.output
    found = {s["name"]: s for s in json.loads(done.stdout)["suggestions"]}
    # Those with an open gap and nothing booked soon; Lena's booked 1:1 on Wednesday
    # closes hers, so she gets none.
    assert set(found) == {"Ana Silva", "Tom Becker"}
    board = (at("2026-11-23T15:30"), at("2026-11-23T17:30"))
    for item in found.values():
        assert len(item["slots"]) == 3
        for slot in item["slots"]:
            start, end = (datetime.fromisoformat(slot[k]) for k in ("start", "end"))
            assert end + timedelta(minutes=10) <= board[0] or board[1] <= start
    # Tom meets on Mondays at 16:00: the board meeting (15:30-17:30) takes it, and
    # Jonas's 1:1 (14:00-14:45) leaves too little room before it, so the nearest free
    # half hour on that Monday, buffers kept, is 13:15.
    tom = found["Tom Becker"]["slots"][0]
    assert tom["usual_day"] and tom["start"] == "2026-11-23T13:15:00+01:00"
    # Transparent focus time does not block Friday.
    assert found["Ana Silva"]["slots"][0]["start"] == "2026-11-20T10:00:00+01:00"


def test_suggest_for_one_person_and_an_unknown_one(tmp_path):
    config = demo_with_a_second_calendar(tmp_path)
    args = ["--config", str(config), "suggest", "--now", "2026-11-20T09:00+01:00"]
    done = CliRunner().invoke(main, [*args, "jonas@example.com"])
    assert done.exit_code == 0 and done.stdout.startswith("Jonas Weber (45 min)\n")
    unknown = CliRunner().invoke(main, [*args, "zed@example.com"])
    assert unknown.exit_code == 2 and "no 1:1 relationship with zed@example.com" in unknown.stderr


def test_the_report_shows_the_first_free_slot_beside_who_needs_a_make_up(tmp_path):
    config = demo_with_a_second_calendar(tmp_path)
    done = CliRunner().invoke(main, ["--config", str(config), "report",
                                     "--now", "2026-11-20T09:00+01:00"])
    assert done.exit_code == 0, done.output
    text = " ".join(done.stdout.split())
    tom = text.split("Tom Becker", 1)[1].split("2. ", 1)[0]
    assert "First free slot for it: Mon 23 Nov, 13:15–13:45" in tom
    lena = text.split("Lena Fischer", 1)[1].split("4. ", 1)[0]
    assert "First free slot" not in lena  # her booked 1:1 is the make-up
    preview = tmp_path / "r.html"
    CliRunner().invoke(main, ["--config", str(config), "report", "--now",
                              "2026-11-20T09:00+01:00", "--preview", str(preview)])
    assert "First free slot for it: Mon 23 Nov, 13:15–13:45" in preview.read_text()


def test_status_shows_the_last_slots_found_while_they_are_fresh_and_ahead(tmp_path):
    config = demo_with_a_second_calendar(tmp_path)
    now = datetime.now(BERLIN).replace(microsecond=0)  # status judges freshness by the clock
    args = ["--config", str(config)]
    assert CliRunner().invoke(main, [*args, "sync", "--now", now.isoformat()]).exit_code == 0
    found = json.loads(CliRunner().invoke(main, [*args, "suggest", "--json", "--now",
                                                 now.isoformat()]).stdout)["suggestions"]
    people = json.loads(CliRunner().invoke(main, [*args, "status", "--json"]).stdout)["people"]
    shown = {p["person"]: p["make_up"] for p in people if p["make_up"]}
    expected = {s["person"]: s["slots"][0]["start"] for s in found if s["slots"]}
    assert expected and shown == expected
