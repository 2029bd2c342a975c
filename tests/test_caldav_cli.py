"""The CalDAV source through the command line, against a real Radicale:
``cadenced auth caldav`` tests the login and lists the calendars (marking the one the
source reads, naming the fix of a refused login); ``cadenced sync`` keeps the source's
copy privately, and ``sync --dry-run`` writes nothing, neither state nor events."""

from __future__ import annotations

import json

from caldavserver import PASSWORD, USER
from click.testing import CliRunner

from daemon.cli.main import main


def write_config(tmp_path, radicale, *, password=PASSWORD, calendar=None, extra=()):
    lines = ['[owner]', 'email = "me@example.com"', 'timezone = "Europe/Berlin"', '',
             '[[sources]]', 'name = "dav"', 'type = "caldav"', f'url = "{radicale.url("/")}"',
             f'username = "{USER}"', f'password_command = "echo {password}"', *extra]
    if calendar:
        lines.append(f'calendar = "{calendar}"')
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_auth_caldav_lists_the_calendars_and_marks_the_one_read(radicale, tmp_path):
    radicale.make_calendar("private", "Private")
    config = write_config(tmp_path, radicale, calendar="Private")
    result = run("auth", "caldav", "--source", "dav", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "2 calendar(s)" in result.output
    [marked] = [line for line in result.output.splitlines() if line.startswith(" *")]
    assert "Private" in marked and f"/{USER}/private/" in marked
    assert "Work" in result.output and "write_back is off" in result.output
    assert PASSWORD not in result.output


def test_auth_caldav_without_a_choice_says_how_to_make_one(radicale, tmp_path):
    radicale.make_calendar("private", "Private")
    result = run("auth", "caldav", "--config", str(write_config(tmp_path, radicale)))
    assert result.exit_code == 0, result.output
    assert "No calendar chosen" in result.output and "set calendar" in result.output


def test_auth_caldav_with_a_wrong_password_names_the_source_and_the_fix(radicale, tmp_path):
    config = write_config(tmp_path, radicale, password="nope")
    result = run("auth", "caldav", "--source", "dav", "--config", str(config))
    assert result.exit_code == 1
    assert "source 'dav'" in result.output and "401" in result.output
    assert "cadenced auth caldav --source dav" in result.output


def test_auth_caldav_refuses_a_source_of_another_kind(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[owner]\nemail = "me@example.com"\n\n[[sources]]\nname = "w"\n'
                    'url = "x.ics"\n')
    result = run("auth", "caldav", "--source", "w", "--config", str(path))
    assert result.exit_code == 2 and "not a CalDAV source" in result.output


WEEKLY = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
    "UID:ada-weekly\r\nDTSTAMP:20261001T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20261005T100000\r\nDTEND;TZID=Europe/Berlin:20261005T103000\r\n"
    "RRULE:FREQ=WEEKLY;BYDAY=MO\r\nSUMMARY:Ada / me\r\nORGANIZER:mailto:me@example.com\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:me@example.com\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:ada@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def test_sync_keeps_the_copy_privately_and_a_dry_run_writes_nothing(radicale, tmp_path):
    from daemon.state import paths

    radicale.put("ada", WEEKLY)
    config = write_config(tmp_path, radicale, extra=["write_back = true"])
    dry = run("sync", "--dry-run", "--json", "--now", "2026-11-20T09:00+01:00", "--config",
              str(config))
    assert dry.exit_code == 0, dry.output
    [source] = json.loads(dry.stdout)["sources"]
    assert source["name"] == "dav" and source["ok"] and source["events"] == 1
    state = paths.state_dir()
    assert not list(state.rglob("*.caldav.json")) and not (state / "state.json").exists()
    assert not [r for r in radicale.requests if r.method == "PUT"]
    done = run("sync", "--now", "2026-11-20T09:00+01:00", "--config", str(config))
    assert done.exit_code == 0, done.output
    [kept] = state.rglob("*.caldav.json")
    assert kept.stat().st_mode & 0o777 == 0o600
    assert PASSWORD not in kept.read_text()
