"""The cheap first pass of the ICS parser (sketch, then parse only what could be a 1:1)
changes nothing: with and without ``interest`` the rules see the same 1:1 meetings.

Checked on a generated Google-style manager calendar (bench/generate.py), on the
real-world corpus in ../shared/ics-corpus, and on the cases that once could slip
through: addresses that are aliases, and VALARM sub-components whose UID, SUMMARY
and ATTENDEE lines are not the event's.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from collections import Counter
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.ics.parse import Parsed, parse_calendar
from daemon.cli.output import to_json
from daemon.config import Config, parse_config
from daemon.core.detection import Directory
from daemon.core.model import SourceReport
from daemon.core.rules import Analysis, analyze
from daemon.service.scan import ScanResult

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=BERLIN)
GENERATOR = Path(__file__).resolve().parents[1] / "bench" / "generate.py"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "ics-corpus" / "recurring-ical-events"
CORPUS_FILES = sorted(p.name for p in CORPUS.glob("*.ics")) if CORPUS.is_dir() else []


@cache
def generator() -> ModuleType:
    """bench/generate.py, imported from its path (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def both_ways(data: bytes | str, config: Config, now: datetime,
              full: Parsed | None = None) -> dict[str, Any]:
    """Parse with and without the prefilter (unless ``full`` is that parse already)
    and analyze each result."""
    tz = config.owner.tz
    filtered = parse_calendar(data, source="cal", tz=tz, interest=Directory.from_config(config))
    full = full or parse_calendar(data, source="cal", tz=tz, interest=None)
    return {label: (parsed, analyze(parsed.events, config, now))
            for label, parsed in (("filtered", filtered), ("full", full))}


def document(parsed: Parsed, analysis: Analysis) -> dict[str, Any]:
    """What ``cadenced scan --json`` would print for this one source."""
    report = SourceReport("cal", ok=True, events=parsed.total, warnings=parsed.warnings)
    return to_json(ScanResult(analysis, (report,)))


def assert_same_findings(runs: dict[str, Any]) -> None:
    (f_parsed, f_analysis), (a_parsed, a_analysis) = runs["filtered"], runs["full"]
    assert f_parsed.total == a_parsed.total
    assert document(f_parsed, f_analysis) == document(a_parsed, a_analysis)
    # Beyond the JSON: every occurrence and series of every relationship, field by field.
    assert f_analysis.relationships == a_analysis.relationships
    assert f_analysis.warnings == a_analysis.warnings


# --- (a) a generated manager calendar ------------------------------------------------


@cache
def generated() -> dict[str, Any]:
    """One year of a generated manager calendar, read both ways (about 2,000 events)."""
    gen = generator()
    text = gen.generate(seed=7, years=1, reports=15,
                        stamp=datetime(2026, 11, 20, 8, 0, tzinfo=ZoneInfo("UTC")))
    toml = gen.config_toml(Path("/cal/manager.ics"), Path("/cal/config.toml"), 15)
    return both_ways(text, parse_config(tomllib.loads(toml)).config, NOW)


def test_prefilter_gives_the_same_json_on_a_generated_manager_calendar() -> None:
    runs = generated()
    assert_same_findings(runs)
    relationships = runs["full"][1].relationships
    assert len(relationships) >= 10  # the calendar really has 1:1s to find
    kinds = {flag.kind for rel in relationships for flag in rel.flags}
    assert {"cadence_reduced", "missed_cadence", "shortened", "cancelled"} <= kinds


def test_prefilter_parses_fewer_events_on_a_generated_manager_calendar() -> None:
    runs = generated()
    filtered, full = runs["filtered"][0], runs["full"][0]
    assert full.total == len(full.events) > 1000
    # group meetings and personal events are sketched, not parsed
    assert len(filtered.events) < full.total / 3


def test_generated_calendar_is_deterministic_but_for_dtstamp() -> None:
    gen = generator()
    one = gen.generate(seed=3, years=0.2, stamp=datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")))
    two = gen.generate(seed=3, years=0.2, stamp=datetime(2026, 2, 2, tzinfo=ZoneInfo("UTC")))
    assert one != two
    assert one.replace("DTSTAMP:20260101T000000Z", "DTSTAMP:20260202T000000Z") == two
    assert all(len(line.encode()) <= 75 for line in one.split("\r\n"))


# --- (b) the real-world corpus --------------------------------------------------------


def corpus_config(parsed: Parsed, *people_by_title: str) -> Config:
    """The file's most frequent address as the owner, the next ones as weekly people;
    ``people_by_title`` are names of more weekly people (example.invalid addresses)."""
    seen: Counter[str] = Counter()
    names: dict[str, str] = {}
    for event in parsed.events:
        for person in event.participants():
            if "@" in person.email and " " not in person.email:
                seen[person.email] += 1
                if person.name and "@" not in person.name:
                    names.setdefault(person.email, person.name)
    ranked = [email for email, _ in seen.most_common()]
    owner = ranked[0] if ranked else "owner@example.invalid"
    people = [
        {"name": names.get(email, email.split("@")[0]), "email": email, "cadence_days": 7}
        for email in ranked[1:13]
    ]
    people += [{"name": name, "email": f"{name.split()[0].lower()}@example.invalid",
                "cadence_days": 7} for name in people_by_title]
    return parse_config({
        "owner": {"email": owner, "timezone": "Europe/Berlin"},
        "people": people,
        "cadence": {"lookback_days": 3650, "lookahead_days": 365},
    }).config


def middle(parsed: Parsed) -> datetime:
    """A "now" in the middle of the file's history."""
    starts = sorted(e.start for e in parsed.events)
    return starts[len(starts) // 2] if starts else NOW


def corpus_file(name: str) -> bytes:
    if not CORPUS_FILES:
        pytest.skip(f"no ICS corpus at {CORPUS}")
    return (CORPUS / name).read_bytes()


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_FILES or ["(corpus absent)"])
def test_prefilter_gives_the_same_json_on_corpus_file(name: str) -> None:
    data = corpus_file(name)
    full = parse_calendar(data, source="cal", tz=BERLIN, interest=None)
    assert_same_findings(both_ways(data, corpus_config(full), middle(full), full))


_SUMMARY = re.compile(rb"^(SUMMARY(?:;[^:\r\n]*)?:)", re.MULTILINE | re.IGNORECASE)
_ALARM = re.compile(rb"^BEGIN:VALARM\b.*?^END:VALARM\b", re.MULTILINE | re.DOTALL | re.IGNORECASE)


def with_title_prefix(data: bytes, prefix: str) -> bytes:
    """``data`` with ``prefix`` in front of every title but those of alarms."""
    def retitle(chunk: bytes) -> bytes:
        return _SUMMARY.sub(lambda m: m.group(1) + prefix.encode(), chunk)
    out, pos = [], 0
    for alarm in _ALARM.finditer(data):
        out += [retitle(data[pos:alarm.start()]), alarm.group(0)]
        pos = alarm.end()
    return b"".join([*out, retitle(data[pos:])])


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_FILES or ["(corpus absent)"])
def test_prefilter_gives_the_same_json_on_corpus_file_with_one_on_one_titles(name: str) -> None:
    """The same files, every title prefixed "1:1 Ada Lovelace ·": events without other
    people become title-only 1:1s, so the sketch's UID and title reading is put to work
    on every odd file (folded lines, overrides without master, broken events)."""
    data = with_title_prefix(corpus_file(name), "1:1 Ada Lovelace · ")
    full = parse_calendar(data, source="cal", tz=BERLIN, interest=None)
    assert_same_findings(both_ways(data, corpus_config(full, "Ada Lovelace"), middle(full), full))


# --- regressions: what the sketch could get wrong ---------------------------------------

OWNER_TOML = """
[owner]
email = "morgan@example.com"
aliases = ["morgan@old-domain.example"]
timezone = "Europe/Berlin"

[[people]]
name = "Alex Kim"
email = "alex@example.com"
aliases = ["alex.kim@acquired.example", "AK"]

[[people]]
name = "Sam Lee"
email = "sam@example.com"
"""


def owner_config() -> Config:
    return parse_config(tomllib.loads(OWNER_TOML)).config


def vevent(uid: str, start: str, lines: list[str], *, summary: str = "Sync",
           minutes: int = 30, extra: tuple[str, ...] = ()) -> str:
    begin = datetime.strptime(start, "%Y%m%dT%H%M%S").replace(tzinfo=BERLIN)
    end = begin + timedelta(minutes=minutes)
    return "\r\n".join([
        "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261120T080000Z",
        f"DTSTART;TZID=Europe/Berlin:{start}",
        f"DTEND;TZID=Europe/Berlin:{end:%Y%m%dT%H%M%S}",
        f"SUMMARY:{summary}", *extra, *lines, "END:VEVENT",
    ]) + "\r\n"


def calendar(*events: str) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
            + "".join(events) + "END:VCALENDAR\r\n")


def person(email: str, name: str = "X", partstat: str = "ACCEPTED") -> str:
    return f"ATTENDEE;CN={name};PARTSTAT={partstat}:mailto:{email}"


def kept_uids(text: str, config: Config) -> set[str]:
    parsed = parse_calendar(text, source="cal", tz=BERLIN, interest=Directory.from_config(config))
    return {e.uid for e in parsed.events}


def test_prefilter_keeps_an_event_where_the_owner_uses_an_alias_address() -> None:
    text = calendar(vevent("alias-owner@test", "20261116T100000", [
        "ORGANIZER;CN=Morgan:mailto:MORGAN@old-domain.example",
        person("morgan@old-domain.example", "Morgan"),
        person("sam@example.com", "Sam Lee"),
    ], extra=("RRULE:FREQ=WEEKLY;BYDAY=MO",)))
    config = owner_config()
    assert kept_uids(text, config) == {"alias-owner@test"}
    runs = both_ways(text, config, NOW)
    assert_same_findings(runs)
    assert [r.person for r in runs["filtered"][1].relationships if r.occurrences] == [
        "sam@example.com"]


def test_prefilter_keeps_an_event_where_the_other_person_uses_an_alias_email() -> None:
    text = calendar(vevent("alias-person@test", "20261117T110000", [
        "ORGANIZER;CN=Morgan:mailto:morgan@example.com",
        person("morgan@example.com", "Morgan"),
        person("Alex.Kim@Acquired.example", "Alex Kim"),
    ], extra=("RRULE:FREQ=WEEKLY;BYDAY=TU",)))
    config = owner_config()
    assert kept_uids(text, config) == {"alias-person@test"}
    runs = both_ways(text, config, NOW)
    assert_same_findings(runs)
    assert [r.person for r in runs["filtered"][1].relationships if r.occurrences] == [
        "alex@example.com"]


def test_prefilter_keeps_an_override_with_a_guest_in_its_one_on_one_series() -> None:
    """A 1:1 series whose one instance had a guest: the override is parsed with its master."""
    lines = ["ORGANIZER;CN=Morgan:mailto:morgan@example.com", person("morgan@example.com"),
             person("sam@example.com", "Sam Lee")]
    text = calendar(
        vevent("series@test", "20261102T100000", lines, extra=("RRULE:FREQ=WEEKLY;BYDAY=MO",)),
        vevent("series@test", "20261110T150000", [*lines, person("guest@example.com")],
               extra=("RECURRENCE-ID;TZID=Europe/Berlin:20261109T100000",)),
        vevent("group@test", "20261103T100000", [*lines, person("guest@example.com")]),
    )
    config = owner_config()
    assert kept_uids(text, config) == {"series@test"}
    runs = both_ways(text, config, NOW)
    assert_same_findings(runs)
    sam = next(r for r in runs["filtered"][1].relationships if r.person == "sam@example.com")
    flags = [f.kind for f in sam.flags]
    assert "rescheduled" in flags


EMAIL_ALARM = ("BEGIN:VALARM", "ACTION:EMAIL", "DESCRIPTION:This is an event reminder",
               "SUMMARY:Alarm notification", "ATTENDEE:mailto:morgan@example.com",
               "TRIGGER:-P0DT0H30M0S", "END:VALARM")


def apple_alarm(uid: str) -> tuple[str, ...]:
    return ("BEGIN:VALARM", "ACTION:NONE", "TRIGGER;VALUE=DATE-TIME:19760401T005545Z",
            f"X-WR-ALARMUID:{uid}", f"UID:{uid}", "END:VALARM")


def test_prefilter_reads_the_title_of_the_event_not_of_its_email_alarm() -> None:
    """Google writes an email reminder as a VALARM with its own SUMMARY and ATTENDEE."""
    text = calendar(vevent("walk@test", "20261118T140000", [], summary="1:1 Alex Kim (walk)",
                           extra=EMAIL_ALARM))
    config = owner_config()
    assert kept_uids(text, config) == {"walk@test"}
    assert_same_findings(both_ways(text, config, NOW))


def test_prefilter_groups_blocks_by_the_event_uid_not_the_uid_of_an_alarm() -> None:
    """Apple gives each VALARM a UID; an override must still join its master's series."""
    lines = ["ORGANIZER;CN=Morgan:mailto:morgan@example.com", person("morgan@example.com"),
             person("sam@example.com", "Sam Lee")]
    text = calendar(
        vevent("series@test", "20261102T100000", lines,
               extra=("RRULE:FREQ=WEEKLY;BYDAY=MO", *apple_alarm("ALARM-1"))),
        vevent("series@test", "20261110T150000", [*lines, person("guest@example.com")],
               extra=("RECURRENCE-ID;TZID=Europe/Berlin:20261109T100000",
                      *apple_alarm("ALARM-2"))),
    )
    config = owner_config()
    parsed = parse_calendar(text, source="cal", tz=BERLIN, interest=Directory.from_config(config))
    assert len(parsed.events) == 2
    assert_same_findings(both_ways(text, config, NOW))
