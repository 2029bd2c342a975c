"""Robustness against real-world ICS files: the recurring-ical-events test corpus.

Every file must parse without an exception escaping, every master must expand
or be refused with a RuleError (never another exception, never a hang), and the
rules must run over the events without an exception. The corpus lives outside
the project (../shared/ics-corpus); these tests skip when it is absent.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connectors.ics.parse import Parsed, parse_calendar
from daemon.config import Config, parse_config
from daemon.core.detection import Directory
from daemon.core.model import Event
from daemon.core.recurrence import RuleError, planned_starts
from daemon.core.rules import analyze

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "ics-corpus"
FILES_DIR = CORPUS / "recurring-ical-events"
FILES = sorted(FILES_DIR.glob("*.ics")) if FILES_DIR.is_dir() else []
BERLIN = ZoneInfo("Europe/Berlin")

# Files with an event whose end lies before its start: that event is skipped with a warning.
END_BEFORE_START = {"end_before_start_event.ics", "issue_132_swapped_start_and_end.ics"}

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not FILES, reason=f"ICS corpus not found at {FILES_DIR}"),
]


def _ids(path: Path) -> str:
    return path.name


corpus_file = pytest.mark.parametrize("path", FILES, ids=_ids)


@cache
def _parse(path: Path) -> Parsed:
    return parse_calendar(path.read_bytes(), source=path.name, tz=BERLIN)


def _config(people: list[dict[str, str]]) -> Config:
    data = {"owner": {"email": "nobody@example.com", "timezone": "Europe/Berlin"},
            "people": people}
    return parse_config(data).config


def _now(events: tuple[Event, ...]) -> datetime:
    """A moment in the middle of the file's events, so the analysis window sees them."""
    if not events:
        return datetime(2026, 1, 1, tzinfo=UTC)
    starts = sorted(e.start for e in events)
    return starts[len(starts) // 2]


@corpus_file
@pytest.mark.timeout(20)
def test_corpus_file_parses_without_exception(path: Path) -> None:
    parsed = _parse(path)
    assert len(parsed.events) <= parsed.total
    for event in parsed.events:
        assert event.start.tzinfo is not None and event.end.tzinfo is not None
        assert event.end >= event.start
        assert event.source == path.name and event.uid


@corpus_file
@pytest.mark.timeout(20)
def test_corpus_file_parses_the_same_with_a_prefilter(path: Path) -> None:
    """The cheap sketch never drops an event the full rule would accept."""
    config = _config([{"name": "Ada Lovelace", "email": "ada@example.com"}])
    directory = Directory.from_config(config)
    full = _parse(path)
    filtered = parse_calendar(path.read_bytes(), source=path.name, tz=BERLIN,
                              interest=directory)
    assert filtered.total == full.total
    wanted = {e for e in full.events if directory.counterpart(e) is not None}
    assert wanted <= set(filtered.events)


@pytest.mark.parametrize("name", sorted(END_BEFORE_START))
def test_corpus_end_before_start_is_skipped_with_a_warning(name: str) -> None:
    path = FILES_DIR / name
    if not path.is_file():
        pytest.skip(f"{name} not in the corpus")
    parsed = _parse(path)
    assert parsed.total == 1
    assert parsed.events == ()
    assert len(parsed.warnings) == 1
    warning = parsed.warnings[0]
    assert f"source {name!r}" in warning
    assert "ends before it starts" in warning


@corpus_file
@pytest.mark.timeout(20)
def test_corpus_other_files_parse_without_warnings(path: Path) -> None:
    if path.name in END_BEFORE_START:
        pytest.skip("covered by test_corpus_end_before_start_is_skipped_with_a_warning")
    assert _parse(path).warnings == ()


@corpus_file
@pytest.mark.timeout(20)
def test_corpus_masters_expand_or_raise_rule_error(path: Path) -> None:
    for master in (e for e in _parse(path).events if e.is_master):
        try:
            starts = planned_starts(master, master.start, master.start + timedelta(days=730))
        except RuleError:
            continue
        assert starts == sorted(starts)
        assert all(master.start <= s < master.start + timedelta(days=730) for s in starts)


@corpus_file
@pytest.mark.timeout(20)
def test_corpus_analysis_runs_for_an_unrelated_owner(path: Path) -> None:
    events = _parse(path).events
    analysis = analyze(events, _config([]), _now(events))
    assert analysis.relationships == ()


@corpus_file
@pytest.mark.timeout(20)
def test_corpus_analysis_runs_when_title_only_rule_fires(path: Path) -> None:
    """Every timed event retitled "1:1 Ada ..." without participants: all series expand."""
    events = _parse(path).events
    retitled = [
        dataclasses.replace(e, summary=f"1:1 Ada {e.summary}", organizer=None, attendees=())
        for e in events
    ]
    config = _config([{"name": "Ada Lovelace", "email": "ada@example.com"}])
    analysis = analyze(retitled, config, _now(events))
    assert {r.person for r in analysis.relationships} <= {"ada@example.com"}
    for warning in analysis.warnings:
        assert f"source {path.name!r}" in warning
