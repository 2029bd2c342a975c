"""A Google calendar end to end: the real google-api-python-client against the local
emulator, through the sync, the rules, the Docs agendas and the write-back."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from rich.console import Console

from connectors.google.auth.scopes import READ_SCOPES, WRITE_SCOPES
from connectors.google.calendar import GoogleCalendar
from connectors.google.errors import GoogleApiError
from connectors.google.writeback import KEY_DOC, Link, link
from connectors.registry import build_agenda_store
from daemon.cli.output import print_status
from daemon.config import parse_config
from daemon.core.errors import NeedsSignIn
from daemon.render.report import render_text
from daemon.service.agendas import agenda_step
from daemon.service.invites import agenda_steps, invite_step
from daemon.service.report import report_for
from daemon.service.sync import Syncer
from daemon.state.store import Store

from conftest import BERLIN, OWNER, at

ADA = "ada@example.com"
NOW = at("2026-11-20T09:00")  # a Friday; the series meets on Mondays at 10:00
BEFORE_NEXT = at("2026-11-22T12:00")  # within a day of Monday 23 Nov 10:00
EVENTS_PATH = r"/calendar/v3/calendars/[^/]+/events$"


def google_config(emulator, tmp_path, *, scopes=WRITE_SCOPES, store="google", **source):
    token = tmp_path / "token.json"
    token.write_text(json.dumps(emulator.issue_token(list(scopes))))
    os.chmod(token, 0o600)
    return parse_config({
        "owner": {"email": OWNER, "name": "Me", "timezone": "Europe/Berlin"},
        "people": [{"name": "Ada Lovelace", "email": ADA, "cadence_days": 7}],
        "sources": [{"name": "g", "type": "google", "api_root": emulator.root,
                     "token_file": str(token), "timeout_seconds": 5, **source}],
        "agenda": {"store": store},
    }).config


def when(text, minutes=0):
    moment = at(text) + timedelta(minutes=minutes)
    return {"dateTime": moment.isoformat(), "timeZone": "Europe/Berlin"}


def series(cal, start="2026-10-26T10:00", minutes=30, *, other=ADA, organizer=None, **fields):
    resource = {
        "summary": "Ada / me",
        "start": when(start), "end": when(start, minutes),
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO"],
        "attendees": [{"email": OWNER, "self": True, "organizer": organizer is None,
                       "responseStatus": "accepted"},
                      {"email": other, "responseStatus": "accepted"}],
        **fields,
    }
    if organizer is not None:
        resource["organizer"] = organizer
    return cal.insert(resource)


@pytest.fixture
def state(tmp_path):
    with Store.open(tmp_path / "state") as opened:
        yield opened


def syncer_for(config, state):
    syncer = Syncer(config, state)
    for source in syncer.sources:
        if isinstance(source, GoogleCalendar):
            source.sleep = lambda seconds: None
    return syncer


def kinds(result, person=ADA):
    [rel] = [r for r in result.scan.analysis.relationships if r.person == person]
    return sorted(f.kind for f in rel.flags)


def calendar_patches(emulator):
    return [r for r in emulator.requests if r.method == "PATCH" and "/calendar/" in r.path]


def list_calls(emulator):
    return [r for r in emulator.requests if r.method == "GET"
            and r.path.rstrip("/").endswith("/events")]


def test_full_then_incremental_sync_asks_only_for_what_changed(google, tmp_path, state):
    cal = google.calendar("primary")
    series(cal)
    syncer = syncer_for(google_config(google, tmp_path, store="local"), state)
    first = syncer.sync(NOW)
    assert kinds(first) == []
    [full] = list_calls(google)
    assert full.query["singleEvents"] == ["false"] and full.query["showDeleted"] == ["true"]
    assert "syncToken" not in full.query

    second = syncer.sync(NOW)
    incremental = list_calls(google)[-1]
    assert "syncToken" in incremental.query
    assert not {"timeMin", "timeMax", "orderBy", "q", "updatedMin"} & set(incremental.query)
    assert second.scan.sources[0].ok and not second.wrote_state

    cal.insert({"summary": "Ada / me", "start": when("2026-11-25T15:00"),
                "end": when("2026-11-25T15:30"),
                "attendees": [{"email": OWNER, "self": True}, {"email": ADA}]})
    third = syncer.sync(NOW)
    [rel] = third.scan.analysis.relationships
    assert any(o.start == at("2026-11-25T15:00") for o in rel.occurrences)
    assert "syncToken" in list_calls(google)[-1].query


def test_moved_shortened_cancelled_and_declined_instances_are_flagged(google, tmp_path, state):
    cal = google.calendar("primary")
    master = series(cal)
    syncer = syncer_for(google_config(google, tmp_path, store="local"), state)
    assert kinds(syncer.sync(NOW)) == []
    # Edits made after the first sync arrive through the incremental one.
    cal.override_instance(master["id"], when("2026-10-26T10:00"),
                          start=when("2026-10-27T15:00"), end=when("2026-10-27T15:30"))
    cal.override_instance(master["id"], when("2026-11-02T10:00"),
                          start=when("2026-11-02T10:00"), end=when("2026-11-02T10:10"))
    cal.cancel_instance(master["id"], when("2026-11-09T10:00"))
    cal.override_instance(master["id"], when("2026-11-16T10:00"),
                          start=when("2026-11-16T10:00"), end=when("2026-11-16T10:30"),
                          attendees=[{"email": OWNER, "self": True, "organizer": True,
                                      "responseStatus": "accepted"},
                                     {"email": ADA, "responseStatus": "declined"}])
    result = syncer.sync(NOW)
    assert "syncToken" in list_calls(google)[-1].query
    # Cancelled on 9 Nov and declined on 16 Nov: three weeks without a 1:1, too.
    assert kinds(result) == ["cancelled", "declined", "missed_cadence", "rescheduled",
                             "shortened"]


def test_a_series_split_into_a_new_series_raises_no_false_alarm(google, tmp_path, state):
    cal = google.calendar("primary")
    master = series(cal, start="2026-09-07T10:00")
    syncer = syncer_for(google_config(google, tmp_path, store="local"), state)
    assert kinds(syncer.sync(NOW)) == []
    # "This and following events" at a new time: the old series ends, a new one starts.
    cal.update(master["id"], recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20261115T230000Z"])
    series(cal, start="2026-11-16T11:00")
    result = syncer.sync(NOW)
    assert kinds(result) == []
    [rel] = result.scan.analysis.relationships
    assert rel.next_scheduled.start == at("2026-11-23T11:00")


def test_a_split_to_a_longer_interval_is_cadence_reduced(google, tmp_path, state):
    cal = google.calendar("primary")
    master = series(cal, start="2026-09-07T10:00")
    syncer = syncer_for(google_config(google, tmp_path, store="local"), state)
    syncer.sync(NOW)
    cal.update(master["id"], recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20261101T230000Z"])
    series(cal, start="2026-11-02T10:00", recurrence=["RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"])
    assert "cadence_reduced" in kinds(syncer.sync(NOW))


def test_expired_sync_token_means_a_full_sync_that_keeps_history(google, tmp_path, state):
    cal = google.calendar("primary")
    series(cal)
    one_off = cal.insert({"summary": "Ada / me", "start": when("2026-11-25T15:00"),
                          "end": when("2026-11-25T15:30"),
                          "attendees": [{"email": OWNER, "self": True}, {"email": ADA}]})
    syncer = syncer_for(google_config(google, tmp_path, store="local"), state)
    syncer.sync(NOW)
    cal.update(one_off["id"], start=when("2026-11-26T15:00"), end=when("2026-11-26T15:30"))
    syncer.sync(NOW)
    first_seen = {k: v for k, v in syncer.sync(NOW).first_seen.items() if "rescheduled" in k}
    assert first_seen  # the move was seen between syncs: history

    google.expire_sync_tokens()
    result = syncer.sync(NOW + timedelta(hours=1))
    [source] = [s for s in syncer.sources if isinstance(s, GoogleCalendar)]
    assert source.full_syncs == 2
    assert result.scan.sources[0].ok
    assert {k: v for k, v in result.first_seen.items() if "rescheduled" in k} == first_seen


def test_rate_limits_are_retried_and_other_client_errors_are_not(google, tmp_path, state):
    series(google.calendar("primary"))
    syncer = syncer_for(google_config(google, tmp_path, store="local"), state)
    google.fail("GET", EVENTS_PATH, 429, "rateLimitExceeded", times=2)
    google.fail("GET", EVENTS_PATH, 403, "quotaExceeded", times=1)
    assert syncer.sync(NOW).scan.sources[0].ok
    assert len(list_calls(google)) == 4

    google.fail("GET", EVENTS_PATH, 400, "badRequest", times=1)
    before = len(list_calls(google))
    result = syncer.sync(NOW)
    assert not result.scan.sources[0].ok
    assert "HTTP 400" in result.scan.sources[0].error
    assert len(list_calls(google)) == before + 1  # not retried
    [rel] = result.scan.analysis.relationships  # the last good copy is still used
    assert rel.occurrences and kinds(result) == []


def test_a_slow_google_times_out_and_keeps_the_last_good_copy(google, tmp_path, state):
    series(google.calendar("primary"))
    config = google_config(google, tmp_path, store="local", timeout_seconds=0.5)
    syncer = syncer_for(config, state)
    syncer.sync(NOW)
    google.delay("GET", EVENTS_PATH, 3.0, times=5)
    result = syncer.sync(NOW)
    assert not result.scan.sources[0].ok
    assert "timed out" in result.scan.sources[0].error
    assert kinds(result) == []


def test_revoked_sign_in_marks_the_source_and_other_sources_keep_working(
        google, tmp_path, state, server):
    from feedserver import Reply

    series(google.calendar("primary"))
    base = google_config(google, tmp_path, store="local")
    server.routes["/other.ics"] = Reply(body=(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:bo-1\r\n"
        b"DTSTART:20261104T100000Z\r\nDTEND:20261104T103000Z\r\nRRULE:FREQ=WEEKLY\r\n"
        b"SUMMARY:Bo / me\r\n"
        b"ORGANIZER:mailto:me@example.com\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:bo@example.com"
        b"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
    config = base.model_copy(update={"sources": (*base.sources, *parse_config({
        "owner": {"email": OWNER}, "sources": [{"name": "ics", "url": server.url("/other.ics")}],
    }).config.sources)})
    syncer = syncer_for(config, state)
    syncer.sync(NOW)
    token = json.loads((tmp_path / "token.json").read_text())
    google.revoke_refresh_token(token["refresh_token"])
    google.expire_access_tokens()
    (tmp_path / "token.json").write_text(json.dumps({**token, "expiry": "2020-01-01T00:00:00Z"}))

    result = syncer.sync(NOW)
    by_name = {s.name: s for s in result.scan.sources}
    assert not by_name["g"].ok and by_name["ics"].ok
    assert {r.person for r in result.scan.analysis.relationships} == {ADA, "bo@example.com"}
    saved = state.source("g")
    assert saved.needs_sign_in and "cadenced auth google --source g" in saved.hint

    calls = len(google.requests)
    syncer.sync(NOW)  # no retry loop: the token endpoint is not asked again
    assert len(google.requests) == calls

    weekly = report_for(result.scan.analysis, config, state, NOW)
    [problem] = weekly.sources
    assert (problem.name, problem.kind) == ("g", "sign-in")
    assert "needs you to sign in again" in render_text(weekly)
    console = Console(width=200, record=True)
    print_status({"people": [], "sources": [vars(s) for s in state.sources()]}, console, BERLIN)
    assert "needs sign-in since" in console.export_text()


def test_the_agenda_doc_is_made_shared_and_linked_from_the_series_once(google, tmp_path, state):
    cal = google.calendar("primary")
    master = series(cal, description="Bring <b>numbers</b>\nand the deck")
    original = cal.get(master["id"])
    config = google_config(google, tmp_path)
    for _ in range(2):
        syncer = syncer_for(config, state)
        agendas = build_agenda_store(config, syncer.sources, tmp_path / "data")
        steps = agenda_steps(config, agendas, state, syncer.sources)
        result = syncer.sync(BEFORE_NEXT, steps=steps)
    creates = [r for r in google.requests if r.method == "POST" and r.path.endswith("/files")]
    patches = calendar_patches(google)
    assert len(creates) == 1 and len(patches) == 1
    [doc_id] = list(google.drive.files)
    [permission] = google.drive.permissions[doc_id]
    assert permission["role"] == "writer" and permission["emailAddress"] == ADA
    assert patches[0].query["supportsAttachments"] == ["true"]
    assert patches[0].query["sendUpdates"] == ["none"]
    assert patches[0].headers["if-match"] == original["etag"]
    event = cal.get(master["id"])
    assert event["description"].startswith(original["description"])
    assert event["description"].count(doc_id) == 2  # an HTML line: href and text
    assert [a["fileId"] for a in event["attachments"]] == [doc_id]
    assert event["extendedProperties"]["private"][KEY_DOC] == doc_id
    text = google.docs.text(doc_id)
    assert text.count("<!-- cadenced:meeting key=") == 1 and "Mon 23 Nov 2026" in text
    # The weekly report links the Doc: an https address may travel by email.
    [row] = report_for(result.scan.analysis, config, state, BEFORE_NEXT, agendas).rows
    assert row.next_agenda_url == f"https://docs.google.com/document/d/{doc_id}/edit"


def test_someone_elses_event_gets_no_write(google, tmp_path, state):
    cal = google.calendar("primary")
    series(cal, organizer={"email": ADA, "displayName": "Ada"})
    config = google_config(google, tmp_path)
    syncer = syncer_for(config, state)
    agendas = build_agenda_store(config, syncer.sources, tmp_path / "data")
    syncer.sync(BEFORE_NEXT, steps=agenda_steps(config, agendas, state, syncer.sources))
    assert google.drive.files  # the agenda itself is made
    assert not [r for r in google.requests if r.method in {"PATCH", "PUT"}
                and "/calendar/" in r.path]


def test_read_only_sign_in_reads_and_writes_nothing(google, tmp_path, state):
    series(google.calendar("primary"))
    config = google_config(google, tmp_path, scopes=READ_SCOPES, store="local")
    syncer = syncer_for(config, state)
    agendas = build_agenda_store(config, syncer.sources, tmp_path / "data")
    result = syncer.sync(BEFORE_NEXT, steps=[*invite_step(config, syncer.sources, agendas)])
    assert result.scan.sources[0].ok
    assert not google.writes()


def test_a_concurrent_edit_between_read_and_patch_is_reread_and_kept(google, tmp_path, state):
    cal = google.calendar("primary")
    master = series(cal, description="old notes")
    syncer = syncer_for(google_config(google, tmp_path, store="local"), state)
    syncer.sync(NOW)
    [calendar] = [s for s in syncer.sources if isinstance(s, GoogleCalendar)]
    stale = calendar.events_with_uid(master["iCalUID"])[0]
    cal.update(master["id"], description="new notes, typed meanwhile")  # etag moves on
    target = Link("doc1", "https://docs.google.com/document/d/doc1/edit", "1:1 agenda: Ada")
    patch = link(calendar, stale, target)
    assert patch is not None
    statuses = [r.status for r in calendar_patches(google)]
    assert statuses == [412, 200]  # 412, then the patch made again from a fresh read
    event = cal.get(master["id"])
    assert event["description"].startswith("new notes, typed meanwhile\n\n1:1 agenda: ")
    assert link(calendar, calendar.resource(master["id"]), target) is None


def test_dry_run_shows_the_patches_and_writes_nothing(google, tmp_path, state):
    from click.testing import CliRunner

    from daemon.cli.main import main

    cal = google.calendar("primary")
    series(cal)
    config = google_config(google, tmp_path)
    syncer = syncer_for(config, state)
    agendas = build_agenda_store(config, syncer.sources, tmp_path / "data")
    syncer.sync(BEFORE_NEXT, steps=agenda_step(config, agendas, state))  # the Doc, no link yet
    assert not calendar_patches(google)
    state.close()
    path = tmp_path / "config.toml"
    path.write_text(_toml(config, google, tmp_path))
    writes = len(google.writes())
    state_dir = tmp_path / "state"
    before = (state_dir / "state.json").read_bytes()
    result = CliRunner().invoke(main, ["--config", str(path), "sync", "--dry-run", "--now",
                                       BEFORE_NEXT.isoformat()],
                                env={"STATE_DIRECTORY": str(state_dir)})
    assert result.exit_code == 0, result.output
    assert "would patch g: Ada / me" in result.output
    assert len(google.writes()) == writes
    assert (state_dir / "state.json").read_bytes() == before


def _toml(config, emulator, tmp_path):
    source = config.sources[0]
    return (f'[owner]\nemail = "{OWNER}"\nname = "Me"\ntimezone = "Europe/Berlin"\n'
            f'[[people]]\nname = "Ada Lovelace"\nemail = "{ADA}"\ncadence_days = 7\n'
            f'[[sources]]\nname = "g"\ntype = "google"\napi_root = "{emulator.root}"\n'
            f'token_file = "{source.token_file}"\ntimeout_seconds = 5\n'
            f'[agenda]\nstore = "google"\n')


def test_errors_name_the_source_and_the_fix(google, tmp_path):
    config = google_config(google, tmp_path, store="local", calendar_id="nope@example.com")
    [calendar] = Syncer(config, Store.open(tmp_path / "s2")).sources
    google.fail("GET", EVENTS_PATH, 404, "notFound", times=1)
    with pytest.raises(GoogleApiError) as info:
        calendar.read(tz=BERLIN, interest=None)
    assert info.value.source == "g" and "calendar_id" in info.value.hint
    (tmp_path / "token.json").unlink()
    calendar.token = type(calendar.token)(tmp_path / "token.json", source="g")
    with pytest.raises(NeedsSignIn):
        calendar.read(tz=BERLIN, interest=None)


def test_the_service_prepares_docs_links_them_and_serves_the_overlay(google, tmp_path, state):
    from datetime import UTC

    from daemon.config import LoadedConfig
    from daemon.service.notify import Notifier
    from daemon.service.runner import Runner

    cal = google.calendar("primary")
    master = series(cal)
    config = google_config(google, tmp_path)
    config = config.model_copy(update={"server": config.server.model_copy(
        update={"enabled": True, "port": 0})})
    loaded = LoadedConfig(config, None, ())
    runner = Runner(loaded, state, notifier=Notifier(None), runtime_dir=tmp_path / "run",
                    reload=lambda: loaded, clock=lambda: BEFORE_NEXT.astimezone(UTC),
                    environ={}, data_dir=tmp_path / "data")
    for source in runner.syncer.sources:
        source.sleep = lambda seconds: None
    runner.start_server()
    try:
        assert runner.sync_job() is not None
        [doc_id] = list(google.drive.files)
        assert cal.get(master["id"])["attachments"][0]["fileId"] == doc_id
        assert runner.reload()  # a reload keeps a working Docs store
        assert runner.sync_job() is not None
        assert len(calendar_patches(google)) == 1
        import urllib.request

        with urllib.request.urlopen(runner.server.base_url + "/calendar.ics") as reply:
            feed = reply.read().decode()
        assert f"https://docs.google.com/document/d/{doc_id}/edit" in feed.replace("\r\n ", "")
        # The agenda page's forms write through the Docs store too.
        import re
        from urllib.parse import urlencode

        page_url = f"{runner.server.base_url}/agenda/{ADA}"
        with urllib.request.urlopen(page_url) as reply:
            page = reply.read().decode()
        fields = {name: re.search(rf'name="{name}" value="([0-9a-zA-Z_-]+)"', page).group(1)
                  for name in ("token", "version")}
        form = urllib.request.Request(
            page_url + "/topic", data=urlencode({**fields, "topic": "budget"}).encode(),
            headers={"Origin": f"http://127.0.0.1:{runner.server.port}"})
        with urllib.request.urlopen(form) as reply:  # follows the 303 back to the page
            assert "budget" in reply.read().decode()
        assert "budget" in google.docs.text(doc_id)
    finally:
        if runner.server is not None:
            runner.server.stop()


def test_write_back_off_makes_the_doc_but_leaves_every_invite_alone(google, tmp_path, state):
    series(google.calendar("primary"))
    config = google_config(google, tmp_path, write_back=False)
    syncer = syncer_for(config, state)
    agendas = build_agenda_store(config, syncer.sources, tmp_path / "data")
    syncer.sync(BEFORE_NEXT, steps=agenda_steps(config, agendas, state, syncer.sources))
    assert google.drive.files
    assert not calendar_patches(google)


def test_a_refused_patch_is_logged_with_the_source_and_tried_again_next_sync(
        google, tmp_path, state, caplog):
    master = series(google.calendar("primary"))
    config = google_config(google, tmp_path)
    syncer = syncer_for(config, state)
    agendas = build_agenda_store(config, syncer.sources, tmp_path / "data")
    steps = agenda_steps(config, agendas, state, syncer.sources)
    google.fail("PATCH", r"/calendar/v3/calendars/[^/]+/events/", 400, "invalid")
    result = syncer.sync(BEFORE_NEXT, steps=steps)
    assert result.scan.sources[0].ok
    assert "source 'g': linking the agenda: HTTP 400 invalid" in caplog.text
    assert "attachments" not in google.calendar("primary").get(master["id"])
    syncer.sync(BEFORE_NEXT + timedelta(minutes=15), steps=steps)
    assert google.calendar("primary").get(master["id"])["attachments"]
