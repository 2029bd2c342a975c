"""ICS parsing against the calendars real clients export, and what the rules make of them.

Every test writes its ICS inline (CRLF line ends). Owner is me@example.com in
Europe/Berlin unless a test says otherwise. Analysis helpers parse each calendar
twice, with and without the cheap prefilter, and require the same result.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from connectors.ics.parse import Parsed, parse_calendar
from daemon.config import Config, parse_config
from daemon.core.detection import Directory, has_marker
from daemon.core.meetings import collect
from daemon.core.model import Event
from daemon.core.recurrence import planned_starts
from daemon.core.rules import Analysis, MissedCadence, OccurrenceFlag, Relationship, analyze

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")

OWNER = "me@example.com"
ADA = {"name": "Ada Lovelace", "email": "ada@example.com"}
GRACE = {"name": "Grace Hopper", "email": "grace@example.com"}

ORG_ME = "ORGANIZER;CN=Me:mailto:me@example.com"
ORG_ADA = "ORGANIZER;CN=Ada Lovelace:mailto:ada@example.com"
ME = "ATTENDEE;CN=Me;PARTSTAT=ACCEPTED:mailto:me@example.com"
WITH_ADA = "ATTENDEE;CN=Ada Lovelace;PARTSTAT=ACCEPTED:mailto:ada@example.com"
WITH_GRACE = "ATTENDEE;CN=Grace Hopper;PARTSTAT=ACCEPTED:mailto:grace@example.com"
ONE_ON_ONE_ADA = (ORG_ME, ME, WITH_ADA)


# --- building ICS text ------------------------------------------------------


def ics(*blocks: str, header: tuple[str, ...] = ()) -> str:
    """A VCALENDAR around the given blocks, CRLF line ends."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//cadenced tests//EN", *header]
    text = "\r\n".join(lines) + "\r\n"
    for block in blocks:
        text += block.rstrip("\r\n") + "\r\n"
    return text + "END:VCALENDAR\r\n"


def vevent(uid: str, *lines: str) -> str:
    return "\r\n".join(
        ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z", *lines, "END:VEVENT"]
    )


def vtimezone(tzid: str, *parts: tuple[str, str, str, str, str | None]) -> str:
    """A VTIMEZONE; each part is (kind, dtstart, offset_from, offset_to, rrule or None)."""
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}"]
    for kind, dtstart, offset_from, offset_to, rrule in parts:
        lines += [f"BEGIN:{kind}", f"DTSTART:{dtstart}", f"TZOFFSETFROM:{offset_from}",
                  f"TZOFFSETTO:{offset_to}"]
        if rrule:
            lines.append(f"RRULE:{rrule}")
        lines.append(f"END:{kind}")
    lines.append("END:VTIMEZONE")
    return "\r\n".join(lines)


def fixed_zone(tzid: str, offset: str) -> str:
    return vtimezone(tzid, ("STANDARD", "19700101T000000", offset, offset, None))


# How Outlook exports its zones: Windows names, rules anchored in 1601.
OUTLOOK_W_EUROPE = vtimezone(
    "W. Europe Standard Time",
    ("STANDARD", "16010101T030000", "+0200", "+0100",
     "FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10"),
    ("DAYLIGHT", "16010101T020000", "+0100", "+0200",
     "FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3"),
)
OUTLOOK_PACIFIC = vtimezone(
    "Pacific Standard Time",
    ("STANDARD", "16010101T020000", "-0700", "-0800",
     "FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11"),
    ("DAYLIGHT", "16010101T020000", "-0800", "-0700",
     "FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3"),
)


# --- configuration and analysis -----------------------------------------------


def make_config(*people: dict, timezone: str = "Europe/Berlin", aliases: tuple[str, ...] = (),
                **cadence: float) -> Config:
    data = {
        "owner": {"email": OWNER, "timezone": timezone, "aliases": list(aliases)},
        "people": list(people),
        "cadence": cadence,
    }
    return parse_config(data).config


def parse(text: str, *, source: str = "work", tz: ZoneInfo = BERLIN) -> Parsed:
    return parse_calendar(text, source=source, tz=tz)


def read(text: str, config: Config, *, source: str = "work") -> Parsed:
    """Parse as a scan does; the prefiltered parse must keep every event that matters."""
    full = parse_calendar(text, source=source, tz=config.owner.tz)
    directory = Directory.from_config(config)
    filtered = parse_calendar(text, source=source, tz=config.owner.tz, interest=directory)
    uids = {e.uid for e in full.events if directory.counterpart(e) is not None}
    assert {e for e in full.events if e.uid in uids} <= set(filtered.events)
    return full


def analyze_ics(text: str, config: Config, now: datetime, *, source: str = "work") -> Analysis:
    """Analyze one calendar, parsed with and without the prefilter: both must agree."""
    full = analyze(parse_calendar(text, source=source, tz=config.owner.tz).events, config, now)
    filtered = analyze(
        parse_calendar(text, source=source, tz=config.owner.tz,
                       interest=Directory.from_config(config)).events,
        config, now,
    )
    assert filtered.relationships == full.relationships
    assert filtered.warnings == full.warnings
    return full


def only(analysis: Analysis, email: str) -> Relationship:
    """The one relationship with meetings; anyone else listed has no series found."""
    assert [r.person for r in analysis.relationships if r.occurrences] == [email]
    assert all([f.kind for f in r.flags] == ["no_series"]
               for r in analysis.relationships if r.person != email)
    return next(r for r in analysis.relationships if r.person == email)


def flag_kinds(rel: Relationship) -> list[str]:
    return [f.kind for f in rel.flags]


def single(parsed: Parsed, uid: str) -> Event:
    found = [e for e in parsed.events if e.uid == uid]
    assert len(found) == 1, f"{uid}: {found}"
    return found[0]


# --- 1. Windows zone names (Outlook) ---------------------------------------------


@pytest.mark.parametrize(
    ("tzid_param", "local", "utc", "zone"),
    [
        ("W. Europe Standard Time", "20260115T100000", datetime(2026, 1, 15, 9, tzinfo=UTC),
         BERLIN),
        ("W. Europe Standard Time", "20260715T100000", datetime(2026, 7, 15, 8, tzinfo=UTC),
         BERLIN),
        ('"Pacific Standard Time"', "20260115T100000", datetime(2026, 1, 15, 18, tzinfo=UTC),
         LOS_ANGELES),
        ("Pacific Standard Time", "20260715T100000", datetime(2026, 7, 15, 17, tzinfo=UTC),
         LOS_ANGELES),
    ],
    ids=["w-europe-winter", "w-europe-summer", "pacific-quoted-winter", "pacific-summer"],
)
@pytest.mark.parametrize("with_vtimezone", [False, True], ids=["bare", "outlook-vtimezone"])
def test_windows_tzid_resolves_to_the_right_utc_instant(
    tzid_param: str, local: str, utc: datetime, zone: ZoneInfo, with_vtimezone: bool
) -> None:
    zones = (OUTLOOK_W_EUROPE, OUTLOOK_PACIFIC) if with_vtimezone else ()
    parsed = parse(ics(*zones, vevent(
        "outlook-1", f"DTSTART;TZID={tzid_param}:{local}",
        f"DTEND;TZID={tzid_param}:{local[:-4]}3000", "SUMMARY:Ada / Me",
    )), tz=TOKYO)
    assert parsed.warnings == ()
    event = single(parsed, "outlook-1")
    assert event.start == utc
    assert event.start.tzinfo == zone
    assert event.duration == timedelta(minutes=30)


@pytest.mark.parametrize("order", ["defined-first", "bare-first"])
def test_windows_tzid_is_resolved_by_zoneinfo_whatever_a_feeds_vtimezone_says(order: str) -> None:
    """A feed's (here: wrong) definition of a Windows zone neither wins nor leaks to other feeds.

    icalendar caches VTIMEZONEs process-wide by TZID, Windows names included.
    """
    event = vevent("w-1", "DTSTART;TZID=W. Europe Standard Time:20260715T100000",
                   "DURATION:PT30M")
    defined = ics(fixed_zone("W. Europe Standard Time", "+0500"), event)
    bare = ics(event)
    texts = [defined, bare] if order == "defined-first" else [bare, defined]
    for text in [*texts, texts[0]]:
        parsed = parse(text, tz=TOKYO)
        assert parsed.warnings == ()
        start = single(parsed, "w-1").start
        assert start == datetime(2026, 7, 15, 8, tzinfo=UTC)
        assert start.tzinfo == BERLIN


# --- 2. X-WR-TIMEZONE (Google) ---------------------------------------------------

GOOGLE_HEADER = ("CALSCALE:GREGORIAN", "METHOD:PUBLISH", "X-WR-CALNAME:me@example.com",
                 "X-WR-TIMEZONE:America/New_York")


def test_x_wr_timezone_keeps_the_instant_of_utc_times() -> None:
    parsed = parse(ics(
        vevent("g-single", "DTSTART:20260115T150000Z", "DTEND:20260115T153000Z",
               "SUMMARY:Ada / Me"),
        header=GOOGLE_HEADER,
    ))
    assert parsed.warnings == ()
    event = single(parsed, "g-single")
    assert event.start == datetime(2026, 1, 15, 15, tzinfo=UTC)
    assert event.start.astimezone(NEW_YORK).time() == time(10)
    assert event.duration == timedelta(minutes=30)


def test_x_wr_timezone_series_keeps_new_york_wall_time_across_us_dst() -> None:
    """A Google series exported with UTC times keeps 10:00 New York, not 15:00 UTC."""
    parsed = parse(ics(
        vevent("g-weekly", "DTSTART:20260223T150000Z", "DTEND:20260223T153000Z",
               "RRULE:FREQ=WEEKLY;BYDAY=MO", "SUMMARY:Ada / Me", *ONE_ON_ONE_ADA),
        header=GOOGLE_HEADER,
    ))
    master = single(parsed, "g-weekly")
    assert master.is_master
    starts = planned_starts(master, datetime(2026, 2, 1, tzinfo=UTC),
                            datetime(2026, 11, 30, tzinfo=UTC))
    assert len(starts) == 40
    assert {s.astimezone(NEW_YORK).time() for s in starts} == {time(10)}
    # US DST (8 March, 1 November 2026) moved the UTC time, twice.
    by_date = {s.astimezone(NEW_YORK).date().isoformat(): s.astimezone(UTC).hour for s in starts}
    assert (by_date["2026-03-02"], by_date["2026-03-09"]) == (15, 14)
    assert (by_date["2026-10-26"], by_date["2026-11-02"]) == (14, 15)


def test_x_wr_timezone_series_is_not_flagged_rescheduled_across_dst() -> None:
    config = make_config(ADA, timezone="America/New_York", lookback_days=120)
    analysis = analyze_ics(ics(
        vevent("g-weekly", "DTSTART:20260223T150000Z", "DTEND:20260223T153000Z",
               "RRULE:FREQ=WEEKLY;BYDAY=MO", "SUMMARY:Ada / Me", *ONE_ON_ONE_ADA),
        header=GOOGLE_HEADER,
    ), config, datetime(2026, 4, 20, 18, tzinfo=UTC))
    rel = only(analysis, "ada@example.com")
    assert rel.flags == ()
    assert rel.counts["held"] == 9


# --- 3. floating times -------------------------------------------------------------


def test_floating_time_is_read_in_the_owners_zone() -> None:
    text = ics(vevent("float-1", "DTSTART:20260115T100000", "DTEND:20260115T110000",
                      "SUMMARY:Ada / Me"))
    event = single(parse(text, tz=TOKYO), "float-1")
    assert event.start.utcoffset() == timedelta(hours=9)
    assert event.start == datetime(2026, 1, 15, 1, tzinfo=UTC)
    assert event.end.utcoffset() == timedelta(hours=9)
    assert not event.all_day
    # The same text read for a Berlin owner is another instant.
    assert single(parse(text, tz=BERLIN), "float-1").start == datetime(2026, 1, 15, 9, tzinfo=UTC)


# --- 4. custom VTIMEZONEs ----------------------------------------------------------

FEED_PLUS_3 = ics(fixed_zone("Custom Zone", "+0300"),
                  vevent("plus-3", "DTSTART;TZID=Custom Zone:20260115T100000", "DURATION:PT1H"))
FEED_MINUS_5 = ics(fixed_zone("Custom Zone", "-0500"),
                   vevent("minus-5", 'DTSTART;TZID="Custom Zone":20260115T100000',
                          "DURATION:PT1H"))
CUSTOM = {"plus-3": (FEED_PLUS_3, timedelta(hours=3)),
          "minus-5": (FEED_MINUS_5, timedelta(hours=-5))}


@pytest.mark.parametrize("order", [("plus-3", "minus-5"), ("minus-5", "plus-3")],
                         ids=["plus-first", "minus-first"])
def test_custom_vtimezones_with_the_same_tzid_do_not_bleed_between_feeds(
    order: tuple[str, str],
) -> None:
    first, second = order
    for uid in (first, second, first, second):
        text, offset = CUSTOM[uid]
        parsed = parse(text)
        assert parsed.warnings == ()
        event = single(parsed, uid)
        assert event.start.utcoffset() == offset
        assert event.start == datetime(2026, 1, 15, 10, tzinfo=UTC) - offset


def test_custom_vtimezone_applies_to_exdate_and_recurrence_id() -> None:
    config = make_config(ADA)
    text = ics(
        fixed_zone("Custom Zone", "+0300"),
        vevent("custom-series", "DTSTART;TZID=Custom Zone:20260105T100000",
               "DTEND;TZID=Custom Zone:20260105T103000", "RRULE:FREQ=WEEKLY;COUNT=4",
               "EXDATE;TZID=Custom Zone:20260112T100000", *ONE_ON_ONE_ADA),
        vevent("custom-series", "RECURRENCE-ID;TZID=Custom Zone:20260119T100000",
               "DTSTART;TZID=Custom Zone:20260119T100000",
               "DTEND;TZID=Custom Zone:20260119T103000", *ONE_ON_ONE_ADA),
    )
    parsed = read(text, config)
    assert parsed.warnings == ()
    master = next(e for e in parsed.events if e.is_master)
    assert master.recurrence is not None
    assert master.recurrence.exdates == (datetime(2026, 1, 12, 7, tzinfo=UTC),)
    override = next(e for e in parsed.events if e.is_override)
    assert override.recurrence_id == datetime(2026, 1, 19, 7, tzinfo=UTC)
    rel = only(analyze_ics(text, config, datetime(2026, 2, 10, tzinfo=UTC)), "ada@example.com")
    assert [(o.start.astimezone(UTC).hour, o.cancelled) for o in rel.occurrences] == [
        (7, False), (7, True), (7, False), (7, False)]
    assert flag_kinds(rel).count("rescheduled") == 0


@pytest.mark.parametrize(
    ("tzid", "reference"),
    [
        ("(UTC+03:00) Custom", '"(UTC+03:00) Custom"'),
        ("(UTC+03:00) Nairobi\\, Custom", '"(UTC+03:00) Nairobi, Custom"'),
    ],
    ids=["colon", "colon-and-comma"],
)
def test_custom_tzid_with_colon_and_comma_is_resolved(tzid: str, reference: str) -> None:
    """Outlook names zones like "(UTC+01:00) Amsterdam, Berlin, ..."."""
    parsed = parse(ics(fixed_zone(tzid, "+0300"),
                       vevent("colon-1", f"DTSTART;TZID={reference}:20260115T100000",
                              "DURATION:PT1H")))
    assert parsed.warnings == ()
    assert single(parsed, "colon-1").start.utcoffset() == timedelta(hours=3)


def test_custom_tzid_in_a_folded_line_is_resolved() -> None:
    name = "Customized Time Zone for the Nairobi office of Example Corporation"
    dtstart = f'DTSTART;TZID="{name}":20260115T100000'
    folded = dtstart[:60] + "\r\n " + dtstart[60:]
    zone = fixed_zone(name, "+0300").replace(f"TZID:{name}", f"TZID:{name[:40]}\r\n {name[40:]}")
    parsed = parse(ics(zone, vevent("folded-1", folded, "DURATION:PT1H")))
    assert parsed.warnings == ()
    assert single(parsed, "folded-1").start.utcoffset() == timedelta(hours=3)


# Without a VTIMEZONE, icalendar guesses a vendor-prefixed TZID and says so.
@pytest.mark.filterwarnings("ignore:Timezone .* is a globally unique TZID")
@pytest.mark.parametrize("tzid", ["Europe/Berlin", "/Europe/Berlin",
                                  "/mozilla.org/20050126_1/Europe/Berlin"])
def test_iana_named_tzid_with_vtimezone_is_resolved_via_zoneinfo(tzid: str) -> None:
    """The IANA zone wins over the feed's (wrong, +05:00) definition, in every feed."""
    event = vevent("iana-1", f"DTSTART;TZID={tzid}:20260715T100000", "DURATION:PT1H")
    for text in (ics(fixed_zone(tzid, "+0500"), event), ics(event)):
        parsed = parse(text, tz=TOKYO)
        assert parsed.warnings == ()
        start = single(parsed, "iana-1").start
        assert start.tzinfo == BERLIN
        assert start == datetime(2026, 7, 15, 8, tzinfo=UTC)


# --- 5. EU and US DST on different dates ---------------------------------------------

# 2026: US DST starts 8 March, EU 29 March; EU ends 25 October, US 1 November.
DST_NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _dst_series(zone: str, overrides: list[tuple[str, str, str]]) -> str:
    """Weekly Monday 10:00-10:30 in ``zone`` from 2 March 2026, organized by Ada.

    ``overrides`` are (RECURRENCE-ID, DTSTART, DTEND) property suffixes of instances
    that only restate their time, as Google writes them (in UTC or another zone).
    """
    blocks = [vevent("dst-weekly", f"DTSTART;TZID={zone}:20260302T100000",
                     f"DTEND;TZID={zone}:20260302T103000", "RRULE:FREQ=WEEKLY;BYDAY=MO",
                     "SUMMARY:Ada / Me", ORG_ADA, ME, WITH_ADA)]
    for rid, start, end in overrides:
        blocks.append(vevent(
            "dst-weekly", f"RECURRENCE-ID{rid}", f"DTSTART{start}", f"DTEND{end}",
            "SUMMARY:Ada / Me", "DESCRIPTION:agenda added", ORG_ADA, ME, WITH_ADA,
        ))
    return ics(*blocks)


@pytest.mark.parametrize(
    ("zone", "owner_zone", "overrides"),
    [
        pytest.param(
            "Europe/Berlin", "America/New_York",
            # 16 March: Berlin still CET, New York already EDT; 26 October the reverse.
            [(":20260316T090000Z", ":20260316T090000Z", ":20260316T093000Z"),
             (";TZID=America/New_York:20261026T050000", ";TZID=America/New_York:20261026T050000",
              ";TZID=America/New_York:20261026T053000")],
            id="berlin-series-new-york-owner",
        ),
        pytest.param(
            "America/New_York", "Europe/Berlin",
            [(":20260316T140000Z", ":20260316T140000Z", ":20260316T143000Z"),
             (";TZID=Europe/Berlin:20261026T150000", ";TZID=Europe/Berlin:20261026T150000",
              ";TZID=Europe/Berlin:20261026T153000")],
            id="new-york-series-berlin-owner",
        ),
    ],
)
def test_dst_weeks_keep_organizer_wall_time_and_are_not_rescheduled(
    zone: str, owner_zone: str, overrides: list[tuple[str, str, str]]
) -> None:
    config = make_config(ADA, timezone=owner_zone, lookback_days=300)
    text = _dst_series(zone, overrides)
    parsed = read(text, config)
    assert parsed.warnings == ()
    master = next(e for e in parsed.events if e.is_master)
    starts = planned_starts(master, datetime(2026, 3, 1, tzinfo=UTC), DST_NOW)
    organizer_zone = ZoneInfo(zone)
    assert {s.astimezone(organizer_zone).time() for s in starts} == {time(10)}
    # The owner sees the meeting move by an hour in the weeks the two zones disagree.
    owner_times = {s.astimezone(ZoneInfo(owner_zone)).time() for s in starts}
    assert len(owner_times) == 2

    analysis = analyze_ics(text, config, DST_NOW)
    assert analysis.warnings == ()
    rel = only(analysis, "ada@example.com")
    assert "rescheduled" not in flag_kinds(rel)
    assert rel.flags == ()
    assert rel.counts["rescheduled"] == 0
    assert rel.counts["held"] == len([s for s in starts if s <= DST_NOW]) == 38
    assert {o.start.astimezone(organizer_zone).time() for o in rel.occurrences} == {time(10)}
    assert rel.expected_interval_days == 7


# --- 6. malformed events -------------------------------------------------------------

GOOD_BEFORE = vevent("good-series", "DTSTART;TZID=Europe/Berlin:20260105T100000",
                     "DTEND;TZID=Europe/Berlin:20260105T103000", "RRULE:FREQ=WEEKLY",
                     "SUMMARY:Grace / Me", ORG_ME, ME, WITH_GRACE)
GOOD_AFTER = vevent("good-single", "DTSTART;TZID=Europe/Berlin:20260204T100000",
                    "DTEND;TZID=Europe/Berlin:20260204T103000", "SUMMARY:Ada / Me",
                    *ONE_ON_ONE_ADA)
SLOT = ("DTSTART;TZID=Europe/Berlin:20260106T150000", "DTEND;TZID=Europe/Berlin:20260106T153000")


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("uid", "lines", "reason", "at"),
    [
        ("no-dtstart", ["DTEND;TZID=Europe/Berlin:20260106T153000"], "no DTSTART", "parse"),
        ("end-before-start", ["DTSTART;TZID=Europe/Berlin:20260106T150000",
                              "DTEND;TZID=Europe/Berlin:20260106T140000"],
         "ends before it starts", "parse"),
        ("garbage-dtstart", ["DTSTART:next tuesday", "DTEND:20260106T153000Z"],
         "DTSTART is not a date or time", "parse"),
        ("interval-zero", [*SLOT, "RRULE:FREQ=WEEKLY;INTERVAL=0"], "INTERVAL=0", "analysis"),
        ("bymonth-13", [*SLOT, "RRULE:FREQ=YEARLY;BYMONTH=13"], "BYMONTH=13", "analysis"),
        ("freq-bogus", [*SLOT, "RRULE:FREQ=BOGUS"], "FREQ", "analysis"),
    ],
)
def test_malformed_event_is_skipped_with_a_warning_and_the_rest_is_read(
    uid: str, lines: list[str], reason: str, at: str
) -> None:
    config = make_config(ADA, GRACE)
    bad = vevent(uid, *lines, "SUMMARY:Ada / Me", *ONE_ON_ONE_ADA)
    text = ics(GOOD_BEFORE, bad, GOOD_AFTER)
    parsed = read(text, config, source="work")
    uids = {e.uid for e in parsed.events}
    assert {"good-series", "good-single"} <= uids
    analysis = analyze_ics(text, config, datetime(2026, 2, 10, tzinfo=UTC))
    warnings = parsed.warnings if at == "parse" else analysis.warnings
    assert len(warnings) == 1, warnings
    assert "source 'work'" in warnings[0]
    assert uid in warnings[0]
    assert reason in warnings[0]
    if at == "parse":
        assert uid not in uids and analysis.warnings == ()
    else:
        assert parsed.warnings == ()
    # The good series is still analysed; the bad series made no relationship.
    grace = next(r for r in analysis.relationships if r.person == "grace@example.com")
    assert grace.counts["held"] == 6
    assert all(o.uid != uid for r in analysis.relationships for o in r.occurrences)


def test_garbage_last_modified_does_not_skip_the_event() -> None:
    parsed = parse(ics(vevent("bad-modified", *SLOT, "LAST-MODIFIED:yesterday",
                              "SEQUENCE:many", *ONE_ON_ONE_ADA)))
    assert parsed.warnings == ()
    event = single(parsed, "bad-modified")
    assert event.last_modified is None and event.sequence == 0


def test_unparsable_block_does_not_lose_the_custom_timezone_of_the_others() -> None:
    """A block icalendar refuses sends the file down the one-by-one path: zones must follow."""
    parsed = parse(ics(
        fixed_zone("Custom Zone", "+0300"),
        vevent("custom-good", "DTSTART;TZID=Custom Zone:20260115T100000", "DURATION:PT1H"),
        vevent("stray-end", "DTSTART:20260115T100000Z", "END:VALARM"),
    ))
    assert single(parsed, "custom-good").start.utcoffset() == timedelta(hours=3)
    assert len(parsed.warnings) == 1
    assert "source 'work'" in parsed.warnings[0] and "stray-end" in parsed.warnings[0]


# --- 7. an override without its master -------------------------------------------------


def test_override_without_master_is_a_one_off_meeting() -> None:
    """The owner was invited to one instance only: the file holds just that override."""
    config = make_config(ADA | {"cadence_days": 14})
    text = ics(vevent(
        "series-of-someone-else", "RECURRENCE-ID;TZID=Europe/Berlin:20260302T100000",
        "DTSTART;TZID=Europe/Berlin:20260302T100000", "DTEND;TZID=Europe/Berlin:20260302T103000",
        "SUMMARY:Ada / Me", ORG_ADA, ME, WITH_ADA,
    ))
    parsed = read(text, config)
    assert parsed.warnings == ()
    event = single(parsed, "series-of-someone-else")
    assert event.is_override and not event.is_master

    warnings: list[str] = []
    found = collect(parsed.events, Directory.from_config(config),
                    range_start=datetime(2026, 1, 1, tzinfo=UTC),
                    range_end=datetime(2026, 6, 1, tzinfo=UTC), warnings=warnings)
    assert warnings == []
    ada = found["ada@example.com"]
    assert ada.series == []
    assert [(o.start, o.recurring) for o in ada.singles] == [
        (datetime(2026, 3, 2, 9, tzinfo=UTC), False)]

    analysis = analyze_ics(text, config, datetime(2026, 3, 10, tzinfo=UTC))
    assert analysis.warnings == ()
    rel = only(analysis, "ada@example.com")
    assert rel.counts["held"] == 1
    assert rel.last_held == datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert "rescheduled" not in flag_kinds(rel)


# --- 8. overrides that change only the title ---------------------------------------------


def test_override_changing_only_the_title_stays_in_the_series() -> None:
    config = make_config(ADA, GRACE)
    text = ics(
        vevent("retitled", "DTSTART;TZID=Europe/Berlin:20260105T100000",
               "DTEND;TZID=Europe/Berlin:20260105T103000", "RRULE:FREQ=WEEKLY",
               "SUMMARY:Ada / Me", *ONE_ON_ONE_ADA),
        vevent("retitled", "RECURRENCE-ID;TZID=Europe/Berlin:20260119T100000",
               "DTSTART;TZID=Europe/Berlin:20260119T100000",
               "DTEND;TZID=Europe/Berlin:20260119T103000",
               "SUMMARY:Ada / Me - Grace Hopper handover", "SEQUENCE:1", *ONE_ON_ONE_ADA),
    )
    rel = only(analyze_ics(text, config, datetime(2026, 2, 10, tzinfo=UTC)), "ada@example.com")
    assert len(rel.series) == 1
    assert rel.flags == ()
    moved = [o for o in rel.occurrences if o.original_start == datetime(2026, 1, 19, 9, tzinfo=UTC)]
    assert [(o.summary, o.recurring, o.start == o.original_start) for o in moved] == [
        ("Ada / Me - Grace Hopper handover", True, True)]
    assert rel.counts["held"] == 6


# --- 9. rooms -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "room",
    [
        "ATTENDEE;CUTYPE=ROOM;CN=Room 1.01;PARTSTAT=ACCEPTED:mailto:room-101@example.com",
        'ATTENDEE;CUTYPE="RESOURCE";CN=Beamer:mailto:beamer@example.com',
        "ATTENDEE;CN=Berlin-3-Turing (6);PARTSTAT=ACCEPTED:"
        "mailto:c_1884abc@resource.calendar.google.com",
    ],
    ids=["cutype-room", "cutype-resource", "google-resource-address"],
)
def test_room_attendee_does_not_count_as_a_person(room: str) -> None:
    config = make_config(ADA)
    parsed = read(ics(vevent("room-1", *SLOT, "SUMMARY:Ada / Me", ORG_ME, ME, WITH_ADA, room)),
                  config)
    assert Directory.from_config(config).counterpart(single(parsed, "room-1")) == (
        "ada@example.com")


# --- 10. aliases and letter case -----------------------------------------------------------


@pytest.mark.parametrize(
    ("organizer", "attendee"),
    [
        ("ORGANIZER:mailto:ME@Example.COM", "ATTENDEE:mailto:ada@example.com"),
        ("ORGANIZER;CN=Me:mailto:me.alt@example.org", "ATTENDEE:mailto:ada@example.com"),
        ("ORGANIZER:mailto:me@example.com", "ATTENDEE;CN=Ada:mailto:Ada@Personal.Example"),
        ("ORGANIZER:MAILTO:me@example.com", "ATTENDEE:MAILTO:ADA@EXAMPLE.COM"),
        ("ORGANIZER:MailTo:ME.ALT@EXAMPLE.ORG", "ATTENDEE:mailto:ada@personal.example"),
    ],
    ids=["owner-case", "owner-alias", "person-alias", "uppercase-mailto", "alias-and-case"],
)
def test_aliases_and_letter_case_match(organizer: str, attendee: str) -> None:
    config = make_config(ADA | {"aliases": ["Ada L", "ada@personal.example"]},
                         aliases=("me.alt@example.org",))
    parsed = read(ics(vevent("alias-1", *SLOT, "SUMMARY:catch-up", organizer, attendee)), config)
    assert Directory.from_config(config).counterpart(single(parsed, "alias-1")) == (
        "ada@example.com")


def test_person_with_primary_and_alias_address_is_still_one_person() -> None:
    config = make_config(ADA | {"aliases": ["ada@personal.example"]})
    parsed = read(ics(vevent("alias-2", *SLOT, "SUMMARY:catch-up", ORG_ME, WITH_ADA,
                             "ATTENDEE:mailto:ada@personal.example")), config)
    assert Directory.from_config(config).counterpart(single(parsed, "alias-2")) == (
        "ada@example.com")


def test_alias_series_counts_for_the_primary_person() -> None:
    config = make_config(ADA | {"aliases": ["ada@personal.example"]})
    text = ics(vevent("alias-series", "DTSTART;TZID=Europe/Berlin:20260105T100000",
                      "DTEND;TZID=Europe/Berlin:20260105T103000", "RRULE:FREQ=WEEKLY",
                      "ORGANIZER:MAILTO:ME@EXAMPLE.COM", "ATTENDEE:mailto:Ada@Personal.Example"))
    rel = only(analyze_ics(text, config, datetime(2026, 2, 10, tzinfo=UTC)), "ada@example.com")
    assert rel.name == "Ada Lovelace"


# --- 11. title-only 1:1s -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("1:1 Ada", "ada@example.com"),
        ("1:1 Ada Lovelace", "ada@example.com"),
        ("Ada 1-1", "ada@example.com"),
        ("1on1 with Ada", "ada@example.com"),
        ("One on One with Ada", "ada@example.com"),
        ("One on One: Ada", "ada@example.com"),
        ("Ada one-on-one", "ada@example.com"),
        ("Ada / Grace 1:1", None),
        ("Ada sync", None),
        ("11:15 standup Ada", None),
        ("1:1 Charles", None),
    ],
)
@pytest.mark.parametrize("participants", [(), (ORG_ME,)], ids=["nobody", "owner-only"])
def test_title_only_one_on_one(title: str, expected: str | None,
                               participants: tuple[str, ...]) -> None:
    config = make_config(ADA, GRACE)
    parsed = read(ics(vevent("title-1", *SLOT, f"SUMMARY:{title}", *participants)), config)
    assert Directory.from_config(config).counterpart(single(parsed, "title-1")) == expected


@pytest.mark.parametrize(
    "title", ["1:1", "1-1", "1on1", "1 on 1", "One on One", "one-on-one", "1:1s",
              "Weekly 1:1: Ada", "[1-1] Ada"],
)
def test_has_marker_accepts(title: str) -> None:
    assert has_marker(title)


@pytest.mark.parametrize(
    "title", ["11:15 standup", "standup 10:1", "2021-1-15 review", "1:10 Ada", "1:1:30 drill",
              "Ada sync", "11 on 12", "someone"],
)
def test_has_marker_rejects(title: str) -> None:
    assert not has_marker(title)


# --- 12. the same series in two feeds ----------------------------------------------------------


def test_same_series_in_two_feeds_counts_once() -> None:
    config = make_config(ADA)
    text = ics(
        vevent("shared-series", "DTSTART;TZID=Europe/Berlin:20260105T100000",
               "DTEND;TZID=Europe/Berlin:20260105T103000", "RRULE:FREQ=WEEKLY",
               "EXDATE;TZID=Europe/Berlin:20260119T100000", *ONE_ON_ONE_ADA),
        vevent("shared-series", "RECURRENCE-ID;TZID=Europe/Berlin:20260126T100000",
               "DTSTART;TZID=Europe/Berlin:20260127T100000",
               "DTEND;TZID=Europe/Berlin:20260127T103000", *ONE_ON_ONE_ADA),
        vevent("shared-single", "DTSTART;TZID=Europe/Berlin:20260204T150000",
               "DTEND;TZID=Europe/Berlin:20260204T153000", *ONE_ON_ONE_ADA),
    )
    now = datetime(2026, 2, 10, tzinfo=UTC)
    work = read(text, config, source="work").events
    personal = read(text, config, source="personal").events
    alone = only(analyze(work, config, now), "ada@example.com")
    both = only(analyze(work + personal, config, now), "ada@example.com")
    assert both.counts == alone.counts == {
        "held": 6, "rescheduled": 1, "shortened": 0, "cancelled": 1, "declined": 0}
    assert len(both.series) == 1
    assert [o.key for o in both.occurrences] == [o.key for o in alone.occurrences]
    assert both.flags == alone.flags
    # The order of the feeds does not matter either.
    assert only(analyze(personal + work, config, now), "ada@example.com").counts == alone.counts


# --- 13. all-day events ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "lines",
    [
        ("DTSTART;VALUE=DATE:20260302", "DTEND;VALUE=DATE:20260303", "SUMMARY:Ada / Me",
         *ONE_ON_ONE_ADA),
        ("DTSTART;VALUE=DATE:20260302", "SUMMARY:1:1 Ada"),
        ("DTSTART;VALUE=DATE:20260302", "DTEND;VALUE=DATE:20260303", "RRULE:FREQ=WEEKLY",
         "SUMMARY:1:1 Ada", *ONE_ON_ONE_ADA),
    ],
    ids=["with-participants", "title-only", "weekly-series"],
)
def test_all_day_event_is_never_a_one_on_one(lines: tuple[str, ...]) -> None:
    config = make_config(ADA)
    text = ics(vevent("all-day", *lines))
    event = single(parse(text), "all-day")
    assert event.all_day
    assert event.start == datetime(2026, 3, 2, tzinfo=BERLIN)
    assert Directory.from_config(config).counterpart(event) is None
    (rel,) = analyze_ics(text, config, datetime(2026, 3, 20, tzinfo=UTC)).relationships
    assert (rel.occurrences, [f.kind for f in rel.flags]) == ((), ["no_series"])


# --- 14. EXDATE and an override for the same slot ----------------------------------------------


def test_override_wins_over_exdate_for_the_same_slot() -> None:
    """Some clients add an EXDATE for a moved instance and also export the override."""
    config = make_config(ADA)
    text = ics(
        vevent("moved", "DTSTART;TZID=Europe/Berlin:20260105T100000",
               "DTEND;TZID=Europe/Berlin:20260105T103000", "RRULE:FREQ=WEEKLY",
               "EXDATE;TZID=Europe/Berlin:20260119T100000,20260126T100000", *ONE_ON_ONE_ADA),
        vevent("moved", "RECURRENCE-ID;TZID=Europe/Berlin:20260119T100000",
               "DTSTART;TZID=Europe/Berlin:20260120T140000",
               "DTEND;TZID=Europe/Berlin:20260120T143000", *ONE_ON_ONE_ADA),
    )
    rel = only(analyze_ics(text, config, datetime(2026, 2, 10, tzinfo=UTC)), "ada@example.com")
    by_slot = {o.original_start: o for o in rel.occurrences}
    moved = by_slot[datetime(2026, 1, 19, 9, tzinfo=UTC)]
    assert not moved.cancelled
    assert moved.start == datetime(2026, 1, 20, 13, tzinfo=UTC)
    assert by_slot[datetime(2026, 1, 26, 9, tzinfo=UTC)].cancelled  # EXDATE alone: cancelled
    kinds = {(f.kind, f.occurrence.original_start) for f in rel.flags
             if isinstance(f, OccurrenceFlag)}
    assert kinds == {("rescheduled", datetime(2026, 1, 19, 9, tzinfo=UTC)),
                     ("cancelled", datetime(2026, 1, 26, 9, tzinfo=UTC))}


# --- 15. group meetings inside a gap ---------------------------------------------------------


@pytest.mark.parametrize("with_grace", [True, False], ids=["group", "one-on-one"])
def test_group_meetings_inside_a_gap_do_not_close_it(with_grace: bool) -> None:
    config = make_config(ADA, GRACE)
    gap_meetings = [
        vevent(f"in-gap-{day}", f"DTSTART;TZID=Europe/Berlin:202602{day}T110000",
               f"DTEND;TZID=Europe/Berlin:202602{day}T120000", "SUMMARY:Ada / Grace / Me",
               *ONE_ON_ONE_ADA, *((WITH_GRACE,) if with_grace else ()))
        for day in ("03", "10", "17")
    ]
    text = ics(
        vevent("ada-weekly", "DTSTART;TZID=Europe/Berlin:20260105T100000",
               "DTEND;TZID=Europe/Berlin:20260105T103000", "RRULE:FREQ=WEEKLY",
               "EXDATE;TZID=Europe/Berlin:20260202T100000,20260209T100000,20260216T100000",
               *ONE_ON_ONE_ADA),
        *gap_meetings,
    )
    analysis = analyze_ics(text, config, datetime(2026, 3, 10, tzinfo=UTC))
    rel = only(analysis, "ada@example.com")
    missed = [f for f in rel.flags if isinstance(f, MissedCadence)]
    if with_grace:
        assert missed == [MissedCadence(
            since=datetime(2026, 1, 26, 9, tzinfo=UTC), until=datetime(2026, 2, 23, 9, tzinfo=UTC),
            gap_days=28.0, expected_interval_days=7.0)]
        assert not any(o.uid.startswith("in-gap") for o in rel.occurrences)
    else:  # the same meetings as 1:1s do close it: the test above is not vacuous
        assert missed == []
        assert sum(o.uid.startswith("in-gap") for o in rel.occurrences) == 3
