"""One state, every output: `scan --json`, `status --json` and the weekly report name the
same people as needing attention, and a source that was never read makes everyone it
would have told about "unknown" in all of them, with no erosion flag anywhere."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from daemon.cli.main import main

from feedserver import FeedServer, Reply

DEMO_CONFIG = (resources.files("daemon") / "demo" / "config.toml").read_text()
DEMO_ICS = (resources.files("daemon") / "demo" / "demo.ics").read_bytes()
NOW = "2026-11-20T09:00+01:00"


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    for name in ("CONFIG", "STATE", "DATA", "CACHE"):
        monkeypatch.setenv(f"XDG_{name}_HOME", str(tmp_path / name.lower()))
    return tmp_path


def configure(home: Path, url: str) -> Path:
    text = re.sub(r'(?m)^url = .*$', f'url = "{url}"', DEMO_CONFIG)
    path = home / "config.toml"
    path.write_text(text)
    return path


def cli(config: Path, *args: str):
    return CliRunner().invoke(main, ["--config", str(config), *args])


def report_attention(text: str) -> list[str]:
    section = text.split("NEEDS ATTENTION", 1)[1].split("EVERY RELATIONSHIP", 1)[0]
    return re.findall(r"(?m)^\d+\. (.+)$", section)


def test_scan_status_and_report_agree_on_who_needs_attention(home: Path, server: FeedServer):
    server.routes["/demo.ics"] = Reply(body=DEMO_ICS)
    config = configure(home, server.url("/demo.ics"))
    assert cli(config, "sync", "--now", NOW).exit_code == 0

    scan = json.loads(cli(config, "scan", "--now", NOW, "--json").stdout)
    by_scan = sorted(r["name"] for r in scan["relationships"] if r["needs_attention"])
    status = json.loads(cli(config, "status", "--json").stdout)
    by_status = sorted(p["name"] for p in status["people"] if p["attention"])
    report = cli(config, "report", "--now", NOW)
    assert report.exit_code == 0, report.output
    by_report = sorted(report_attention(report.stdout))

    assert by_scan  # the demo has people who need care, and people who do not
    assert len(by_scan) < len(scan["relationships"])
    assert by_scan == by_status == by_report
    assert f"{len(by_report)} of your {len(scan['relationships'])} one-on-ones" in report.stdout


def test_a_source_never_read_makes_everyone_unknown_with_no_flags(home: Path,
                                                                  server: FeedServer):
    server.routes["/demo.ics"] = Reply(status=503, body=b"down")
    config = configure(home, server.url("/demo.ics"))
    assert cli(config, "sync", "--now", NOW).exit_code == 3

    scan = json.loads(cli(config, "scan", "--now", NOW, "--json").stdout)
    assert scan["relationships"], "the configured people are still listed"
    for rel in scan["relationships"]:
        assert rel["unknown"].startswith("demo has not been read (HTTP 503")
        assert rel["flags"] == [] and rel["needs_attention"] is False
        assert rel["attention"] == []
    assert "no series" not in cli(config, "scan", "--now", NOW).stdout

    status = cli(config, "status", "--json")
    people = json.loads(status.stdout)["people"]
    assert {p["name"] for p in people} == {r["name"] for r in scan["relationships"]}
    for person in people:
        assert person["unknown"].startswith("demo has not been read")
        assert person["flags"] == {} and person["attention"] == []
    table = cli(config, "status").stdout
    assert "no series" not in table and "nothing booked" not in table

    report = cli(config, "report", "--now", NOW).stdout
    assert report_attention(report) == []
    assert "no 1:1 for" not in report.lower() and "nothing booked" not in report
    [line] = [line for line in report.split("\n\n") if line.startswith("Not known yet:")]
    assert "demo has not been read" in line


def test_status_lists_only_the_sources_of_the_current_configuration(home: Path,
                                                                    server: FeedServer):
    server.routes["/demo.ics"] = Reply(body=DEMO_ICS)
    server.routes["/old.ics"] = Reply(status=404, body=b"gone")
    config = configure(home, server.url("/demo.ics"))
    both = home / "both.toml"
    both.write_text(config.read_text()
                    + f'\n[[sources]]\nname = "old"\nurl = "{server.url("/old.ics")}"\n')
    assert cli(both, "sync", "--now", NOW).exit_code == 3

    # The source is removed from the config: its state is kept, but not shown as failing.
    status = cli(config, "status", "--json")
    assert [s["name"] for s in json.loads(status.stdout)["sources"]] == ["demo"]
    table = cli(config, "status")
    assert "old" not in table.output.split("Sources", 1)[1]
    assert "failing" not in table.output
    kept = json.loads((home / "state" / "cadenced" / "state.json").read_text())["sources"]
    assert len(kept) == 2


def test_a_failed_source_is_reported_once(home: Path, server: FeedServer):
    server.routes["/demo.ics"] = Reply(status=500, body=b"boom")
    config = configure(home, server.url("/demo.ics"))
    for args in (("scan", "--now", NOW), ("scan", "--now", NOW, "--json"),
                 ("sync", "--now", NOW)):
        result = CliRunner().invoke(main, ["--config", str(config), *args])
        assert result.exit_code == 3
        said = result.stdout + result.stderr
        assert said.count("source 'demo' failed: HTTP 500") == 1, (args, said)
        assert "WARNING" not in said


def test_brackets_in_messages_print_as_written(home: Path, server: FeedServer):
    """Regression: terminal markup must not swallow ``[[people]]`` or ``[[sources]]``."""
    server.routes["/empty.ics"] = Reply(body=b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
                                        b"PRODID:x\r\nEND:VCALENDAR\r\n")
    config = home / "bare.toml"
    config.write_text('[owner]\nemail = "me@example.com"\ntimezone = "Europe/Berlin"\n\n'
                      f'[[sources]]\nname = "work"\nurl = "{server.url("/empty.ics")}"\n')
    scan = cli(config, "scan", "--now", NOW)
    assert "Check [[people]] and owner.email" in scan.stdout
    auth = cli(config, "auth", "google")
    assert auth.exit_code == 2 and "add a [[sources]] entry" in auth.stderr
