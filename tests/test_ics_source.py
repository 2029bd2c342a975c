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
