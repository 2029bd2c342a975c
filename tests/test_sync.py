"""Sync cycles over the state: what history adds, failures that lose nothing."""

from __future__ import annotations

import shutil
from datetime import timedelta
from importlib import resources

import pytest

from connectors.memory import MemoryCalendar
from daemon.config import parse_config
from daemon.service.sync import Syncer
from daemon.state.store import Store

from conftest import at, config, one_on_one

ADA = {"name": "Ada Lovelace", "email": "ada@example.com"}
NOW = at("2026-11-20T09:00")
WEEKLY = "FREQ=WEEKLY;BYDAY=MO"


def weekly(**kw):
    return one_on_one("ada-weekly", at("2026-01-05T10:00"), rrule=WEEKLY, **kw)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "state") as opened:
        yield opened


def kinds(result, person="ada@example.com"):
    [rel] = [r for r in result.scan.analysis.relationships if r.person == person]
    return sorted(f.kind for f in rel.flags)


def flags_of(result, kind):
    return [f for r in result.scan.analysis.relationships for f in r.flags if f.kind == kind]


def test_one_off_moved_between_syncs_is_rescheduled_from_the_start_first_seen(store):
    source = MemoryCalendar("work", [weekly(), one_on_one("extra", at("2026-11-25T15:00"))])
    syncer = Syncer(config([ADA]), store, [source])
    assert "rescheduled" not in kinds(syncer.sync(NOW))
    source.events = (weekly(), one_on_one("extra", at("2026-11-26T16:00")))
    result = syncer.sync(NOW + timedelta(hours=1))
    [flag] = flags_of(result, "rescheduled")
    assert flag.occurrence.original_start == at("2026-11-25T15:00")
    assert flag.occurrence.start == at("2026-11-26T16:00")
    # moved again: the original stays the first start seen
    source.events = (weekly(), one_on_one("extra", at("2026-11-27T10:00")))
    [flag] = flags_of(syncer.sync(NOW + timedelta(hours=2)), "rescheduled")
    assert flag.occurrence.original_start == at("2026-11-25T15:00")


def test_rrule_edited_in_place_to_a_longer_interval_is_cadence_reduced(store):
    source = MemoryCalendar("work", [weekly()])
    syncer = Syncer(config([ADA]), store, [source])
    syncer.sync(NOW)
    source.events = (one_on_one("ada-weekly", at("2026-01-05T10:00"),
                                rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"),)
    result = syncer.sync(NOW + timedelta(hours=1))
    [flag] = flags_of(result, "cadence_reduced")
    assert (flag.from_days, flag.to_days, flag.uid) == (7, 14, "ada-weekly")
    assert flag.effective >= NOW
    # still reported on later syncs, with the same first_seen
    later = syncer.sync(NOW + timedelta(days=1))
    assert flags_of(later, "cadence_reduced")
    [key] = [k for k in later.first_seen if k.startswith("cadence_reduced")]
    assert later.first_seen[key] == result.first_seen[key]


def test_one_on_one_that_vanishes_from_a_good_source_is_cancelled(store):
    extra = one_on_one("extra", at("2026-11-25T15:00"))
    source = MemoryCalendar("work", [weekly(), extra])
    syncer = Syncer(config([ADA]), store, [source])
    syncer.sync(NOW)
    source.events = (weekly(),)
    [flag] = flags_of(syncer.sync(NOW + timedelta(hours=1)), "cancelled")
    assert flag.occurrence.uid == "extra"


def test_past_meeting_dropped_by_the_feed_still_counts_as_held(store):
    # Feeds that publish only recent weeks drop old meetings: they were still held.
    past = one_on_one("coffee", at("2026-11-18T15:00"))
    source = MemoryCalendar("work", [weekly(), past])
    syncer = Syncer(config([ADA]), store, [source])
    before = syncer.sync(NOW)
    source.events = (weekly(),)
    after = syncer.sync(NOW + timedelta(hours=1))
    assert flags_of(after, "cancelled") == []
    [rel_before] = before.scan.analysis.relationships
    [rel_after] = after.scan.analysis.relationships
    assert rel_after.counts["held"] == rel_before.counts["held"]
    assert rel_after.last_held == at("2026-11-18T15:00")


def test_deleted_series_cancels_its_upcoming_meetings_and_keeps_the_person(store):
    source = MemoryCalendar("work", [weekly()])
    syncer = Syncer(config([ADA]), store, [source])
    syncer.sync(NOW)
    source.events = (one_on_one("unrelated", at("2026-11-21T10:00"), other="bob@example.com"),)
    result = syncer.sync(NOW + timedelta(hours=1))
    cancelled = sorted(f.occurrence.original_start for f in flags_of(result, "cancelled"))
    assert cancelled == [at("2026-11-23T10:00"), at("2026-11-30T10:00")]
    assert "no_upcoming" in kinds(result)


def test_failing_source_keeps_its_events_and_raises_no_flag(store):
    source = MemoryCalendar("work", [weekly(), one_on_one("extra", at("2026-11-25T15:00"))])
    syncer = Syncer(config([ADA]), store, [source])
    good = syncer.sync(NOW)
    source.error = "HTTP 500 Internal Server Error"
    bad = syncer.sync(NOW + timedelta(hours=1))
    assert kinds(bad) == kinds(good)
    assert [s.ok for s in bad.scan.sources] == [False]
    state = store.source("work")
    assert state.error == "HTTP 500 Internal Server Error"
    failing_since = state.failing_since
    assert failing_since.startswith("2026-11-20T09:00")
    syncer.sync(NOW + timedelta(hours=2))
    assert store.source("work").failing_since == failing_since  # since the first failure
    source.error = None
    source.events = (weekly(),)  # and the extra 1:1 was really removed meanwhile
    recovered = syncer.sync(NOW + timedelta(hours=3))
    assert store.source("work").error is None and store.source("work").failing_since is None
    assert [f.occurrence.uid for f in flags_of(recovered, "cancelled")] == ["extra"]


def test_source_empty_after_having_one_on_ones_keeps_the_last_good(store):
    source = MemoryCalendar("work", [weekly()])
    syncer = Syncer(config([ADA]), store, [source])
    good = syncer.sync(NOW)
    source.events = ()
    empty = syncer.sync(NOW + timedelta(hours=1))
    assert kinds(empty) == kinds(good)
    assert "empty" in store.source("work").error
    assert flags_of(empty, "cancelled") == []


def test_findings_keep_their_first_seen(store):
    source = MemoryCalendar("work", [weekly(exdates=[at("2026-11-09T10:00")])])
    syncer = Syncer(config([ADA]), store, [source])
    first = syncer.sync(NOW)
    second = syncer.sync(NOW + timedelta(hours=5))
    assert first.first_seen and first.first_seen == second.first_seen
    assert len(store.documents("findings")) == len(first.first_seen)


def test_unchanged_cycle_writes_no_state(store):
    source = MemoryCalendar("work", [weekly()])
    syncer = Syncer(config([ADA]), store, [source])
    assert syncer.sync(NOW).wrote_state is True
    assert syncer.sync(NOW + timedelta(minutes=15)).wrote_state is False
    assert store.storage.commits == 1


def test_resolved_finding_is_forgotten(store):
    source = MemoryCalendar("work", [weekly(), one_on_one("extra", at("2026-11-25T15:00"))])
    syncer = Syncer(config([ADA]), store, [source])
    syncer.sync(NOW)
    source.events = (weekly(),)
    syncer.sync(NOW + timedelta(hours=1))
    assert any(d["kind"] == "cancelled" for d in store.documents("findings"))
    # after the meeting's date leaves the window the record goes too
    late = syncer.sync(NOW + timedelta(days=120))
    assert not flags_of(late, "cancelled")


def _demo_config(tmp_path):
    folder = tmp_path / "feed"
    folder.mkdir()
    demo = resources.files("daemon") / "demo"
    shutil.copy(demo / "demo.ics", folder / "demo.ics")
    text = (demo / "config.toml").read_text()
    import tomllib

    data = tomllib.loads(text)
    data["sources"][0]["url"] = str(folder / "demo.ics")
    return parse_config(data).config, folder / "demo.ics"


def test_restart_reuses_the_cached_copy_and_checkpoint(tmp_path):
    cfg, feed = _demo_config(tmp_path)
    with Store.open(tmp_path / "state") as store:
        Syncer(cfg, store).sync(NOW)
    feed.write_bytes(b"<html>gone</html>")  # the feed breaks while the service is down
    with Store.open(tmp_path / "state") as store:
        syncer = Syncer(cfg, store)
        result = syncer.sync(NOW + timedelta(hours=1))
        assert [s.ok for s in result.scan.sources] == [False]
        assert len(result.scan.analysis.relationships) == 6  # from the cached copy
        assert store.source("demo").checkpoint["content_hash"]


def test_published_ttl_is_respected(tmp_path):
    cfg, feed = _demo_config(tmp_path)
    text = feed.read_bytes().replace(b"X-WR-CALNAME", b"X-PUBLISHED-TTL:PT1H\r\nX-WR-CALNAME")
    feed.write_bytes(text)
    with Store.open(tmp_path / "state") as store:
        syncer = Syncer(cfg, store)
        syncer.sync(NOW)
        feed.write_bytes(text.replace(b"SUMMARY:1:1 Jonas\r\n", b"SUMMARY:1:1 Jonas W.\r\n"))
        syncer.sync(NOW + timedelta(minutes=15))
        [source] = syncer.sources
        assert source.parses == 1  # not read again within the hour
        syncer.sync(NOW + timedelta(minutes=61))
        assert source.parses == 2
