"""The command line takes its options where people type them.

``--config FILE`` and ``--verbose`` work before or after the subcommand, for every
subcommand; each ``--help`` lists them; a command line cadenced cannot read exits with
its own status (64), apart from a bad configuration (2); group help shows each
command's summary whole.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from daemon.cli.commands import EXIT_USAGE
from daemon.cli.main import main

DEMO_ICS = resources.files("daemon") / "demo" / "demo.ics"
NOW = "2026-11-20T09:00+01:00"


def commands(group: click.Group = main, prefix: tuple[str, ...] = ()):
    """Every (path, command) under ``group``, groups included."""
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        yield path, command
        if isinstance(command, click.Group):
            yield from commands(command, path)


ALL = list(commands())


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "demo.ics").write_bytes(DEMO_ICS.read_bytes())
    path = tmp_path / "cadenced.toml"
    path.write_text('[owner]\nemail = "maya@example.com"\ntimezone = "Europe/Berlin"\n\n'
                    '[[sources]]\nname = "demo"\nurl = "demo.ics"\n\n'
                    '[[people]]\nname = "Ana Silva"\nemail = "ana@example.com"\n'
                    "cadence_days = 14\n")
    return path


def test_every_command_is_covered_here():
    names = {" ".join(path) for path, _ in ALL}
    assert names == {"agenda", "auth", "auth caldav", "auth google", "auth microsoft",
                     "auth revoke",
                     "auth status", "demo",
                     "report", "run", "scan", "serve", "service", "service install",
                     "service uninstall", "status", "suggest", "sync", "book"}


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=[" ".join(p) for p, _ in ALL])
def test_help_lists_the_global_options(path):
    result = run(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "--verbose" in result.stdout
    if path != ("demo",):  # the demo brings its own configuration
        assert "--config FILE" in result.stdout


@pytest.mark.parametrize("group", [main, main.commands["auth"], main.commands["service"]],
                         ids=["cadenced", "auth", "service"])
def test_group_help_shows_whole_one_line_summaries(group):
    path = [] if group is main else [group.name]
    lines = run(*path, "--help").stdout.split("Commands:\n", 1)[1].rstrip("\n").split("\n")
    assert len(lines) == len(group.commands), "a summary wrapped onto a second line"
    for line in lines:
        name, summary = line.split(None, 1)
        first = (group.commands[name].help or "").strip().split("\n")[0]
        assert summary.strip() == first, f"{name}: summary cut or changed"
        assert not summary.endswith("...")


def _both_ways(config: Path, *command: str, rest: tuple[str, ...] = ()):
    """The same call with --config before and after the subcommand."""
    before = run("--config", str(config), *command, *rest)
    after = run(*command, *rest, "--config", str(config))
    return before, after


@pytest.mark.parametrize("command,rest,code,expect", [
    (("scan",), ("--now", NOW, "--json"), 0, '"name": "Ana Silva"'),
    (("sync",), ("--now", NOW, "--json"), 0, '"name": "Ana Silva"'),
    (("report",), ("--now", NOW), 0, "Ana Silva"),
    (("agenda",), ("--now", NOW, "--print"), 0, None),
    (("suggest",), ("--now", NOW, "--json"), 0, '"suggestions"'),
    (("book",), ("ana@example.com", "--dry-run", "--now", NOW), 1, "pass --ics FILE.ics"),
    (("serve",), (), 2, "the server is off"),
    (("auth", "google"), (), 2, 'no source with type = "google"'),
    (("auth", "microsoft"), (), 2, 'no source with type = "microsoft"'),
    (("auth", "revoke"), (), 2, 'no source with type = "google"'),
    (("auth", "status"), (), 0, 'No source with type = "google"'),
], ids=lambda v: " ".join(v) if isinstance(v, tuple) else None)
def test_config_before_or_after_the_subcommand(config: Path, command, rest, code, expect):
    before, after = _both_ways(config, *command, rest=rest)
    for result in (before, after):
        assert result.exit_code == code, result.output
        if expect:
            assert expect in result.output
    assert before.stdout == after.stdout


def test_status_reads_the_config_given_after_it(config: Path):
    assert run("--config", str(config), "sync", "--now", NOW).exit_code == 0
    before, after = _both_ways(config, "status", rest=("--json",))
    assert before.exit_code == after.exit_code == 0
    assert f'"config": "{config}"' in after.stdout
    assert before.stdout == after.stdout


def test_run_takes_the_config_after_it(tmp_path: Path):
    missing = tmp_path / "nowhere.toml"
    before, after = _both_ways(missing, "run")
    for result in (before, after):
        assert result.exit_code == 2
        assert f"no configuration file at {missing}" in result.stderr


@pytest.mark.parametrize("command", [("service", "install", "--print")])
def test_service_install_puts_the_config_into_the_unit(config: Path, command):
    before, after = _both_ways(config, *command)
    for result in (before, after):
        assert result.exit_code == 0, result.output
        assert re.search(rf"^ExecStart=.* --config {re.escape(str(config))} run$",
                         result.stdout, re.M)
    assert before.stdout == after.stdout


def test_service_uninstall_takes_the_options_after_it(config: Path):
    before, after = _both_ways(config, "service", "uninstall", rest=("--print",))
    assert before.exit_code == after.exit_code == 0
    assert "systemctl --user disable --now cadenced.service" in after.stdout


def test_verbose_after_the_subcommand_turns_on_debug_logging(config: Path):
    quiet = run("scan", "--config", str(config), "--now", NOW)
    loud = run("scan", "--config", str(config), "--now", NOW, "--verbose")
    short = run("scan", "-v", "--config", str(config), "--now", NOW)
    assert quiet.exit_code == loud.exit_code == short.exit_code == 0
    assert "DEBUG:" not in quiet.stderr
    assert "DEBUG:" in loud.stderr and "DEBUG:" in short.stderr


@pytest.mark.parametrize("args", [["scan", "--bogus"], ["nope"], ["auth", "nope"],
                                  ["service", "install", "--bogus"], ["report", "--now"]])
def test_usage_errors_have_their_own_exit_status(args):
    result = run(*args)
    assert result.exit_code == EXIT_USAGE, result.output
    assert "Error:" in result.stderr


def test_a_bad_configuration_is_not_a_usage_error(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[owner]\nemail = "nope"\n')
    assert run("scan", "--config", str(path)).exit_code == 2


def test_force_without_send_is_refused(config: Path):
    result = run("report", "--force", "--config", str(config), "--now", NOW)
    assert result.exit_code == EXIT_USAGE
    assert "--force only goes with --send" in result.stderr
