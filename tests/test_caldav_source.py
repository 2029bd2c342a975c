"""The CalDAV source against a real Radicale (tests/caldavserver.py): full then
incremental sync, changes arriving one by one, a forgotten token, a server without
sync-collection, refused logins, busy and failing servers, and the same calendar
read as ICS and as CalDAV giving the same analysis."""

from __future__ import annotations

import json
import tomllib
from datetime import datetime
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
from caldavserver import PASSWORD, USER
from icalendar import Calendar

from connectors.caldav.server import CaldavError
from connectors.caldav.source import CaldavCalendar
from connectors.ics.source import IcsCalendar
from daemon.config import parse_config
from daemon.core.errors import NeedsSignIn, SourceError
from daemon.core.model import PartStat, Status
from daemon.core.rules import analyze

BERLIN = ZoneInfo("Europe/Berlin")
OWNER = "me@example.com"
ADA = "ada@example.com"


def caldav_config(radicale, **extra):
    source = {"name": "dav", "type": "caldav", "url": radicale.url("/"), "username": USER,
              "password_command": f"echo {PASSWORD}", "timeout_seconds": 5, **extra}
    return parse_config({"owner": {"email": OWNER, "timezone": "Europe/Berlin"},
                         "sources": [source]}).config


def make_source(radicale, tmp_path, **extra):
    config = caldav_config(radicale, **extra)
    return CaldavCalendar(config.sources[0], cache_dir=tmp_path / "cache",
                          owner=config.owner.addresses)


def vevent(*, start="20261005T100000", minutes=30, rid=None, extra=(), rrule=True,
           ada_partstat="ACCEPTED"):
    hour, minute = int(start[9:11]), int(start[11:13]) + minutes
    end = f"{start[:9]}{hour + minute // 60:02d}{minute % 60:02d}00"
    lines = ["BEGIN:VEVENT", "UID:ada-weekly", "DTSTAMP:20261001T000000Z",
             f"DTSTART;TZID=Europe/Berlin:{start}", f"DTEND;TZID=Europe/Berlin:{end}",
             "SUMMARY:Ada / me", f"ORGANIZER:mailto:{OWNER}",
             f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{OWNER}",
             f"ATTENDEE;PARTSTAT={ada_partstat}:mailto:{ADA}"]
    if rid:
        lines.append(f"RECURRENCE-ID;TZID=Europe/Berlin:{rid}")
    elif rrule:
        lines.append("RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10")
    return [*lines, *extra, "END:VEVENT"]


def resource(*events):
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    for event in events:
        lines += event
    return "\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n"


def read(source):
    return source.read(tz=BERLIN, interest=None)


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def override(result, rid):
    return next(e for e in result.events if e.recurrence_id == at(rid))


# --- full, then incremental ----------------------------------------------------------


def test_full_then_incremental_sync_brings_each_kind_of_change(radicale, tmp_path):
    radicale.put("ada", resource(vevent()))
    source = make_source(radicale, tmp_path)
    first = read(source)
    assert [e.uid for e in first.events] == ["ada-weekly"]
    assert source.full_syncs == 1

    changes = [
        # moved: 26 Oct to 27 Oct 15:00
        vevent(start="20261027T150000", rid="20261026T100000"),
        # shortened: 2 Nov ends after 10 minutes
        vevent(start="20261102T100000", minutes=10, rid="20261102T100000"),
        # cancelled by an override
        vevent(start="20261109T100000", rid="20261109T100000", extra=["STATUS:CANCELLED"]),
        # declined by Ada
        vevent(start="20261116T100000", rid="20261116T100000", ada_partstat="DECLINED"),
    ]
    master = vevent(extra=["EXDATE;TZID=Europe/Berlin:20261019T100000"])
    before = radicale.count()
    radicale.put("ada", resource(master, *changes))
    later = read(source)
    assert later.changed is True
    assert source.full_syncs == 1  # incremental: one sync-collection, one multiget
    assert radicale.count(since=before) == 2
    [rule] = [e for e in later.events if e.recurrence]
    assert at("2026-10-19T10:00") in rule.recurrence.exdates
    assert override(later, "20261026T100000").start == at("2026-10-27T15:00")
    shortened = override(later, "20261102T100000")
    assert (shortened.end - shortened.start).total_seconds() == 600
    assert override(later, "20261109T100000").status is Status.CANCELLED
    declined = override(later, "20261116T100000")
    assert {a.email: a.partstat for a in declined.attendees}[ADA] is PartStat.DECLINED


def test_a_deleted_resource_arrives_as_a_deletion_and_others_are_not_parsed_again(
        radicale, tmp_path):
    radicale.put("ada", resource(vevent()))
    radicale.put("other", resource(vevent(rrule=False)).replace("UID:ada-weekly", "UID:other"))
    source = make_source(radicale, tmp_path)
    assert {e.uid for e in read(source).events} == {"ada-weekly", "other"}
    parses = source.parses
    radicale.delete("other")
    result = read(source)
    assert {e.uid for e in result.events} == {"ada-weekly"}
    assert source.parses == parses  # the unchanged resource was not parsed again


def test_the_token_and_the_events_are_kept_together_in_one_private_file(radicale, tmp_path):
    radicale.put("ada", resource(vevent()))
    source = make_source(radicale, tmp_path)
    read(source)
    [kept] = (tmp_path / "cache").iterdir()
    assert kept.stat().st_mode & 0o777 == 0o600
    data = json.loads(kept.read_text())
    assert data["token"] and "UID:ada-weekly" in next(iter(data["resources"].values()))["data"]
    assert PASSWORD not in kept.read_text()
    # after a restart the first cycle is one request: no discovery, no listing
    before = radicale.count()
    again = make_source(radicale, tmp_path)
    assert read(again).changed is False
    assert radicale.count(since=before) == 1


def test_a_forgotten_token_is_a_full_listing_that_reuses_unchanged_resources(
        radicale, tmp_path):
    radicale.put("ada", resource(vevent()))
    source = make_source(radicale, tmp_path)
    first = read(source)
    [kept] = (tmp_path / "cache").iterdir()
    data = json.loads(kept.read_text())
    data["token"] = "http://radicale.org/ns/sync/" + "0" * 64  # the server never gave it
    kept.write_text(json.dumps(data))
    restarted = make_source(radicale, tmp_path)
    before = radicale.count()
    result = read(restarted)
    assert restarted.full_syncs == 1
    assert result.events == first.events
    assert not [r for r in radicale.requests[before:] if b"calendar-multiget" in r.body]
    assert read(restarted).changed is False  # the new token works


def test_a_forgotten_token_keeps_history_in_the_sync(radicale, tmp_path):
    from daemon.service.sync import Syncer
    from daemon.state.store import Store

    radicale.put("ada", resource(vevent()))
    config = caldav_config(radicale)
    config = parse_config({"owner": {"email": OWNER, "timezone": "Europe/Berlin"},
                           "people": [{"name": "Ada", "email": ADA}],
                           "sources": [s.model_dump() for s in config.sources]}).config
    with Store.open(tmp_path / "state") as store:
        syncer = Syncer(config, store)
        syncer.sync(at("2026-11-20T09:00"))
        history = store.document("history", "history")
        assert history
        [kept] = (store.directory / "feeds").glob("*.caldav.json")
        data = json.loads(kept.read_text())
        data["token"] = "http://radicale.org/ns/sync/" + "1" * 64
        kept.write_text(json.dumps(data))
    with Store.open(tmp_path / "state") as store:
        result = Syncer(config, store).sync(at("2026-11-20T10:00"))
        assert all(r.ok for r in result.scan.sources)
        assert store.document("history", "history") == history


# --- a server without sync-collection ------------------------------------------------


def test_without_sync_collection_the_ctag_says_unchanged_in_one_request(radicale, tmp_path):
    radicale.sync_collection = False
    radicale.put("ada", resource(vevent()))
    source = make_source(radicale, tmp_path)
    assert [e.uid for e in read(source).events] == ["ada-weekly"]
    before = radicale.count()
    assert read(source).changed is False
    assert radicale.count(since=before) == 1
    radicale.put("ada", resource(vevent(start="20261005T110000")))
    before = radicale.count()
    changed = read(source)
    assert changed.changed is True and changed.events[0].start == at("2026-10-05T11:00")
    assert radicale.count(since=before) == 3  # ctag, etags, the one changed resource


# --- failures --------------------------------------------------------------------------


def test_a_refused_login_needs_sign_in_and_names_the_command(radicale, tmp_path):
    radicale.put("ada", resource(vevent()))
    source = make_source(radicale, tmp_path, password_command="echo wrong")
    with pytest.raises(NeedsSignIn) as refused:
        read(source)
    assert refused.value.source == "dav"
    assert "401" in refused.value.reason
    assert "cadenced auth caldav --source dav" in refused.value.hint
    assert "wrong" not in str(refused.value) + refused.value.hint


def test_a_fixed_password_is_used_at_the_next_read_without_a_restart(radicale, tmp_path):
    radicale.put("ada", resource(vevent()))
    secret = tmp_path / "secret"
    secret.write_text("wrong\n")
    source = make_source(radicale, tmp_path, password_command=f"cat {secret}")
    with pytest.raises(NeedsSignIn):
        read(source)
    secret.write_text(PASSWORD + "\n")
    assert [e.uid for e in read(source).events] == ["ada-weekly"]


def test_a_missing_password_names_the_ways_to_give_one(radicale, tmp_path, monkeypatch):
    config = caldav_config(radicale)
    data = config.sources[0].model_dump()
    del data["password_command"]
    monkeypatch.setitem(__import__("sys").modules, "keyring", None)  # not installed
    source = CaldavCalendar(type(config.sources[0])(**data))
    with pytest.raises(SourceError) as missing:
        read(source)
    assert "password_command" in str(missing.value)
    credentials = tmp_path / "creds"
    credentials.mkdir()
    (credentials / "caldav-dav-password").write_text(PASSWORD + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    source = CaldavCalendar(type(config.sources[0])(**data))
    radicale.put("ada", resource(vevent()))
    assert [e.uid for e in read(source).events] == ["ada-weekly"]


@pytest.mark.parametrize("status", [500, 503])
def test_a_failing_server_keeps_the_last_good_copy(radicale, tmp_path, status):
    radicale.put("ada", resource(vevent()))
    source = make_source(radicale, tmp_path)
    good = read(source)
    radicale.fail(status, times=None)
    with pytest.raises(CaldavError) as failed:
        read(source)
    assert failed.value.status == status and "dav" in str(failed.value)
    assert source.last_good(tz=BERLIN, interest=None).events == good.events


def test_retry_after_is_honoured_without_asking_again(radicale, tmp_path):
    radicale.put("ada", resource(vevent()))
    now = [1000.0]
    source = make_source(radicale, tmp_path)
    source.clock = lambda: now[0]
    good = read(source)
    radicale.fail(429, headers={"Retry-After": "120"})
    with pytest.raises(CaldavError) as busy:
        read(source)
    assert busy.value.retry_after == 120
    before = radicale.count()
    now[0] += 60
    with pytest.raises(CaldavError):
        read(source)  # still inside the window: no request at all
    assert radicale.count(since=before) == 0
    now[0] += 61
    assert read(source).events == good.events
    assert radicale.count(since=before) == 1


def test_a_timeout_keeps_the_last_good_copy(radicale, tmp_path):
    radicale.put("ada", resource(vevent()))
    source = make_source(radicale, tmp_path, timeout_seconds=0.5)
    good = read(source)
    radicale.fail(200, delay=3)
    with pytest.raises(CaldavError) as slow:
        read(source)
    assert "timed out" in slow.value.reason
    assert source.last_good(tz=BERLIN, interest=None).events == good.events


def test_a_partial_sync_changes_nothing_and_takes_nothing_as_deleted(radicale, tmp_path):
    radicale.put("ada", resource(vevent()))
    source = make_source(radicale, tmp_path)
    good = read(source)
    [kept] = (tmp_path / "cache").iterdir()
    before = kept.read_bytes()
    radicale.put("ada", resource(vevent(start="20261005T110000")))
    radicale.fail(500, method="REPORT", match=b"calendar-multiget")  # the fetch fails
    with pytest.raises(CaldavError):
        read(source)
    assert kept.read_bytes() == before  # the token did not move past the change
    assert source.last_good(tz=BERLIN, interest=None).events == good.events
    assert read(source).events[0].start == at("2026-10-05T11:00")  # picked up next time


def test_a_full_listing_without_any_1on1_after_having_some_is_a_failure(radicale, tmp_path):
    radicale.sync_collection = False  # listings, no deletions reported one by one
    radicale.put("ada", resource(vevent()))
    source = make_source(radicale, tmp_path)
    good = read(source)
    radicale.delete("ada")
    with pytest.raises(SourceError) as emptied:
        read(source)
    assert "without any possible 1:1" in emptied.value.reason
    assert source.last_good(tz=BERLIN, interest=None).events == good.events


def test_a_calendar_is_chosen_by_display_name_or_path(radicale, tmp_path):
    radicale.make_calendar("private", "Private")
    radicale.put("ada", resource(vevent()))
    radicale.put("mine", resource(vevent()).replace("ada-weekly", "private-one"),
                 calendar="private")
    with pytest.raises(SourceError) as ambiguous:
        read(make_source(radicale, tmp_path / "a"))
    assert "Work" in ambiguous.value.reason and "Private" in ambiguous.value.reason
    by_name = read(make_source(radicale, tmp_path / "b", calendar="Private"))
    assert [e.uid for e in by_name.events] == ["private-one"]
    by_path = read(make_source(radicale, tmp_path / "c", calendar=f"/{USER}/work/"))
    assert [e.uid for e in by_path.events] == ["ada-weekly"]
    with pytest.raises(SourceError) as unknown:
        read(make_source(radicale, tmp_path / "d", calendar="Holidays"))
    assert "no calendar 'Holidays'" in unknown.value.reason


def test_tls_is_verified_and_ca_file_trusts_a_private_certificate(radicale_tls, pki, tmp_path):
    radicale_tls.put("ada", resource(vevent()))
    with pytest.raises(CaldavError) as refused:
        read(make_source(radicale_tls, tmp_path / "a"))
    assert "TLS verification failed" in refused.value.reason
    trusted = read(make_source(radicale_tls, tmp_path / "b", ca_file=str(pki.ca_file)))
    assert [e.uid for e in trusted.events] == ["ada-weekly"]


# --- the same calendar as ICS and as CalDAV ---------------------------------------


def split_by_uid(ics: bytes) -> dict[str, bytes]:
    """An ICS file as a CalDAV server holds it: one resource per UID, each with the
    calendar's zones."""
    calendar = Calendar.from_ical(ics)
    zones = [c for c in calendar.subcomponents if c.name == "VTIMEZONE"]
    by_uid: dict[str, list] = {}
    for component in calendar.subcomponents:
        if component.name == "VEVENT":
            by_uid.setdefault(str(component["UID"]), []).append(component)
    out = {}
    for index, (_uid, events) in enumerate(sorted(by_uid.items())):
        one = Calendar()
        one.add("prodid", "-//test//EN")
        one.add("version", "2.0")
        for component in (*zones, *events):
            one.add_component(component)
        out[f"event-{index}"] = one.to_ical()
    return out


def test_the_demo_calendar_as_ics_and_as_caldav_gives_an_equal_analysis(radicale, tmp_path):
    folder = resources.files("daemon") / "demo"
    ics = (folder / "demo.ics").read_bytes()
    for name, data in split_by_uid(ics).items():
        radicale.put(name, data)
    demo = tomllib.loads((folder / "config.toml").read_text())
    (tmp_path / "demo.ics").write_bytes(ics)
    demo["sources"] = [
        {"name": "cal", "type": "ics", "url": str(tmp_path / "demo.ics")},
    ]
    config = parse_config(demo).config
    now = datetime.fromisoformat("2026-11-20T09:00:00+01:00")
    ics_events = IcsCalendar(config.sources[0]).read(tz=config.owner.tz, interest=None).events
    dav_config = caldav_config(radicale).sources[0].model_copy(update={"name": "cal"})
    dav_events = CaldavCalendar(dav_config).read(tz=config.owner.tz, interest=None).events
    assert sorted(map(repr, dav_events)) == sorted(map(repr, ics_events))
    ics_analysis, dav_analysis = analyze(ics_events, config, now), analyze(dav_events, config, now)
    assert dav_analysis.relationships == ics_analysis.relationships
    assert any(rel.flags for rel in ics_analysis.relationships)  # the demo has findings
