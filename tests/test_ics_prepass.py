"""The ICS prepass (connectors/ics/prepass.py) changes nothing but speed: the events
parse_calendar gives are those of a plain icalendar parse of the whole file.

The reference here is the obvious way: ``Calendar.from_ical`` of the whole text (its
custom time zones isolated as parse_calendar does), X-WR-TIMEZONE applied, every
top-level VEVENT normalized. It is compared with parse_calendar on the real-world
corpus in ../shared/ics-corpus (skipped when absent), on a generated manager
calendar, and on the cases the text pass has to get right: folded lines, CRLF and LF,
properties with parameters (quoted ones too), sub-components, and a UID that recurs
with RECURRENCE-ID.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from contextlib import suppress
from datetime import datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest
import x_wr_timezone
from hypothesis import example, given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from icalendar.parser import Contentlines
from icalendar.parser.content_line import UFOLD

from connectors.ics.parse import normalize, parse_calendar
from connectors.ics.prepass import split_calendar, unfold
from connectors.ics.timezones import isolate_custom_zones
from daemon.core.errors import MalformedEventError
from daemon.core.model import Event

BERLIN = ZoneInfo("Europe/Berlin")
ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "ics-corpus" / "recurring-ical-events"
CORPUS_FILES = sorted(p.name for p in CORPUS.glob("*.ics")) if CORPUS.is_dir() else []
_VTIMEZONE = re.compile(r"^BEGIN:VTIMEZONE\r?\n.*?^END:VTIMEZONE\r?\n", re.M | re.S)


def reference(data: bytes) -> tuple[list[Event], list[str]]:
    """Events and warnings of a plain icalendar parse of the whole file."""
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    text = UFOLD.sub("", text)  # icalendar's own unfolding, before the zones are renamed
    zones, body = isolate_custom_zones([m.group(0) for m in _VTIMEZONE.finditer(text)],
                                       _VTIMEZONE.sub("", text))
    body = body.replace("BEGIN:VCALENDAR", "BEGIN:VCALENDAR\r\n" + "".join(zones), 1)
    calendar = Calendar.from_ical(body)
    if "X-WR-TIMEZONE" in calendar:
        with suppress(Exception):  # as parse_calendar: an unknown zone is ignored
            calendar = x_wr_timezone.to_standard(calendar)
    events: list[Event] = []
    warnings: list[str] = []
    for component in calendar.subcomponents:
        if component.name == "VEVENT":
            try:
                events.append(normalize(component, source="cal", tz=BERLIN, warnings=warnings))
            except MalformedEventError as exc:
                warnings.append(str(exc))
    return events, warnings


def assert_same_as_reference(data: bytes) -> None:
    parsed = parse_calendar(data, source="cal", tz=BERLIN)
    events, warnings = reference(data)
    assert list(parsed.events) == events
    assert list(parsed.warnings) == warnings


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_FILES or ["(corpus absent)"])
def test_prepass_gives_the_events_of_a_whole_file_parse_on_corpus_file(name: str) -> None:
    if not CORPUS_FILES:
        pytest.skip(f"no ICS corpus at {CORPUS}")
    assert_same_as_reference((CORPUS / name).read_bytes())


@cache
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_prepass_gives_the_events_of_a_whole_file_parse_on_a_generated_calendar() -> None:
    text = generator().generate(seed=11, years=1, reports=15,
                                stamp=datetime(2026, 11, 20, 8, 0, tzinfo=ZoneInfo("UTC")))
    data = text.encode()
    assert_same_as_reference(data)
    assert_same_as_reference(data.replace(b"\r\n", b"\n"))  # LF line endings


EVENTS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:series@test\r
DTSTART;TZID=Europe/Berlin:20261102T100000\r
DTEND;TZID=Europe/Berlin:20261102T103000\r
RRULE:FREQ=WEEKLY;BYDAY=MO\r
SUMMARY:1:1 Sam\r
 \\, weekly\r
DESCRIPTION:long text that is folded over\r
  two lines\r
ORGANIZER;CN="Morgan: the manager";X-X=1:mailto:morgan@example.com\r
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Sam\r
  Lee;X-NUM-GUESTS=0:mailto:sam@example.com\r
ATTENDEE;CUTYPE=ROOM;CN=Room 1:mailto:room1@example.com\r
ATTENDEE;PARTSTAT=DECLINED;CN="Lee, Sam":mailto:SAM@example.com\r
BEGIN:VALARM\r
ACTION:EMAIL\r
SUMMARY:Alarm\r
ATTENDEE:mailto:alarm@example.com\r
TRIGGER:-PT10M\r
END:VALARM\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:series@test\r
RECURRENCE-ID;TZID=Europe/Berlin:20261109T100000\r
DTSTART;TZID=Europe/Berlin:20261110T150000\r
DTEND;TZID=Europe/Berlin:20261110T153000\r
SUMMARY:1:1 Sam (moved)\r
STATUS:CANCELLED\r
ORGANIZER:mailto:morgan@example.com\r
ATTENDEE;PARTSTAT=ACCEPTED:mailto:sam@example.com\r
ATTENDEE;PARTSTAT=ACCEPTED:mailto:guest@example.com\r
LAST-MODIFIED:20261101T000000Z\r
SEQUENCE:3\r
TRANSP:TRANSPARENT\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:all-day@test\r
DTSTART;VALUE=DATE:20261112\r
summary:lower-case names\r
X-UNKNOWN;A="quoted; value":x\r
END:VEVENT\r
END:VCALENDAR\r
"""


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_prepass_reads_folds_parameters_alarms_and_overrides_as_icalendar_does(newline):
    data = EVENTS.replace("\r\n", newline).encode()
    assert_same_as_reference(data)
    parsed = parse_calendar(data, source="cal", tz=BERLIN)
    master, override, all_day = parsed.events
    assert master.summary == "1:1 Sam, weekly"
    assert [(a.email, a.name, a.is_resource) for a in master.attendees] == [
        ("sam@example.com", "Sam Lee", False), ("room1@example.com", "Room 1", True),
        ("sam@example.com", "Lee, Sam", False)]
    assert master.organizer is not None and master.organizer.name == "Morgan: the manager"
    assert override.recurrence_id is not None and override.sequence == 3
    assert override.transparent is True and override.last_modified is not None
    assert all_day.summary == "lower-case names" and all_day.all_day
    assert parsed.uids == {"series@test", "all-day@test"}


def test_blank_lines_before_a_continuation_are_unfolded_as_icalendar_does() -> None:
    """icalendar joins a continuation over blank lines; so does the prepass."""
    data = EVENTS.replace("1:1 Sam\r\n \\, weekly", "1:1 Sam\r\n\r\n\n \\, weekly").encode()
    assert b"\r\n\r\n\n \\, weekly" in data
    assert_same_as_reference(data)
    assert parse_calendar(data, source="cal", tz=BERLIN).events[0].summary == "1:1 Sam, weekly"
    assert split_calendar(data.decode()).sketches[0].summary == "1:1 Sam, weekly"


def test_sketch_reads_the_events_own_lines_not_its_alarms() -> None:
    split = split_calendar(EVENTS)
    master, override, _ = split.sketches
    assert master.uid == override.uid == "series@test"
    assert master.summary == "1:1 Sam, weekly"
    assert master.participants == {"morgan@example.com", "sam@example.com"}  # no room, alarm
    assert override.participants == {"morgan@example.com", "sam@example.com",
                                     "guest@example.com"}
    assert len(split.timezones) == 0 and len(split.events) == 3


def icalendar_lines(text: str) -> list[str]:
    return [str(line) for line in Contentlines.from_ical(text) if line]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab:\r\n \t", max_size=40))
@example("\r\r\n \n")  # a fold after a lone CR leaves CRLF: a line break, as icalendar reads
def test_unfold_gives_the_lines_icalendar_reads(text: str) -> None:
    """Any mix of CR, LF, spaces and tabs: the same logical lines as icalendar's."""
    assert [line for line in unfold(text).split("\n") if line] == icalendar_lines(text)
