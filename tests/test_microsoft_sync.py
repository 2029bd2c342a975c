"""A Microsoft 365 source end to end against the Graph emulator (the real msal and
httpx): full then delta sync, changes arriving by delta, @removed, an expired delta
link, throttling, a revoked sign-in beside a working ICS source."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from rich.console import Console

from connectors.microsoft.calendar import MicrosoftCalendar
from connectors.microsoft.errors import GraphError
from daemon.cli.output import print_status
from daemon.config import parse_config
from daemon.core.model import PartStat, Status
from daemon.render.report import render_text
from daemon.service.report import report_for
from daemon.service.sync import Syncer
from daemon.state.store import Store

from conftest import BERLIN, OWNER, at
from graphserver import config_data, sign_in

ADA = "ada@example.com"
NOW = at("2026-11-20T09:00")  # a Friday; the series meets on Mondays at 10:00
WEEKLY = {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                      "firstDayOfWeek": "sunday"},
          "range": {"type": "noEnd", "startDate": "2026-10-26",
                    "recurrenceTimeZone": "W. Europe Standard Time"}}
DELTA = r"/calendarView/delta$"


def series(graph, start="2026-10-26T10:00", minutes=30, *, other=ADA, **keys):
    return graph.add_event(subject="Ada / me", start=at(start), minutes=minutes,
                           attendees=[(other, "accepted")], recurrence=WEEKLY, **keys)


def ms_config(graph, tmp_path, *, read_only=False, extra_sources=(), **keys):
    token = tmp_path / "token.json"
    if not token.exists():
        sign_in(graph, token, read_only=read_only)
    return parse_config({
        "owner": {"email": OWNER, "name": "Me", "timezone": "Europe/Berlin"},
        "people": [{"name": "Ada Lovelace", "email": ADA, "cadence_days": 7}],
        "sources": [config_data(graph, token, name="ms", **keys), *extra_sources],
    }).config


@pytest.fixture
def state(tmp_path):
    with Store.open(tmp_path / "state") as opened:
        yield opened


def syncer_for(config, state, now=NOW):
    syncer = Syncer(config, state)
    for source in syncer.sources:
        if isinstance(source, MicrosoftCalendar):
            source.sleep = lambda seconds: None
            source.clock = lambda: now
    return syncer


def kinds(result, person=ADA):
    [rel] = [r for r in result.scan.analysis.relationships if r.person == person]
    return sorted(f.kind for f in rel.flags)


def deltas(graph):
    return [r for r in graph.graph_requests() if r.path.endswith("/calendarView/delta")]


def test_full_then_delta_sync_asks_only_for_what_changed(graph, tmp_path, state):
    series(graph)
    syncer = syncer_for(ms_config(graph, tmp_path), state)
    first = syncer.sync(NOW)
    assert first.scan.sources[0].ok and kinds(first) == []
    [full] = deltas(graph)
    assert {"startDateTime", "endDateTime"} <= set(full.query)
    assert 'outlook.timezone="UTC"' in full.headers["prefer"]
    calls = len(graph.graph_requests())

    second = syncer.sync(NOW)
    assert len(graph.graph_requests()) == calls + 1  # one delta round, nothing else
    assert "$deltatoken" in deltas(graph)[-1].query and not second.wrote_state

    graph.add_event(subject="Ada / me", start=at("2026-11-25T15:00"), minutes=30,
                    attendees=[(ADA, "accepted")])
    third = syncer.sync(NOW)
    [rel] = third.scan.analysis.relationships
    assert any(o.start == at("2026-11-25T15:00") for o in rel.occurrences)


def test_moved_shortened_cancelled_and_declined_occurrences_arrive_by_delta(
        graph, tmp_path, state):
    master = series(graph)
    syncer = syncer_for(ms_config(graph, tmp_path), state)
    assert kinds(syncer.sync(NOW)) == []
    graph.move_occurrence(master["id"], at("2026-10-26T10:00"), at("2026-10-27T15:00"))
    graph.move_occurrence(master["id"], at("2026-11-02T10:00"), at("2026-11-02T10:00"),
                          minutes=10)
    graph.cancel_occurrence(master["id"], at("2026-11-09T10:00"))
    graph.respond_occurrence(master["id"], at("2026-11-16T10:00"), ADA, "declined")
    result = syncer.sync(NOW)
    assert "$deltatoken" in deltas(graph)[-1].query
    assert set(kinds(result)) >= {"cancelled", "declined", "rescheduled", "shortened"}
    [rel] = result.scan.analysis.relationships
    by_slot = {o.original_start: o for o in rel.occurrences}
    assert by_slot[at("2026-11-09T10:00")].cancelled
    assert by_slot[at("2026-11-16T10:00")].declined_by == (ADA,)
    assert by_slot[at("2026-10-26T10:00")].start == at("2026-10-27T15:00")


def test_a_removed_event_leaves_the_calendar(graph, tmp_path, state):
    series(graph)
    single = graph.add_event(subject="Ada / me", start=at("2026-11-25T15:00"), minutes=30,
                             attendees=[(ADA, "accepted")])
    syncer = syncer_for(ms_config(graph, tmp_path), state)
    source = syncer.sources[0]
    before = source.read(tz=BERLIN, interest=None)
    assert single["iCalUId"] in before.uids
    graph.delete(single["id"])
    after = source.read(tz=BERLIN, interest=None)
    assert after.changed and single["iCalUId"] not in after.uids
    assert all(e.uid != single["iCalUId"] for e in after.events)


def test_a_deleted_series_takes_its_instances_with_it(graph, tmp_path, state):
    master = series(graph)
    source = syncer_for(ms_config(graph, tmp_path), state).sources[0]
    assert source.read(tz=BERLIN, interest=None).events
    graph.delete(master["id"])
    after = source.read(tz=BERLIN, interest=None)
    assert after.events == () and after.uids == frozenset()


def test_an_expired_delta_link_means_a_full_sync_that_keeps_history(graph, tmp_path, state):
    master = series(graph)
    syncer = syncer_for(ms_config(graph, tmp_path), state)
    syncer.sync(NOW)
    graph.cancel_occurrence(master["id"], at("2026-11-09T10:00"))
    syncer.sync(NOW)
    graph.expire_delta_links()
    result = syncer.sync(NOW)
    assert syncer.sources[0].full_syncs == 2
    assert "cancelled" in kinds(result)
    gone = [r for r in deltas(graph) if r.status == 410]
    assert len(gone) == 1


def test_throttling_is_retried_after_retry_after_and_other_4xx_are_not(graph, tmp_path, state):
    series(graph)
    syncer = syncer_for(ms_config(graph, tmp_path), state)
    source = syncer.sources[0]
    waits: list[float] = []
    source.sleep = waits.append
    graph.fail("GET", DELTA, 429, "TooManyRequests", retry_after="7")
    graph.fail("GET", DELTA, 503, "ServiceNotAvailable", times=1)
    assert source.read(tz=BERLIN, interest=None).events
    assert waits[0] == 7.0 and 2.0 <= waits[1] < 3.0  # Retry-After, then backoff + jitter
    calls = len(graph.graph_requests())
    graph.fail("GET", DELTA, 400, "BadRequest", times=None)
    with pytest.raises(GraphError) as failed:
        source.read(tz=BERLIN, interest=None)
    assert len(graph.graph_requests()) == calls + 1  # a 400 is not retried
    assert failed.value.status == 400 and "'ms'" in str(failed.value)


def test_errors_carry_no_token_and_a_failed_read_keeps_the_last_good_copy(
        graph, tmp_path, state, caplog):
    series(graph)
    syncer = syncer_for(ms_config(graph, tmp_path), state)
    syncer.sync(NOW)
    graph.fail("GET", DELTA, 504, "GatewayTimeout", times=None, retry_after="0")
    caplog.set_level(logging.DEBUG)
    result = syncer.sync(NOW)
    [report] = result.scan.sources
    assert not report.ok and "HTTP 504" in report.error
    assert kinds(result) == []  # the outage is no cancellation
    tokens = [t for t in graph.access] + list(graph.refresh)
    text = caplog.text + (report.error or "") + (report.hint or "")
    assert tokens and not any(t in text for t in tokens)


def test_revoked_sign_in_marks_the_source_and_other_sources_keep_working(
        graph, tmp_path, state, server):
    from feedserver import Reply

    series(graph)
    server.routes["/other.ics"] = Reply(body=(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:bo-1\r\n"
        b"DTSTART:20261104T100000Z\r\nDTEND:20261104T103000Z\r\nRRULE:FREQ=WEEKLY\r\n"
        b"SUMMARY:Bo / me\r\n"
        b"ORGANIZER:mailto:me@example.com\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:bo@example.com"
        b"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
    config = ms_config(graph, tmp_path,
                       extra_sources=[{"name": "ics", "url": server.url("/other.ics")}])
    syncer = syncer_for(config, state)
    syncer.sync(NOW)
    graph.revoke_all()

    result = syncer.sync(NOW)
    by_name = {s.name: s for s in result.scan.sources}
    assert not by_name["ms"].ok and by_name["ics"].ok
    assert {r.person for r in result.scan.analysis.relationships} == {ADA, "bo@example.com"}
    saved = state.source("ms")
    assert saved.needs_sign_in and "cadenced auth microsoft --source ms" in saved.hint
    assert "invalid_grant" in saved.error

    calls = len(graph.requests)
    syncer.sync(NOW)  # no retry loop: the token endpoint is not asked again
    assert len(graph.requests) == calls

    weekly = report_for(result.scan.analysis, config, state, NOW)
    [problem] = weekly.sources
    assert (problem.name, problem.kind) == ("ms", "sign-in")
    assert "needs you to sign in again" in render_text(weekly)
    console = Console(width=200, record=True)
    print_status({"people": [], "sources": [vars(s) for s in state.sources()]}, console, BERLIN)
    assert "needs sign-in since" in console.export_text()

    sign_in(graph, tmp_path / "token.json")  # a new sign-in: the source works again
    assert {s.name: s.ok for s in syncer.sync(NOW).scan.sources} == {"ms": True, "ics": True}


def test_an_expired_access_token_is_renewed_silently_and_saved(graph, tmp_path, state):
    series(graph)
    token = tmp_path / "token.json"
    syncer = syncer_for(ms_config(graph, tmp_path), state)
    syncer.sync(NOW)
    before = token.read_bytes()
    graph.expire_access_tokens()
    assert syncer.sync(NOW).scan.sources[0].ok
    assert token.read_bytes() != before and (token.stat().st_mode & 0o777) == 0o600


def test_rooms_responses_and_the_organizer_are_mapped(graph, tmp_path, state):
    master = series(graph)
    graph.add_room(master["id"], "room-4.12@example.com")
    source = syncer_for(ms_config(graph, tmp_path), state).sources[0]
    [event] = source.read(tz=BERLIN, interest=None).events
    assert event.organizer.email == OWNER and event.recurrence.rrules == ("FREQ=WEEKLY;BYDAY=MO",)
    assert event.start == at("2026-10-26T10:00") and event.start.tzinfo.key == "Europe/Berlin"
    by_email = {a.email: a for a in event.attendees}
    assert by_email["room-4.12@example.com"].is_resource
    assert by_email[ADA].partstat is PartStat.ACCEPTED
    assert by_email[OWNER].partstat is PartStat.ACCEPTED
    assert event.status is Status.CONFIRMED and event.duration == timedelta(minutes=30)


def test_a_named_calendar_is_found_and_an_unknown_one_is_named(graph, tmp_path, state):
    series(graph)
    source = syncer_for(ms_config(graph, tmp_path, calendar="Calendar"), state).sources[0]
    assert source.read(tz=BERLIN, interest=None).events
    assert any(f"/calendars/{graph.calendar_id}/calendarView/delta" in r.path
               for r in graph.graph_requests())
    other = syncer_for(ms_config(graph, tmp_path, calendar="Work"), state).sources[0]
    with pytest.raises(GraphError) as failed:
        other.read(tz=BERLIN, interest=None)
    assert "'Calendar'" in str(failed.value) and "calendar" in failed.value.hint


def test_a_slow_graph_times_out_and_keeps_the_last_good_copy(graph, tmp_path, state):
    series(graph)
    syncer = syncer_for(ms_config(graph, tmp_path, timeout_seconds=0.3), state)
    source = syncer.sources[0]
    good = source.read(tz=BERLIN, interest=None)
    graph.delay("GET", DELTA, 1.0, times=None)
    with pytest.raises(GraphError) as slow:
        source.read(tz=BERLIN, interest=None)
    assert "timed out" in str(slow.value) and slow.value.status == 0
    assert source.last_good(tz=BERLIN, interest=None).events == good.events
