"""``cadenced auth caldav``: tests the login against a real Radicale and lists the
calendars, marking the one the source reads; a refused login names the fix."""

from __future__ import annotations

from caldavserver import PASSWORD, USER
from click.testing import CliRunner

from daemon.cli.main import main


def write_config(tmp_path, radicale, *, password=PASSWORD, calendar=None):
    lines = ['[owner]', 'email = "me@example.com"', 'timezone = "Europe/Berlin"', '',
             '[[sources]]', 'name = "dav"', 'type = "caldav"', f'url = "{radicale.url("/")}"',
             f'username = "{USER}"', f'password_command = "echo {password}"']
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
