"""Write-back to CalDAV against a real Radicale: the agenda link goes into the series
master of the 1:1s the owner organizes, with If-Match, and nothing else changes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from caldavserver import PASSWORD, USER

from connectors.base import AgendaLink
from connectors.caldav.source import CaldavCalendar
from connectors.caldav.writeback import plan
from daemon.config import parse_config

from conftest import BERLIN

OWNER = "me@example.com"
ADA = "ada@example.com"
LINK = AgendaLink("https://docs.google.com/document/d/ada-doc/edit", "1:1 agenda: Ada",
                  document_id="ada-doc")
OWNERS = frozenset({OWNER, "me@old.example.com"})

SERIES = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Other Client//EN\r\n"
    "BEGIN:VEVENT\r\nUID:ada-weekly\r\nDTSTAMP:20261001T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20261005T100000\r\nDTEND;TZID=Europe/Berlin:20261005T103000\r\n"
    "RRULE:FREQ=WEEKLY;BYDAY=MO\r\nSUMMARY:Ada / me\r\n"
    "DESCRIPTION;LANGUAGE=en:Our weekly\\, as agreed.\\nBring notes.\r\n"
    "ORGANIZER;CN=Me:mailto:{organizer}\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED;X-NUM-GUESTS=0:mailto:me@example.com\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED;CN=\"Ada L.\":mailto:ada@example.com\r\n"
    "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC\r\nX-MOZ-GENERATION:3\r\n"
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT10M\r\n"
    "X-WR-ALARMUID:alarm-1\r\nEND:VALARM\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:ada-weekly\r\nDTSTAMP:20261001T000000Z\r\n"
    "RECURRENCE-ID;TZID=Europe/Berlin:20261012T100000\r\n"
    "DTSTART;TZID=Europe/Berlin:20261013T110000\r\nDTEND;TZID=Europe/Berlin:20261013T113000\r\n"
    "SUMMARY:Ada / me (moved)\r\nORGANIZER;CN=Me:mailto:{organizer}\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:ada@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def series(organizer=OWNER):
    return SERIES.replace("{organizer}", organizer)


def make_source(radicale, tmp_path, **extra):
    source = {"name": "dav", "type": "caldav", "url": radicale.url("/"), "username": USER,
              "password_command": f"echo {PASSWORD}", "write_back": True, **extra}
    config = parse_config({"owner": {"email": OWNER, "aliases": ["me@old.example.com"],
                                     "timezone": "Europe/Berlin"},
                           "sources": [source]}).config
    calendar = CaldavCalendar(config.sources[0], cache_dir=tmp_path / "cache",
                              owner=config.owner.addresses)
    calendar.read(tz=BERLIN, interest=None)
    return calendar


def puts(radicale, since=0):
    return [r for r in radicale.requests[since:] if r.method == "PUT"]


# --- the plan (pure) ---------------------------------------------------------------


def test_the_plan_adds_lines_to_the_master_only_and_keeps_every_other_byte():
    new = plan(series(), OWNERS, LINK)
    assert new is not None
    before = series().split("\r\n")
    after = new.split("\r\n")
    changed = [line for line in before if line not in after]
    assert changed == ["DESCRIPTION;LANGUAGE=en:Our weekly\\, as agreed.\\nBring notes."]
    added = [line for line in after if line not in before]
    assert added[0].startswith("DESCRIPTION;LANGUAGE=en:Our weekly\\, as agreed.\\nBring notes")
    assert "URL:https://docs.google.com/document/d/ada-doc/edit" in added
    assert "X-CADENCED-AGENDA:https://docs.google.com/document/d/ada-doc/edit" in added
    # the new lines come before the VALARM, in the master, not in the override
    master_end = after.index("BEGIN:VALARM")
    assert all(after.index(line) < master_end for line in added)
    assert new.count("\r\n") >= series().count("\r\n") and "\n" not in new.replace("\r\n", "")


def test_the_plan_is_idempotent_and_does_not_put_back_a_removed_line():
    once = plan(series(), OWNERS, LINK)
    assert plan(once, OWNERS, LINK) is None
    original = "DESCRIPTION;LANGUAGE=en:Our weekly\\, as agreed.\\nBring notes.\r\n"
    removed = re.sub(r"DESCRIPTION;LANGUAGE=en:.*?\r\n(?! )", lambda m: original, once,
                     count=1, flags=re.DOTALL)
    assert "1:1 agenda:" not in removed.split("X-CADENCED-LINE")[0]  # the owner took it out
    assert plan(removed, OWNERS, LINK) is None


def test_the_plan_replaces_its_own_older_link_and_never_touches_other_organizers():
    once = plan(series(), OWNERS, LINK)
    moved = AgendaLink("https://docs.google.com/document/d/new-doc/edit", "x", document_id="n")
    twice = plan(once, OWNERS, moved)
    assert "ada-doc" not in twice and twice.count("1:1 agenda:") == 1
    assert plan(series("boss@example.com"), OWNERS, LINK) is None
    assert plan(series("ME@OLD.example.com"), OWNERS, LINK) is not None  # an alias


def test_send_updates_all_raises_the_sequence_and_none_keeps_it():
    assert "SEQUENCE" not in plan(series(), OWNERS, LINK)
    assert "SEQUENCE:1\r\n" in plan(series(), OWNERS, LINK, send_updates="all")


# --- against the server ----------------------------------------------------------------


def test_the_link_is_put_with_if_match_and_a_second_run_sends_nothing(radicale, tmp_path):
    etag = radicale.put("ada", series())
    calendar = make_source(radicale, tmp_path)
    [change] = calendar.link_agenda("ada-weekly", LINK)
    assert "Ada / me" in change.describe()
    [put] = puts(radicale)
    assert put.headers["if-match"] == etag
    stored = radicale.get("ada").decode()
    assert "X-CADENCED-AGENDA:https://docs.google.com/document/d/ada-doc/edit" in stored
    assert "X-WR-ALARMUID:alarm-1" in stored and "X-MOZ-GENERATION:3" in stored
    assert "TRIGGER:-PT10M" in stored
    before = len(radicale.requests)
    assert calendar.link_agenda("ada-weekly", LINK) == []
    calendar.read(tz=BERLIN, interest=None)
    assert calendar.link_agenda("ada-weekly", LINK) == []
    assert puts(radicale, before) == []
    assert radicale.count("GET", since=before) == 0


def test_the_put_body_is_the_resource_read_plus_cadenceds_lines(radicale, tmp_path):
    radicale.put("ada", series())
    calendar = make_source(radicale, tmp_path)
    served = radicale.get("ada").decode()
    calendar.link_agenda("ada-weekly", LINK)
    [put] = puts(radicale)
    assert plan(served, OWNERS, LINK) == put.body.decode()


def test_an_event_someone_else_organizes_gets_no_write(radicale, tmp_path):
    radicale.put("ada", series("boss@example.com"))
    calendar = make_source(radicale, tmp_path)
    before = len(radicale.requests)
    assert calendar.link_agenda("ada-weekly", LINK) == []
    assert len(radicale.requests) == before


def test_an_etag_race_gives_412_then_a_correct_write(radicale, tmp_path):
    radicale.put("ada", series())
    calendar = make_source(radicale, tmp_path)
    edited = series().replace("SUMMARY:Ada / me\r\n", "SUMMARY:Ada / me (renamed)\r\n")
    radicale.before_put = lambda: radicale.put("ada", edited)
    assert len(calendar.link_agenda("ada-weekly", LINK)) == 1
    assert len(puts(radicale)) == 2  # the first answered 412, the second written on the new etag
    stored = radicale.get("ada").decode()
    assert "Ada / me (renamed)" in stored and "X-CADENCED-AGENDA" in stored


def test_nothing_is_written_without_an_etag(radicale, tmp_path):
    radicale.put("ada", series())
    calendar = make_source(radicale, tmp_path)
    radicale.fail(200, method="GET", body=series().encode(),
                  headers={"Content-Type": "text/calendar"})
    assert calendar.link_agenda("ada-weekly", LINK) == []
    assert puts(radicale) == []


def test_a_dry_run_says_what_it_would_write_and_writes_nothing(radicale, tmp_path):
    radicale.put("ada", series())
    calendar = make_source(radicale, tmp_path)
    [change] = calendar.link_agenda("ada-weekly", LINK, dry_run=True)
    assert "ada-doc" in change.describe()
    assert puts(radicale) == []
    assert "X-CADENCED" not in radicale.get("ada").decode()


def test_the_invite_step_links_upcoming_1on1s_and_its_dry_run_writes_nothing(
        radicale, tmp_path):
    from daemon.core.rules import analyze
    from daemon.service.invites import invite_step

    radicale.put("ada", series())
    calendar = make_source(radicale, tmp_path)
    config = parse_config({"owner": {"email": OWNER, "timezone": "Europe/Berlin"},
                           "people": [{"name": "Ada", "email": ADA}]}).config

    class DocsLike:  # the agenda store's two answers the step asks for
        def document_id(self, person):
            return "ada-doc"

        def url(self, person):
            return LINK.url

    now = datetime(2026, 11, 20, 9, tzinfo=BERLIN)
    events = calendar.last_good(tz=BERLIN, interest=None).events
    analysis = analyze(events, config, now)
    changes = []
    for step in invite_step(config, [calendar], DocsLike(), dry_run=True, collected=changes):
        step(analysis, now)
    assert len(changes) == 1 and puts(radicale) == []
    for step in invite_step(config, [calendar], DocsLike()):
        step(analysis, now + timedelta(minutes=1))
    assert len(puts(radicale)) == 1
    assert "ada-doc" in radicale.get("ada").decode()


def test_write_back_is_off_unless_turned_on(radicale, tmp_path):
    radicale.put("ada", series())
    assert make_source(radicale, tmp_path, write_back=False).can_write is False
    assert make_source(radicale, tmp_path / "b").can_write is True


@pytest.mark.parametrize("url", ["https://x.example/a b", "https://x.example/\r\nX-EVIL:1"])
def test_an_unsafe_link_is_never_written(url):
    assert plan(series(), OWNERS, AgendaLink(url, "x", document_id="d")) is None
