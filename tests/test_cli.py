"""`cadenced scan` and `cadenced demo` end to end: real HTTP server, real config files."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from daemon.cli.main import main

from feedserver import FeedServer, Reply

DEMO_ICS = (resources.files("daemon") / "demo" / "demo.ics").read_bytes()
FLAG_KINDS = {"rescheduled", "shortened", "cancelled", "declined", "missed_cadence",
              "cadence_reduced", "no_upcoming"}


def write_config(tmp_path: Path, sources: list[tuple[str, str]]) -> Path:
    blocks = "".join(f'[[sources]]\nname = "{n}"\nurl = "{u}"\n\n' for n, u in sources)
    text = f'''[owner]
email = "maya@example.com"
timezone = "Europe/Berlin"

{blocks}
[[people]]
name = "Ana Silva"
email = "ana@example.com"
cadence_days = 14
'''
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def run(*args: str):
    result = CliRunner().invoke(main, list(args))
    return result


def test_demo_runs_without_config_and_shows_every_flag_kind():
    result = run("demo", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    kinds = {f["kind"] for rel in doc["relationships"] for f in rel["flags"]}
    assert kinds == FLAG_KINDS
    assert doc["sources"] == [{"name": "demo", "ok": True, "error": None, "events": 16}]


def test_demo_table_names_people_and_problems():
    result = run("demo")
    assert result.exit_code == 0
    for text in ("Priya Raman", "Jonas Weber", "nothing booked", "cadence reduced", "declined"):
        assert text in result.stdout


def test_scan_json_has_the_documented_shape(tmp_path: Path, server: FeedServer):
    server.routes["/secret-k3y/basic.ics"] = Reply(body=DEMO_ICS)
    config = write_config(tmp_path, [("work", server.url("/secret-k3y/basic.ics"))])
    result = run("--config", str(config), "scan", "--now", "2026-11-20T09:00+01:00", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"now", "window", "sources", "relationships"}
    assert doc["now"] == "2026-11-20T09:00:00+01:00"
    assert doc["window"] == {"start": "2026-08-22T09:00:00+02:00",
                             "end": "2026-12-04T09:00:00+01:00"}
    rel = next(r for r in doc["relationships"] if r["person"] == "jonas@example.com")
    assert set(rel) == {"person", "name", "expected_interval_days", "cadence", "inferred_from",
                        "unknown", "last_held", "next_scheduled", "counts", "needs_attention",
                        "attention", "flags"}
    assert (rel["cadence"], rel["inferred_from"], rel["unknown"]) == ("series", None, None)
    assert set(rel["counts"]) == {"held", "rescheduled", "shortened", "cancelled", "declined"}
    occurrence = next(f for f in rel["flags"] if f["kind"] == "shortened")
    assert occurrence == {
        "kind": "shortened", "original_start": "2026-11-09T14:00:00+01:00",
        "start": "2026-11-09T14:00:00+01:00", "end": "2026-11-09T14:20:00+01:00",
        "planned_minutes": 45, "actual_minutes": 20, "source": "work",
        "uid": "jonas-weekly@demo"}
    missed = next(f for f in rel["flags"] if f["kind"] == "missed_cadence")
    assert set(missed) == {"kind", "since", "until", "gap_days", "expected_interval_days"}
    sam = next(r for r in doc["relationships"] if r["person"] == "sam@example.com")
    reduced = next(f for f in sam["flags"] if f["kind"] == "cadence_reduced")
    assert (reduced["from_days"], reduced["to_days"], reduced["effective"]) == (
        7, 14, "2026-10-08T11:00:00+02:00")
    # A person unknown to the config is named from the invite.
    assert next(r for r in doc["relationships"] if r["person"] == "priya@example.com")[
        "name"] == "Priya Raman"


def test_failed_source_exits_3_still_prints_and_keeps_secret(tmp_path: Path, server: FeedServer):
    server.routes["/good.ics"] = Reply(body=DEMO_ICS)
    server.routes["/secret-k3y/basic.ics"] = Reply(status=500, body=b"boom")
    config = write_config(tmp_path, [("good", server.url("/good.ics")),
                                     ("broken", server.url("/secret-k3y/basic.ics"))])
    result = run("--config", str(config), "scan", "--now", "2026-11-20T09:00+01:00", "--json")
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["sources"][1] == {"name": "broken", "ok": False,
                                 "error": "HTTP 500 Internal Server Error", "events": 0}
    assert len(doc["relationships"]) == 6
    assert "secret-k3y" not in result.output


def test_feed_outage_is_never_read_as_no_meetings(tmp_path: Path, server: FeedServer):
    server.routes["/cal.ics"] = Reply(status=200, body=b"<html><body>Sign in</body></html>",
                                      headers={"Content-Type": "text/html"})
    config = write_config(tmp_path, [("work", server.url("/cal.ics"))])
    result = run("--config", str(config), "scan", "--now", "2026-11-20T09:00+01:00", "--json")
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["sources"][0]["ok"] is False
    assert "HTML page" in doc["sources"][0]["error"]
    # Ana has a configured cadence, so she is listed, but no occurrence flag is invented.
    flags = [f["kind"] for r in doc["relationships"] for f in r["flags"]]
    assert "cancelled" not in flags


def test_failed_source_is_named_in_the_table(tmp_path: Path, server: FeedServer):
    server.routes["/cal.ics"] = Reply(status=429, body=b"slow down")
    config = write_config(tmp_path, [("work", server.url("/cal.ics"))])
    result = run("--config", str(config), "scan", "--now", "2026-11-20T09:00+01:00")
    assert result.exit_code == 3
    assert "source 'work' failed: HTTP 429 Too Many Requests" in result.stdout


def test_config_error_exits_2_and_names_the_key(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[owner]\nemail = "nope"\n[cadence]\nlookback_days = -1\n')
    result = run("--config", str(path), "scan")
    assert result.exit_code == 2
    assert "owner.email: 'nope' is not an email address" in result.stderr
    assert "cadence.lookback_days" in result.stderr
    assert "Traceback" not in result.output


def test_missing_config_exits_2_with_a_way_forward(tmp_path: Path):
    result = run("--config", str(tmp_path / "absent.toml"), "scan")
    assert result.exit_code == 2
    assert "no configuration file" in result.stderr and "cadenced demo" in result.stderr


def test_bad_now_exits_2(tmp_path: Path):
    result = run("demo", "--now", "next tuesday")
    assert result.exit_code == 2
    assert "--now 'next tuesday' is not an ISO 8601 date-time" in result.stderr


def test_now_without_offset_is_in_the_owner_zone():
    doc = json.loads(run("demo", "--now", "2026-11-20T09:00", "--json").stdout)
    assert doc["now"] == "2026-11-20T09:00:00+01:00"


def test_unknown_key_is_warned(tmp_path: Path, server: FeedServer, caplog):
    server.routes["/cal.ics"] = Reply(body=DEMO_ICS)
    path = write_config(tmp_path, [("work", server.url("/cal.ics"))])
    path.write_text(path.read_text() + "\n[cadence]\nlookback_dayz = 30\n")
    result = run("--config", str(path), "scan", "--now", "2026-11-20T09:00+01:00")
    assert result.exit_code == 0
    assert "unknown key 'cadence.lookback_dayz' is ignored" in caplog.text


def test_config_from_xdg_config_home(tmp_path: Path, server: FeedServer, monkeypatch):
    server.routes["/cal.ics"] = Reply(body=DEMO_ICS)
    folder = tmp_path / "xdg" / "cadenced"
    folder.mkdir(parents=True)
    write_config(folder, [("work", server.url("/cal.ics"))])
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    result = run("scan", "--now", "2026-11-20T09:00+01:00", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sources"][0]["name"] == "work"


@pytest.mark.timeout(60)
def test_console_script_exit_status():
    script = Path(sys.executable).parent / "cadenced"
    if not script.exists():
        pytest.skip("console script not installed next to this interpreter")
    done = subprocess.run([str(script), "demo", "--json"], capture_output=True, timeout=60)
    assert done.returncode == 0
    assert json.loads(done.stdout)["relationships"]


def test_status_without_state_says_how_to_start(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "nothing-here"))
    result = run("status")
    assert result.exit_code == 1
    assert "no state yet" in result.stderr
    assert "run `cadenced sync` once, or start the service" in result.stderr


def test_report_send_without_smtp_names_the_missing_section(tmp_path: Path, server: FeedServer):
    server.routes["/cal.ics"] = Reply(body=DEMO_ICS)
    config = write_config(tmp_path, [("work", server.url("/cal.ics"))])
    result = run("--config", str(config), "report", "--send", "--now", "2026-11-23T08:00+01:00")
    assert result.exit_code == 2
    assert "there is no [smtp] section to send the report with" in result.stderr
    assert "use --preview" in result.stderr


def test_serve_with_the_server_off_says_how_to_turn_it_on(tmp_path: Path, server: FeedServer):
    server.routes["/cal.ics"] = Reply(body=DEMO_ICS)
    config = write_config(tmp_path, [("work", server.url("/cal.ics"))])
    result = run("--config", str(config), "serve")
    assert result.exit_code == 2
    assert "the server is off" in result.stderr
    assert "set enabled = true under [server]" in result.stderr
