"""Make-up slots that suit both people: Google's free/busy for the other person, asked
through the emulator the real client talks to, and said plainly when it cannot be seen."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from connectors.google.auth.scopes import CALENDAR_EVENTS_OWNED, DRIVE_FILE, WRITE_SCOPES

from google_emulator import Emulator
from test_book import NOW, TOM, cadenced, demo_config

FREEBUSY = "/calendar/v3/freeBusy"


@pytest.fixture
def google():
    emulator = Emulator(owner="maya@example.com")
    try:
        yield emulator
    finally:
        emulator.stop()


def config_with(tmp_path: Path, google, scopes=WRITE_SCOPES, extra: str = "") -> Path:
    google.calendar()
    token = tmp_path / "token.json"
    token.write_text(json.dumps(google.issue_token(list(scopes))))
    os.chmod(token, 0o600)
    return demo_config(tmp_path, f'\n[[sources]]\nname = "g"\ntype = "google"\n'
                                 f'api_root = "{google.root}"\ntoken_file = "{token}"\n'
                                 f'timeout_seconds = 5\n{extra}')


def slots_for(config: Path, person: str = TOM) -> dict:
    done = cadenced(config, "suggest", person, "--json", "--now", NOW)
    assert done.exit_code == 0, done.output
    [found] = json.loads(done.stdout)["suggestions"]
    return found


def asked(google) -> list:
    return [r for r in google.requests if r.path == FREEBUSY]


def test_the_other_persons_busy_time_moves_the_slot(tmp_path, google):
    config = config_with(tmp_path, google)
    google.availability[TOM] = []
    alone = slots_for(config)
    assert alone["their_calendar"] == {"seen": True, "source": "g", "reason": None}
    first = datetime.fromisoformat(alone["slots"][0]["start"])
    end = datetime.fromisoformat(alone["slots"][0]["end"])
    google.availability[TOM] = [(first, end)]  # Tom is busy exactly then
    both = slots_for(config)
    starts = [datetime.fromisoformat(s["start"]) for s in both["slots"]]
    assert first not in starts
    for slot in both["slots"]:
        start, stop = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
        assert stop <= first or start >= end  # none over Tom's busy block
    [query, *_] = asked(google)
    assert [i["id"] for i in query.body["items"]] == [TOM]  # only the person asked about


def test_someone_outside_the_organisation_is_said_unseen_and_still_gets_slots(tmp_path, google):
    config = config_with(tmp_path, google)
    found = slots_for(config)
    assert found["their_calendar"]["seen"] is False
    assert "not found in the organisation" in found["their_calendar"]["reason"]
    assert len(found["slots"]) == 3
    text = cadenced(config, "suggest", TOM, "--now", NOW)
    assert "their calendar could not be seen: not found in the organisation" in text.stdout


def test_a_sign_in_without_free_busy_is_not_asked_and_says_how_to_add_it(tmp_path, google):
    config = config_with(tmp_path, google, scopes=(CALENDAR_EVENTS_OWNED, DRIVE_FILE))
    found = slots_for(config)
    assert asked(google) == []
    assert found["their_calendar"]["seen"] is False
    assert "cadenced auth google --source g" in found["their_calendar"]["reason"]


def test_free_busy_off_asks_nobody(tmp_path, google):
    config = config_with(tmp_path, google, extra="\n[suggest]\nfree_busy = false\n")
    google.availability[TOM] = []
    found = slots_for(config)
    assert asked(google) == [] and found["their_calendar"] is None


def test_a_failing_free_busy_call_leaves_the_owners_slots(tmp_path, google):
    config = config_with(tmp_path, google)
    google.availability[TOM] = []
    google.fail("POST", FREEBUSY, status=503, reason="backendError", times=None,
                retry_after=0)
    found = slots_for(config)
    assert found["their_calendar"]["seen"] is False
    assert "could not be asked (503)" in found["their_calendar"]["reason"]
    assert len(found["slots"]) == 3


def test_everyone_due_is_asked_in_one_query(tmp_path, google):
    config = config_with(tmp_path, google)
    done = cadenced(config, "suggest", "--json", "--now", NOW)
    assert done.exit_code == 0, done.output
    due = [s["person"] for s in json.loads(done.stdout)["suggestions"]]
    queries = asked(google)
    assert len(queries) == 1
    assert sorted(i["id"] for i in queries[0].body["items"]) == sorted(due)
