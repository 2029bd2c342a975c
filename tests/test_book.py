"""`cadenced book`: a make-up 1:1 made once, in Google (the emulator the real client talks
to), as an invitation file, or as an invitation mail (aiosmtpd)."""

from __future__ import annotations

import email
import json
import os
import re
from datetime import datetime
from email import policy
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from connectors.google.auth.scopes import WRITE_SCOPES
from daemon.cli.main import main

from google_emulator import Emulator

DEMO = resources.files("daemon") / "demo"
NOW = "2026-11-20T09:00+01:00"
TOM = "tom@example.com"
EVENTS = r"/calendar/v3/calendars/[^/]+/events$"


@pytest.fixture
def google():
    """The emulator, with the demo's owner as the signed-in account."""
    emulator = Emulator(owner="maya@example.com")
    try:
        yield emulator
    finally:
        emulator.stop()


def demo_config(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "demo.ics").write_bytes((DEMO / "demo.ics").read_bytes())
    text = re.sub(r'(?m)^url = .*$', f'url = "{tmp_path / "demo.ics"}"',
                  (DEMO / "config.toml").read_text())
    path = tmp_path / "config.toml"
    path.write_text(text + extra)
    return path


def with_google(tmp_path: Path, google) -> Path:
    google.calendar()  # the owner's primary calendar
    token = tmp_path / "token.json"
    token.write_text(json.dumps(google.issue_token(list(WRITE_SCOPES))))
    os.chmod(token, 0o600)
    return demo_config(tmp_path, f'\n[[sources]]\nname = "g"\ntype = "google"\n'
                                 f'api_root = "{google.root}"\ntoken_file = "{token}"\n'
                                 'timeout_seconds = 5\n')


def cadenced(config: Path, *args: str):
    return CliRunner().invoke(main, ["--config", str(config), *args])


def test_google_books_once_even_when_the_first_answer_is_lost(tmp_path, google):
    config = with_google(tmp_path, google)
    google.drop_reply("POST", EVENTS)  # stored, but the client never hears back
    done = cadenced(config, "book", TOM, "--yes", "--now", NOW)
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("already booked '1:1 Tom / Maya' Mon 23 Nov 16:00–16:30")
    booked = [e for e in google.calendar().events.values() if e.get("summary") == "1:1 Tom / Maya"]
    assert len(booked) == 1
    [event] = booked
    assert {a["email"] for a in event["attendees"]} == {"maya@example.com", TOM}
    assert event["start"]["dateTime"].startswith("2026-11-23T16:00:00+01:00")
    inserts = [r for r in google.requests if r.method == "POST" and re.search(EVENTS, r.path)]
    assert len(inserts) == 2 and inserts[0].body["id"] == inserts[1].body["id"]
    assert google.calendar().send_updates[-1] == (event["id"], "all")  # the invite is the point
    # Booking the same slot again finds it (the first slot offered is now another one:
    # the make-up itself is busy time).
    again = cadenced(config, "book", TOM, "--yes", "--at", "2026-11-23T16:00", "--now", NOW)
    assert again.stdout.startswith("already booked")
    assert len([e for e in google.calendar().events.values()
                if e.get("summary") == "1:1 Tom / Maya"]) == 1


def test_the_booked_make_up_closes_the_gap_once_held(tmp_path, google):
    config = with_google(tmp_path, google)
    assert cadenced(config, "book", TOM, "--yes", "--now", NOW).exit_code == 0
    after = json.loads(cadenced(config, "scan", "--json", "--now", "2026-11-23T17:00+01:00")
                       .stdout)
    tom = next(r for r in after["relationships"] if r["person"] == TOM)
    assert tom["last_held"] == "2026-11-23T16:00:00+01:00"
    assert not [f for f in tom["flags"] if f["kind"] == "missed_cadence" and f["until"] is None]


def test_dry_run_and_no_terminal_write_nothing(tmp_path, google):
    config = with_google(tmp_path, google)
    dry = cadenced(config, "book", TOM, "--dry-run", "--slot", "2", "--now", NOW)
    assert dry.exit_code == 0 and dry.stdout.startswith("would book '1:1 Tom / Maya'")
    refused = cadenced(config, "book", TOM, "--now", NOW)
    assert refused.exit_code == 64 and "pass --yes" in refused.stderr
    assert google.writes() == []


def test_an_ics_invitation_file_for_a_calendar_cadenced_cannot_write(tmp_path):
    config = demo_config(tmp_path)
    target = tmp_path / "invite.ics"
    done = cadenced(config, "book", TOM, "--yes", "--at", "2026-11-24T11:00",
                    "--ics", str(target), "--now", NOW)
    assert done.exit_code == 0, done.output
    calendar = Calendar.from_ical(target.read_bytes())
    assert str(calendar["METHOD"]) == "REQUEST"
    [event] = calendar.walk("VEVENT")
    for prop in ("UID", "DTSTAMP", "SEQUENCE", "ORGANIZER", "ATTENDEE", "DTSTART", "DTEND"):
        assert prop in event, prop
    assert event["DTSTART"].dt == datetime.fromisoformat("2026-11-24T10:00:00+00:00")
    assert str(event["ORGANIZER"]) == "mailto:maya@example.com"
    assert {str(a) for a in event["ATTENDEE"]} == {"mailto:maya@example.com", f"mailto:{TOM}"}


def test_an_invitation_mail_through_smtp(tmp_path, inbox):
    config = demo_config(tmp_path, f'\n[smtp]\nhost = "127.0.0.1"\nport = {inbox.port}\n'
                                   'security = "none"\nfrom = "cadenced@example.com"\n')
    done = cadenced(config, "book", TOM, "--yes", "--now", NOW)
    assert done.exit_code == 0, done.output
    [envelope] = inbox.envelopes
    assert set(envelope.rcpt_tos) == {TOM, "maya@example.com"}
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST"
    [event] = Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")
    assert str(event["SUMMARY"]) == "1:1 Tom / Maya"


def test_nowhere_to_book_says_how(tmp_path):
    done = cadenced(demo_config(tmp_path), "book", TOM, "--yes", "--now", NOW)
    assert done.exit_code == 1 and "pass --ics FILE.ics" in done.stderr
