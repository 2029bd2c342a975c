"""The CalendarSource contract (connectors/base.py), held against every kind of source:
in memory, an ICS file, an ICS feed over HTTP (tests/feedserver.py), Google (the
emulator the real google-api-python-client talks to) and CalDAV (a real Radicale,
tests/caldavserver.py). A new source passes it by adding
a backend to tests/contract/backends.py."""

from __future__ import annotations

import pytest
from backends import (
    BERLIN,
    CALENDAR,
    KINDS,
    CaldavBackend,
    GoogleBackend,
    IcsFileBackend,
    IcsHttpBackend,
    MemoryBackend,
    MicrosoftBackend,
    _events,
    normalized,
)

from daemon.core.errors import SourceError


@pytest.fixture(params=KINDS)
def backend(request, tmp_path):
    kind = request.param
    if kind == "memory":
        made = MemoryBackend()
    elif kind == "ics-file":
        made = IcsFileBackend(tmp_path)
    elif kind == "ics-http":
        made = IcsHttpBackend(request.getfixturevalue("server"))
    elif kind == "caldav":
        made = CaldavBackend(request.getfixturevalue("radicale"), tmp_path)
    elif kind == "microsoft":
        made = MicrosoftBackend(request.getfixturevalue("graph"), tmp_path)
    else:
        made = GoogleBackend(request.getfixturevalue("google"), tmp_path)
    made.publish(CALENDAR)
    return made


def read(backend):
    return backend.source().read(tz=BERLIN, interest=None)


def test_the_same_calendar_gives_the_same_events(backend):
    result = read(backend)
    assert normalized(result.events) == normalized(tuple(_events(CALENDAR)))
    assert result.uids >= {m.uid for m in CALENDAR}
    assert result.warnings == ()


def test_a_failed_read_raises_and_the_last_good_copy_stays(backend):
    good = read(backend)
    backend.break_next_read()
    with pytest.raises(SourceError) as failed:
        read(backend)
    assert failed.value.source == "contract"
    kept = backend.source().last_good(tz=BERLIN, interest=None)
    assert kept is not None and normalized(kept.events) == normalized(good.events)


def test_a_malformed_event_is_a_warning_and_the_rest_is_read(backend):
    if not backend.parses:
        pytest.skip(f"{backend.kind} holds parsed events: nothing can be malformed")
    backend.publish(CALENDAR, malformed=True)
    result = read(backend)
    assert normalized(result.events) == normalized(tuple(_events(CALENDAR)))
    [warning] = result.warnings
    assert "broken@contract" in warning and "contract" in warning


def test_an_unchanged_read_says_so_and_costs_what_it_documents(backend):
    first = read(backend)
    before = backend.requests() if backend.unchanged_costs is not None else 0
    again = read(backend)
    assert again.changed is False
    assert normalized(again.events) == normalized(first.events)
    if backend.unchanged_costs is not None:
        assert backend.requests() - before == backend.unchanged_costs


def test_an_emptied_calendar_is_a_failure_unless_deletions_are_reported(backend):
    good = read(backend)
    backend.publish(())
    if backend.reports_deletions:
        emptied = read(backend)  # each deletion was reported: taken at its word
        assert [e for e in emptied.events if e.status.name != "CANCELLED"] == []
        return
    with pytest.raises(SourceError):
        read(backend)
    kept = backend.source().last_good(tz=BERLIN, interest=None)
    assert normalized(kept.events) == normalized(good.events)
