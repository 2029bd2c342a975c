"""The cadence rules, each with its boundaries (pure: events, config, now)."""

from __future__ import annotations

import random
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.model import Attendee, Event, PartStat, Recurrence, Status
from daemon.core.rules import (
    CadenceReduced,
    MissedCadence,
    NoSeries,
    NoUpcoming,
    OccurrenceFlag,
    analyze,
)

from conftest import BERLIN, OWNER, at, config, one_on_one, person

NOW = at("2026-11-20T09:00")  # a Friday
WEEKLY = "FREQ=WEEKLY;BYDAY=MO"
ADA = {"name": "Ada Lovelace", "email": "ada@example.com"}


def series(**kw):
    return one_on_one("ada-weekly", at("2026-01-05T10:00"), rrule=WEEKLY, **kw)


def moved(original: str, new: str, minutes: int = 30, **kw):
    return one_on_one("ada-weekly", at(new), minutes, recurrence_id=at(original), **kw)


def only(analysis, person="ada@example.com"):
    rels = [r for r in analysis.relationships if r.person == person]
    assert len(rels) == 1, analysis.relationships
    return rels[0]


def kinds(rel):
    return [f.kind for f in rel.flags]


def occurrence_flags(rel, kind):
    return [f for f in rel.flags if isinstance(f, OccurrenceFlag) and f.kind == kind]


# --- a healthy series ---------------------------------------------------------------


def test_regular_weekly_series_has_no_flags():
    rel = only(analyze([series()], config([ADA]), NOW))
    assert rel.flags == ()
    assert rel.expected_interval_days == 7
    assert rel.last_held == at("2026-11-16T10:00")
    assert rel.next_scheduled.start == at("2026-11-23T10:00")
    assert rel.counts["held"] == 13  # Mondays from 24 Aug to 16 Nov


# --- occurrence flags ----------------------------------------------------------------


def test_moved_override_is_rescheduled_with_original_start():
    rel = only(analyze([series(), moved("2026-11-09T10:00", "2026-11-10T15:00")],
                       config([ADA]), NOW))
    [flag] = occurrence_flags(rel, "rescheduled")
    assert flag.occurrence.original_start == at("2026-11-09T10:00")
    assert flag.occurrence.start == at("2026-11-10T15:00")
    assert rel.counts["rescheduled"] == 1


def test_same_instant_in_another_zone_is_not_rescheduled():
    utc_copy = one_on_one("ada-weekly", at("2026-11-09T09:00", tz=ZoneInfo("UTC")),
                          recurrence_id=at("2026-11-09T10:00"))
    rel = only(analyze([series(), utc_copy], config([ADA]), NOW))
    assert occurrence_flags(rel, "rescheduled") == []


@pytest.mark.parametrize(("minutes", "flagged"), [(25, True), (26, False), (30, False), (10, True)])
def test_shortened_boundary_is_shortened_minutes(minutes, flagged):
    rel = only(analyze([series(), moved("2026-11-09T10:00", "2026-11-09T10:00", minutes)],
                       config([ADA]), NOW))
    assert bool(occurrence_flags(rel, "shortened")) is flagged


def test_moved_and_cut_short_is_both_rescheduled_and_shortened():
    rel = only(analyze([series(), moved("2026-11-09T10:00", "2026-11-09T11:00", 15)],
                       config([ADA]), NOW))
    assert sorted(kinds(rel)) == ["rescheduled", "shortened"]
    [flag] = occurrence_flags(rel, "shortened")
    assert (flag.occurrence.planned, flag.occurrence.actual) == (timedelta(minutes=30),
                                                                 timedelta(minutes=15))


def test_exdate_is_cancelled():
    rel = only(analyze([series(exdates=[at("2026-11-09T10:00")])], config([ADA]), NOW))
    [flag] = occurrence_flags(rel, "cancelled")
    assert flag.occurrence.original_start == at("2026-11-09T10:00")
    assert rel.counts["held"] == 12


def test_cancelled_override_is_cancelled_not_rescheduled():
    gone = moved("2026-11-09T10:00", "2026-11-11T10:00", status=Status.CANCELLED)
    rel = only(analyze([series(), gone], config([ADA]), NOW))
    assert [f.kind for f in rel.flags if isinstance(f, OccurrenceFlag)] == ["cancelled"]


def test_override_wins_over_exdate_for_the_same_slot():
    rel = only(analyze([series(exdates=[at("2026-11-09T10:00")]),
                        moved("2026-11-09T10:00", "2026-11-10T10:00")], config([ADA]), NOW))
    assert kinds(rel) == ["rescheduled"]


@pytest.mark.parametrize("who", ["other", "owner", "owner-alias"])
def test_declined_by_person_or_owner(who):
    event = moved("2026-11-09T10:00", "2026-11-09T10:00",
                  other_partstat=PartStat.DECLINED if who == "other" else PartStat.ACCEPTED,
                  owner_partstat=PartStat.DECLINED if who == "owner" else PartStat.ACCEPTED)
    if who == "owner-alias":
        event = Event(**{**{f: getattr(event, f) for f in event.__slots__},
                         "attendees": (person("me@old.example.com", PartStat.DECLINED),
                                       person("ada@example.com"))})
    rel = only(analyze([series(), event], config([ADA]), NOW))
    assert [f.kind for f in rel.flags if isinstance(f, OccurrenceFlag)] == ["declined"]
    assert rel.counts["held"] == 12


def test_occurrence_flags_only_inside_the_window():
    lookback = config([ADA], lookback_days=30, lookahead_days=7)
    events = [series(),
              moved("2026-10-19T10:00", "2026-10-20T10:00"),  # 32 days back: outside
              moved("2026-10-26T10:00", "2026-10-27T10:00"),  # 25 days back: inside
              moved("2026-11-23T10:00", "2026-11-24T10:00"),  # 3 days ahead: inside
              moved("2026-11-30T10:00", "2026-12-01T10:00")]  # 10 days ahead: outside
    rel = only(analyze(events, lookback, NOW))
    starts = [f.occurrence.original_start for f in occurrence_flags(rel, "rescheduled")]
    assert starts == [at("2026-10-26T10:00"), at("2026-11-23T10:00")]


# --- expected interval -------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "days"), [
    ("FREQ=DAILY;INTERVAL=2", 2),
    ("FREQ=WEEKLY;BYDAY=MO", 7),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", 14),
    ("FREQ=WEEKLY;BYDAY=MO,TH", 3.5),
    ("FREQ=MONTHLY;BYMONTHDAY=1,15", 15),
    ("FREQ=MONTHLY;BYDAY=1MO", 30),
    ("FREQ=MONTHLY;INTERVAL=2", 60),
    ("FREQ=YEARLY", 365),
])
def test_expected_interval_of_a_rule(rule, days):
    event = one_on_one("s", at("2026-11-02T10:00"), rrule=rule)
    assert only(analyze([event], config([ADA]), NOW)).expected_interval_days == days


def test_cadence_days_overrides_the_rule():
    ada = {**ADA, "cadence_days": 14}
    rel = only(analyze([series()], config([ada]), NOW))
    assert rel.expected_interval_days == 14


# --- missed cadence -----------------------------------------------------------------------


def test_gap_of_exactly_factor_times_interval_is_not_missed():
    # Two weeks without a meeting against a weekly cadence and factor 2.0: not over.
    rel = only(analyze([series(exdates=[at("2026-11-09T10:00")])],
                       config([ADA], missed_factor=2.0), NOW))
    assert not [f for f in rel.flags if isinstance(f, MissedCadence)]


def test_gap_longer_than_factor_times_interval_is_one_missed_flag():
    rel = only(analyze([series(exdates=[at("2026-11-02T10:00"), at("2026-11-09T10:00")])],
                       config([ADA]), NOW))
    [flag] = [f for f in rel.flags if isinstance(f, MissedCadence)]
    assert (flag.since, flag.until) == (at("2026-10-26T10:00"), at("2026-11-16T10:00"))
    assert flag.gap_days == 21
    assert flag.expected_interval_days == 7


def test_open_gap_until_now_is_missed_with_until_null():
    ended = one_on_one("ada-weekly", at("2026-01-05T10:00"),
                       rrule="FREQ=WEEKLY;BYDAY=MO;UNTIL=20261026T090000Z")
    rel = only(analyze([ended], config([ADA]), NOW))
    [flag] = [f for f in rel.flags if isinstance(f, MissedCadence)]
    assert flag.since == at("2026-10-26T10:00")
    assert flag.until is None
    assert flag.gap_days == pytest.approx(24.96, abs=0.01)
    assert "no_upcoming" in kinds(rel)


def test_gap_that_ended_before_the_window_is_not_counted():
    events = [series(exdates=[at("2026-03-09T10:00"), at("2026-03-16T10:00")])]
    rel = only(analyze(events, config([ADA]), NOW))
    assert rel.flags == ()


def test_gap_is_measured_against_the_interval_in_effect_at_its_start():
    # Weekly until September, then every two weeks: a 14-day gap after the switch is fine.
    weekly = one_on_one("w", at("2026-01-05T10:00"),
                        rrule="FREQ=WEEKLY;BYDAY=MO;UNTIL=20260831T235900Z")
    biweekly = one_on_one("b", at("2026-09-14T10:00"), rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO")
    rel = only(analyze([weekly, biweekly], config([ADA]), NOW))
    missed = [f for f in rel.flags if isinstance(f, MissedCadence)]
    assert [(f.since, f.until) for f in missed] == [(at("2026-08-31T10:00"),
                                                     at("2026-09-14T10:00"))]
    assert rel.expected_interval_days == 14


def test_one_off_make_up_closes_a_gap():
    skipped = series(exdates=[at("2026-11-09T10:00")])
    without = only(analyze([skipped], config([ADA]), NOW))
    assert [f.kind for f in without.flags].count("missed_cadence") == 1
    make_up = one_on_one("make-up", at("2026-11-11T15:00"))
    rel = only(analyze([skipped, make_up], config([ADA]), NOW))
    assert not [f for f in rel.flags if isinstance(f, MissedCadence)]
    assert rel.counts["held"] == 13


def test_group_meeting_inside_a_gap_does_not_close_it():
    group = one_on_one("team", at("2026-11-05T15:00"), extra_attendees=(
        person("bob@example.com"), person("cy@example.com")))
    events = [series(exdates=[at("2026-11-02T10:00"), at("2026-11-09T10:00")]), group]
    rel = only(analyze(events, config([ADA]), NOW))
    assert len([f for f in rel.flags if isinstance(f, MissedCadence)]) == 1


def test_person_with_cadence_but_no_meeting_ever_has_no_series():
    rel = only(analyze([], config([{**ADA, "cadence_days": 14}]), NOW))
    assert rel.flags == (NoSeries(expected_interval_days=14),)
    assert (rel.cadence, rel.expected_interval_days, rel.unknown) == ("configured", 14, None)


def test_person_with_cadence_whose_only_meeting_was_cancelled_is_missed_since_null():
    gone = one_on_one("first", at("2026-11-10T10:00"), status=Status.CANCELLED)
    rel = only(analyze([gone], config([{**ADA, "cadence_days": 14}]), NOW))
    [missed] = [f for f in rel.flags if isinstance(f, MissedCadence)]
    assert (missed.since, missed.until, missed.gap_days) == (None, None, None)
    assert "no_upcoming" in kinds(rel)


# --- people in [[people]] without a series -----------------------------------------------


def test_listed_person_without_any_1_1_has_no_series():
    rel = only(analyze([], config([ADA]), NOW))
    assert rel.flags == (NoSeries(expected_interval_days=None),)
    assert (rel.cadence, rel.expected_interval_days) == ("none", None)


def test_listed_person_with_ad_hoc_one_offs_has_no_series_but_keeps_them():
    ad_hoc = [one_on_one(f"adhoc{i}", at(day)) for i, day in enumerate(
        ("2026-09-01T10:00", "2026-09-04T10:00", "2026-10-20T10:00"))]
    rel = only(analyze(ad_hoc, config([ADA]), NOW))
    assert kinds(rel) == ["no_series"]
    assert rel.last_held == at("2026-10-20T10:00")
    assert rel.counts["held"] == 3


def test_cadence_days_0_means_no_1_1_is_expected():
    assert analyze([], config([{**ADA, "cadence_days": 0}]), NOW).relationships == ()
    rel = only(analyze([series()], config([{**ADA, "cadence_days": 0}]), NOW))
    assert rel.flags == () and rel.cadence == "series"  # a series is still analyzed


def test_a_source_never_read_makes_a_person_without_meetings_unknown():
    rel = only(analyze([], config([{**ADA, "cadence_days": 14}]), NOW,
                       unread={"work": "the name does not resolve"}))
    assert rel.flags == ()
    assert rel.unknown == "work has not been read (the name does not resolve)"


def test_an_unread_source_does_not_hide_what_a_read_one_shows():
    rel = only(analyze([series(exdates=[at("2026-11-16T10:00")])], config([ADA]), NOW,
                       unread={"other": "timeout"}))
    assert rel.unknown is None
    assert "cancelled" in kinds(rel)


# --- a habit booked one meeting at a time -------------------------------------------------


def one_offs(*days, other="ada@example.com", **kw):
    return [one_on_one(f"single-{other}-{i}", at(day), other=other, **kw)
            for i, day in enumerate(days)]


def weekly_days(first="2026-09-07T10:00", weeks=11, skip=()):
    start = at(first)
    return [(start + timedelta(weeks=w)).isoformat()[:16] for w in range(weeks) if w not in skip]


def test_a_weekly_habit_booked_as_one_offs_is_found_for_anyone():
    events = one_offs(*weekly_days(weeks=11), other="grace@example.com")
    rel = only(analyze(events, config([]), NOW), "grace@example.com")
    assert (rel.cadence, rel.expected_interval_days, rel.inferred_from) == ("inferred", 7, 11)


def test_a_fortnightly_habit_with_a_day_of_drift_is_found():
    days = ["2026-09-01T10:00", "2026-09-15T10:00", "2026-09-30T10:00", "2026-10-13T10:00",
            "2026-10-27T10:00", "2026-11-10T10:00"]
    rel = only(analyze(one_offs(*days), config([ADA]), NOW))
    assert (rel.cadence, rel.expected_interval_days) == ("inferred", 14)


def test_a_handful_of_irregular_ad_hoc_1_1s_is_not_a_habit():
    days = ["2026-09-01T10:00", "2026-09-03T10:00", "2026-09-25T10:00", "2026-10-30T10:00",
            "2026-11-02T10:00"]
    assert analyze(one_offs(*days, other="grace@example.com"), config([]), NOW
                   ).relationships == ()
    assert only(analyze(one_offs(*days), config([ADA]), NOW)).cadence == "none"


def test_an_inferred_weekly_habit_that_lapses_is_flagged_like_a_series():
    rel = only(analyze(one_offs(*weekly_days(first="2026-09-07T10:00", weeks=8)), config([ADA]),
                       NOW))
    assert rel.cadence == "inferred"
    [missed] = [f for f in rel.flags if isinstance(f, MissedCadence)]
    assert missed.until is None and missed.since == at("2026-10-26T10:00")
    assert "no_upcoming" in kinds(rel)


def test_a_skipped_week_is_a_missed_cadence_of_a_weekly_habit():
    rel = only(analyze(one_offs(*weekly_days(weeks=11, skip=(4,)), "2026-11-23T10:00"),
                       config([ADA]), NOW))
    assert rel.expected_interval_days == 7
    [missed] = [f for f in rel.flags if isinstance(f, MissedCadence)]
    assert missed.gap_days == 14


def test_a_configured_cadence_wins_over_the_inferred_one():
    rel = only(analyze(one_offs(*weekly_days(weeks=11)), config([{**ADA, "cadence_days": 14}]),
                       NOW))
    assert (rel.cadence, rel.expected_interval_days, rel.inferred_from) == ("configured", 14, 0)


def test_cancelled_one_offs_do_not_make_a_habit():
    events = one_offs(*weekly_days(weeks=6), other="grace@example.com",
                      status=Status.CANCELLED)
    assert analyze(events, config([]), NOW).relationships == ()


def test_no_meeting_yet_but_first_one_booked_soon_is_not_missed():
    starts_soon = one_on_one("new", at("2026-11-24T10:00"), rrule="FREQ=WEEKLY;BYDAY=TU")
    rel = only(analyze([starts_soon], config([ADA]), NOW))
    assert rel.flags == ()
    assert rel.last_held is None


# --- cadence reduced ------------------------------------------------------------------------


def _split(second_rule: str, switch: str = "2026-10-05T10:00"):
    first = one_on_one("w", at("2026-01-05T10:00"),
                       rrule="FREQ=WEEKLY;BYDAY=MO;UNTIL=20260928T235900Z")
    return [first, one_on_one("b", at(switch), rrule=second_rule)]


def test_this_and_following_split_to_a_longer_interval_is_cadence_reduced():
    rel = only(analyze(_split("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"), config([ADA]), NOW))
    [flag] = [f for f in rel.flags if isinstance(f, CadenceReduced)]
    assert (flag.from_days, flag.to_days, flag.effective) == (7, 14, at("2026-10-05T10:00"))


@pytest.mark.parametrize("rule", ["FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;BYDAY=MO,TH"])
def test_split_to_the_same_or_shorter_interval_is_not_reduced(rule):
    rel = only(analyze(_split(rule), config([ADA]), NOW))
    assert not [f for f in rel.flags if isinstance(f, CadenceReduced)]


def test_reduction_effective_before_the_window_is_not_raised():
    first = one_on_one("w", at("2025-01-06T10:00"),
                       rrule="FREQ=WEEKLY;BYDAY=MO;UNTIL=20250630T235900Z")
    second = one_on_one("b", at("2025-07-07T10:00"), rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO")
    rel = only(analyze([first, second], config([ADA]), NOW))
    assert not [f for f in rel.flags if isinstance(f, CadenceReduced)]


def test_two_running_series_are_not_a_reduction():
    monday = one_on_one("mo", at("2026-01-05T10:00"), rrule=WEEKLY)
    other = one_on_one("th", at("2026-10-08T10:00"), rrule="FREQ=WEEKLY;INTERVAL=4;BYDAY=TH")
    rel = only(analyze([monday, other], config([ADA]), NOW))
    assert not [f for f in rel.flags if isinstance(f, CadenceReduced)]


# --- no upcoming ------------------------------------------------------------------------------


def test_nothing_booked_within_factor_times_interval_is_no_upcoming():
    ended = one_on_one("a", at("2026-01-05T10:00"),
                       rrule="FREQ=WEEKLY;BYDAY=MO;UNTIL=20261116T235900Z")
    [flag] = [f for f in only(analyze([ended], config([ADA]), NOW)).flags
              if isinstance(f, NoUpcoming)]
    assert flag.horizon == NOW + timedelta(days=10.5)


@pytest.mark.parametrize(("status", "partstat", "flagged"), [
    (Status.CONFIRMED, PartStat.ACCEPTED, False),
    (Status.CANCELLED, PartStat.ACCEPTED, True),
    (Status.CONFIRMED, PartStat.DECLINED, True),
])
def test_only_a_live_booking_counts_as_upcoming(status, partstat, flagged):
    ended = one_on_one("a", at("2026-01-05T10:00"),
                       rrule="FREQ=WEEKLY;BYDAY=MO;UNTIL=20261116T235900Z")
    booked = one_on_one("b", at("2026-11-25T10:00"), status=status, other_partstat=partstat)
    rel = only(analyze([ended, booked], config([ADA]), NOW))
    assert ("no_upcoming" in kinds(rel)) is flagged


def test_booking_beyond_the_horizon_is_no_upcoming():
    ended = one_on_one("a", at("2026-01-05T10:00"),
                       rrule="FREQ=WEEKLY;BYDAY=MO;UNTIL=20261116T235900Z")
    late = one_on_one("late", at("2026-12-02T10:00"))
    rel = only(analyze([ended, late], config([ADA]), NOW))
    assert "no_upcoming" in kinds(rel)
    assert rel.next_scheduled.start == at("2026-12-02T10:00")


# --- relationships ----------------------------------------------------------------------------


def test_one_off_with_someone_without_relationship_is_ignored():
    analysis = analyze([one_on_one("x", at("2026-11-10T10:00"), other="bob@example.com")],
                       config([ADA]), NOW)
    assert [r.person for r in analysis.relationships] == ["ada@example.com"]  # Ada: no series


def test_series_that_ended_before_the_window_leaves_a_listed_person_with_no_series():
    old = one_on_one("old", at("2025-01-06T10:00"),
                     rrule="FREQ=WEEKLY;BYDAY=MO;UNTIL=20250630T235900Z")
    (rel,) = analyze([old], config([ADA]), NOW).relationships
    assert [f.kind for f in rel.flags] == ["no_series"]
    assert rel.occurrences == ()


def test_relationship_with_unconfigured_person_uses_their_calendar_name():
    event = Event(source="t", uid="u", start=at("2026-11-02T10:00"),
                  end=at("2026-11-02T10:30"), organizer=Attendee(OWNER),
                  attendees=(Attendee("grace@example.com", name="Grace Hopper"),),
                  recurrence=Recurrence(rrules=(WEEKLY,)))
    rel = only(analyze([event], config([ADA]), NOW), "grace@example.com")
    assert rel.name == "Grace Hopper"


def test_same_series_in_two_sources_counts_once():
    a = series(source="work")
    b = series(source="shared")
    cut = moved("2026-11-09T10:00", "2026-11-10T10:00", source="work")
    cut_copy = moved("2026-11-09T10:00", "2026-11-10T10:00", source="shared")
    rel = only(analyze([a, b, cut, cut_copy], config([ADA]), NOW))
    assert rel.counts["rescheduled"] == 1
    assert rel.counts["held"] == 13


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        analyze([], config([ADA]), NOW.replace(tzinfo=None))


# --- properties -----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(weekday=st.sampled_from(["MO", "TU", "WE", "TH", "FR"]),
       hour=st.integers(7, 18), interval=st.integers(1, 3),
       tz=st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"]))
def test_any_untouched_regular_series_has_no_flags(weekday, hour, interval, tz):
    start = at("2025-06-02T00:00", ZoneInfo(tz)).replace(hour=hour)
    event = one_on_one("s", start, rrule=f"FREQ=WEEKLY;INTERVAL={interval};BYDAY={weekday}")
    rel = only(analyze([event], config([ADA]), NOW))
    assert rel.flags == ()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_findings_do_not_depend_on_event_order(seed):
    events = [series(exdates=[at("2026-11-02T10:00")]),
              moved("2026-10-12T10:00", "2026-10-13T09:00", 20),
              moved("2026-11-09T10:00", "2026-11-09T10:00", status=Status.CANCELLED),
              one_on_one("make-up", at("2026-11-05T15:00")),
              one_on_one("grace", at("2026-11-03T10:00"), other="grace@example.com",
                          rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=TU")]
    shuffled = events[:]
    random.Random(seed).shuffle(shuffled)
    cfg = config([ADA])
    assert analyze(shuffled, cfg, NOW).relationships == analyze(events, cfg, NOW).relationships


def test_occurrence_times_keep_berlin_zone():
    rel = only(analyze([series()], config([ADA]), NOW))
    assert rel.next_scheduled.start.tzinfo == BERLIN


def test_rdate_only_series_counts_as_one_off_meetings():
    weekly = series(exdates=[at("2026-11-09T10:00")])
    listed = Event(source="t", uid="rdates", start=at("2026-11-11T15:00"),
                   end=at("2026-11-11T15:30"), organizer=Attendee(OWNER),
                   attendees=(person("ada@example.com"),),
                   recurrence=Recurrence(rdates=(at("2026-11-12T15:00"),)))
    rel = only(analyze([weekly, listed], config([ADA]), NOW))
    assert "missed_cadence" not in kinds(rel)  # the RDATE meetings closed the gap
    assert rel.counts["held"] == 14
    assert len(rel.series) == 1
