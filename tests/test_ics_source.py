"""IcsCalendar: an unchanged feed is not parsed again; a failure is never an empty calendar."""

from __future__ import annotations

from importlib import resources
from zoneinfo import ZoneInfo

import pytest

from connectors.ics.source import IcsCalendar
from daemon.config import IcsSource
from daemon.core.detection import Directory
from daemon.core.errors import SourceError

from conftest import config
from feedserver import FeedServer, Reply

DEMO = (resources.files("daemon") / "demo" / "demo.ics").read_bytes()
TZ = ZoneInfo("Europe/Berlin")
INTEREST = Directory.from_config(config([{"name": "Ana Silva", "email": "ana@example.com"}]))


def source(url: str) -> IcsCalendar:
    return IcsCalendar(IcsSource(name="work", url=url, timeout_seconds=5))


def test_304_reuses_the_last_parse(server: FeedServer):
    server.routes["/cal.ics"] = Reply(body=DEMO, etag='"v1"')
    cal = source(server.url("/cal.ics"))
    first = cal.read(tz=TZ, interest=INTEREST)
    second = cal.read(tz=TZ, interest=INTEREST)
    assert cal.parses == 1
    assert (first.changed, second.changed) == (True, False)
    assert second.events == first.events
    assert server.headers_of_last("/cal.ics")["if-none-match"] == '"v1"'


def test_new_dtstamps_alone_do_not_cause_a_parse(server: FeedServer):
    server.routes["/cal.ics"] = Reply(body=DEMO)
    cal = source(server.url("/cal.ics"))
    cal.read(tz=TZ, interest=INTEREST)
    server.routes["/cal.ics"] = Reply(body=DEMO.replace(b"DTSTAMP:20261119T120000Z",
                                                        b"DTSTAMP:20261121T080000Z"))
    assert cal.read(tz=TZ, interest=INTEREST).changed is False
    assert cal.parses == 1


def test_a_real_change_is_parsed(server: FeedServer):
    server.routes["/cal.ics"] = Reply(body=DEMO)
    cal = source(server.url("/cal.ics"))
    before = cal.read(tz=TZ, interest=INTEREST)
    server.routes["/cal.ics"] = Reply(body=DEMO.replace(b"SUMMARY:1:1 Ana (coffee)",
                                                        b"SUMMARY:1:1 Ana (walk)"))
    after = cal.read(tz=TZ, interest=INTEREST)
    assert after.changed is True and cal.parses == 2
    assert {e.summary for e in after.events} != {e.summary for e in before.events}


def test_changed_interest_or_zone_parses_again(server: FeedServer):
    server.routes["/cal.ics"] = Reply(body=DEMO, etag='"v1"')
    cal = source(server.url("/cal.ics"))
    cal.read(tz=TZ, interest=INTEREST)
    cal.read(tz=ZoneInfo("America/New_York"), interest=INTEREST)
    cal.read(tz=ZoneInfo("America/New_York"), interest=None)
    assert cal.parses == 3


def test_failure_after_success_raises_rather_than_returning_nothing(server: FeedServer):
    server.routes["/cal.ics"] = Reply(body=DEMO)
    cal = source(server.url("/cal.ics"))
    assert cal.read(tz=TZ, interest=INTEREST).events
    server.routes["/cal.ics"] = Reply(status=503, body=b"maintenance")
    with pytest.raises(SourceError, match="HTTP 503"):
        cal.read(tz=TZ, interest=INTEREST)


def test_unchanged_local_file_is_not_parsed_again(tmp_path):
    path = tmp_path / "cal.ics"
    path.write_bytes(DEMO)
    cal = source(str(path))
    cal.read(tz=TZ, interest=INTEREST)
    assert cal.read(tz=TZ, interest=INTEREST).changed is False
    assert cal.parses == 1


def with_extra_events(body: bytes, count: int) -> bytes:
    """``body`` with ``count`` more weekly 1:1-looking series (a new person each)."""
    extra = b"".join(
        b"BEGIN:VEVENT\r\nUID:extra-%d@test\r\nDTSTART:20261102T100000Z\r\n"
        b"DTEND:20261102T103000Z\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:Sync\r\n"
        b"ATTENDEE:mailto:me@example.com\r\nATTENDEE:mailto:p%d@example.org\r\n"
        b"END:VEVENT\r\n" % (i, i) for i in range(count))
    return body.replace(b"END:VCALENDAR", extra + b"END:VCALENDAR")


def test_feed_over_max_events_is_refused_and_the_last_good_copy_kept(server, tmp_path):
    total = DEMO.count(b"BEGIN:VEVENT")
    server.routes["/cal.ics"] = Reply(body=DEMO)
    cal = IcsCalendar(IcsSource(name="work", url=server.url("/cal.ics"), timeout_seconds=5,
                                max_events=total + 5), cache_dir=tmp_path)
    good = cal.read(tz=TZ, interest=INTEREST)
    server.routes["/cal.ics"] = Reply(body=with_extra_events(DEMO, 6))
    with pytest.raises(SourceError) as info:
        cal.read(tz=TZ, interest=INTEREST)
    assert info.value.source == "work"
    assert info.value.reason == (f"the feed has {total + 6:,} events, more than max_events = "
                                 f"{total + 5:,}; none was read")
    assert "raise max_events for source 'work'" in info.value.hint
    assert cal.parses == 1  # refused before any event was parsed
    assert cal.last_good(tz=TZ, interest=INTEREST).events == good.events
    assert cal.cache_file.read_bytes() == DEMO  # the cached copy is the good one

    server.routes["/cal.ics"] = Reply(body=with_extra_events(DEMO, 5))  # at the limit: read
    assert len(cal.read(tz=TZ, interest=INTEREST).events) > len(good.events)


def test_max_events_defaults_to_fifty_thousand():
    assert IcsSource(name="work", url="cal.ics").max_events == 50_000
