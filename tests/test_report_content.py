"""What the weekly report says, computed from an analysis (pure)."""

from __future__ import annotations

from datetime import date, timedelta

from daemon.core.agenda.model import ActionItem, Carried
from daemon.core.report.content import build_report, strip
from daemon.core.rules import analyze

from conftest import at, config, one_on_one

ADA = {"name": "Ada Lovelace", "email": "ada@example.com"}
GRACE = {"name": "Grace Hopper", "email": "grace@example.com"}
MONDAY = at("2026-11-23T08:00")
WEEKLY = "FREQ=WEEKLY;BYDAY=MO"


def ada_weekly(**kw):
    return one_on_one("ada", at("2026-01-05T10:00"), rrule=WEEKLY, **kw)


def grace_weekly(**kw):
    return one_on_one("grace", at("2026-01-06T11:00"), rrule="FREQ=WEEKLY;BYDAY=TU",
                      other="grace@example.com", **kw)


def report(events, people=(ADA, GRACE), **kw):
    cfg = config(people)
    return build_report(analyze(events, cfg, MONDAY), cfg, MONDAY, **kw)


def test_healthy_relationships_make_a_calm_subject():
    weekly = report([ada_weekly(), grace_weekly()])
    assert weekly.subject == "1:1s: all 2 on track (week 48)"
    assert weekly.attention == ()
    assert [c.kind for c in weekly.rows[0].strip] == ["held"] * 12


def test_open_gap_comes_first_with_days_cadence_and_a_next_step():
    ended = one_on_one("ada", at("2026-01-05T10:00"),
                       rrule="FREQ=WEEKLY;BYDAY=MO;UNTIL=20261026T235900Z")
    weekly = report([ended, grace_weekly()])
    assert weekly.subject == "1:1s: 1 needs attention, 1 on track (week 48)"
    [first] = weekly.attention
    assert first.name == "Ada Lovelace"
    assert first.reasons[0] == "No 1:1 for 28 days (cadence: weekly)"
    assert "Nothing booked" in first.reasons[1]
    assert first.next_step.startswith("Book a 1:1 with Ada this week.")
    assert [r.name for r in weekly.rows] == ["Ada Lovelace", "Grace Hopper"]
    assert [c.kind for c in weekly.rows[0].strip[-4:]] == ["held", "missed", "missed", "missed"]


def test_three_of_the_last_six_moved_or_shortened_needs_attention():
    moves = [one_on_one("ada", at(f"2026-11-{d}T15:00"), recurrence_id=at(f"2026-11-{d}T10:00"))
             for d in ("02", "09", "16")]
    weekly = report([ada_weekly(), *moves, grace_weekly()])
    [ada] = weekly.attention
    assert ada.reasons == ("3 of the last 6 1:1s were moved or cut short",)
    assert "Protect the slot" in ada.next_step
    assert [c.kind for c in weekly.rows[0].strip[-3:]] == ["moved"] * 3


def test_overdue_action_items_get_their_own_section_not_attention():
    # Attention is daemon.core.attention's (the calendar's flags); late action items are
    # listed, with the oldest, but a healthy rhythm stays on track.
    item = Carried(ActionItem(False, "send the promotion packet", "Ada", date(2026, 11, 13)),
                   first_seen=date(2026, 11, 2), carried=2, overdue=True)
    weekly = report([ada_weekly(), grace_weekly()], overdue={"ada@example.com": [item]})
    assert weekly.attention == ()
    assert weekly.subject == "1:1s: all 2 on track (week 48)"
    [late] = weekly.overdue
    assert (late.name, late.count, late.oldest) == (
        "Ada Lovelace", 1, "Ada: send the promotion packet, due 13 Nov")


def test_cancelled_week_and_a_missed_week_in_the_strip():
    weekly = report([ada_weekly(exdates=[at("2026-11-16T10:00")]), grace_weekly()])
    row = weekly.rows[0] if weekly.rows[0].person == "ada@example.com" else weekly.rows[1]
    assert row.strip[-1].kind == "cancelled"
    assert row.strip[-1].week_start == date(2026, 11, 16)
    assert row.held == 11 and row.expected == 12  # 12 Mondays planned from 31 Aug


def test_expected_follows_the_series_across_a_cadence_change():
    weekly_then = one_on_one("w", at("2026-01-05T10:00"),
                             rrule="FREQ=WEEKLY;BYDAY=MO;UNTIL=20260928T235900Z")
    biweekly = one_on_one("b", at("2026-10-05T10:00"), rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO")
    cfg = config([ADA])
    analysis = analyze([weekly_then, biweekly], cfg, MONDAY)
    [rel] = analysis.relationships
    weekly = build_report(analysis, cfg, MONDAY)
    [row] = weekly.rows
    assert row.expected == row.held  # every planned slot was held
    assert row.minutes_held == row.minutes_planned == 30 * row.held
    assert [c.kind for c in strip(rel, MONDAY, shortened=timedelta(minutes=5))[-4:]] == [
        "none", "held", "none", "held"]


def test_trend_compares_the_last_four_weeks_with_the_four_before():
    gaps = [at("2026-11-02T10:00"), at("2026-11-09T10:00")]
    weekly = report([ada_weekly(exdates=gaps), grace_weekly()])
    ada = next(r for r in weekly.rows if r.person == "ada@example.com")
    assert (ada.trend, ada.trend_text) == (
        "worse", "2 held in the last 4 weeks, 4 in the 4 weeks before")


def test_this_week_lists_booked_meetings_in_order():
    weekly = report([ada_weekly(), grace_weekly()])
    assert [(u.name, u.start) for u in weekly.this_week] == [
        ("Ada Lovelace", at("2026-11-23T10:00")), ("Grace Hopper", at("2026-11-24T11:00"))]
    assert weekly.this_week[0].end - weekly.this_week[0].start == timedelta(minutes=30)


def test_strip_uses_the_configured_shortened_minutes_like_the_rules():
    # 8 minutes short with shortened_minutes = 10: not "shortened" for the rules,
    # so not "cut short" in the strip either.
    cut = one_on_one("ada", at("2026-11-16T10:00"), 22, recurrence_id=at("2026-11-16T10:00"))
    cfg = config([ADA, GRACE], shortened_minutes=10)
    weekly = build_report(analyze([ada_weekly(), cut, grace_weekly()], cfg, MONDAY), cfg, MONDAY)
    ada = next(r for r in weekly.rows if r.person == "ada@example.com")
    assert ada.strip[-1].kind == "held"
    strict = config([ADA, GRACE], shortened_minutes=5)
    weekly = build_report(analyze([ada_weekly(), cut, grace_weekly()], strict, MONDAY), strict,
                          MONDAY)
    assert next(r for r in weekly.rows if r.person == "ada@example.com").strip[-1].kind == \
        "shortened"


def test_a_meeting_moved_into_another_week_is_drawn_in_the_week_it_was_held():
    # Monday 9 Nov's 1:1 was held on Tuesday 17 Nov: the cross belongs to the week of
    # 16 Nov (which had two), not to the week of 9 Nov (which had none).
    moved = one_on_one("ada", at("2026-11-17T10:00"), recurrence_id=at("2026-11-09T10:00"))
    weekly = report([ada_weekly(), moved, grace_weekly()])
    ada = next(r for r in weekly.rows if r.person == "ada@example.com")
    by_week = {c.week_start: c for c in ada.strip}
    assert by_week[date(2026, 11, 16)].kind == "moved"
    assert by_week[date(2026, 11, 16)].held == 2
    assert (by_week[date(2026, 11, 9)].kind, by_week[date(2026, 11, 9)].held) == ("missed", 0)
    assert sum(c.held for c in ada.strip) == ada.held == 12


def test_held_and_minutes_share_one_denominator():
    # One Monday cancelled, one cut to 15 minutes: 11 of the 12 planned slots held,
    # and the minutes count the same 12 slots: 10 x 30 + 15 of 12 x 30.
    cut = one_on_one("ada", at("2026-11-02T10:00"), 15, recurrence_id=at("2026-11-02T10:00"))
    weekly = report([ada_weekly(exdates=[at("2026-11-16T10:00")]), cut, grace_weekly()])
    ada = next(r for r in weekly.rows if r.person == "ada@example.com")
    assert (ada.held, ada.expected) == (11, 12)
    assert (ada.minutes_held, ada.minutes_planned) == (10 * 30 + 15, 12 * 30)


def test_a_configured_cadence_sets_the_denominator_with_the_meetings_own_length():
    # Weekly 45-minute meetings, a configured cadence of 14 days: the cadence expects
    # 6 in the 12 weeks, each as long as the meetings are planned.
    weekly = report([ada_weekly(minutes=45)], people=({**ADA, "cadence_days": 14},))
    [ada] = weekly.rows
    assert (ada.held, ada.expected, ada.minutes_planned) == (12, 6, 6 * 45)


def test_unknown_relationships_are_named_once_and_not_ranked():
    cfg = config([ADA, GRACE])
    analysis = analyze([], cfg, MONDAY, unread={"work": "HTTP 404 Not Found"})
    weekly = build_report(analysis, cfg, MONDAY)
    assert weekly.attention == () and weekly.rows == ()
    assert weekly.unknown == ("Ada Lovelace", "Grace Hopper")
    assert weekly.unknown_reason == "work has not been read (HTTP 404 Not Found)"
    assert weekly.subject == "1:1s: all 0 on track, 2 unknown (week 48)"


def test_a_listed_person_without_a_series_needs_attention_in_the_report():
    weekly = report([grace_weekly()])
    [ada] = weekly.attention
    assert ada.reasons[0] == "No 1:1 series found in your calendars"
    assert "cadence_days = 0" in ada.next_step
    weekly = report([grace_weekly()], people=({**ADA, "cadence_days": 0}, GRACE))
    assert weekly.attention == ()
