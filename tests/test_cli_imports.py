"""`cadenced --help` and a scan of a local ICS file load only what they use: not the
Google client, httpx, the agenda server, jinja2, the report, rich or TinyDB.

Each check runs in a fresh interpreter, since this test process has loaded them all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

HEAVY = ("googleapiclient", "google.auth", "google_auth_oauthlib", "httpx", "httplib2",
         "jinja2", "daemon.service.server", "daemon.render", "daemon.service.report",
         "apscheduler", "rich", "tinydb")

PROBE = """
import json, sys
from daemon.cli.main import main
try:
    main(sys.argv[1:], prog_name="cadenced")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded_by(*args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                          text=True, timeout=60, check=False)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_help_loads_no_heavy_module():
    assert heavy(loaded_by("--help")) == []


def test_ics_scan_loads_no_heavy_module(tmp_path: Path):
    feed = tmp_path / "cal.ics"
    feed.write_bytes((resources.files("daemon") / "demo" / "demo.ics").read_bytes())
    config = tmp_path / "config.toml"
    config.write_text(f'[owner]\nemail = "maya@example.com"\ntimezone = "Europe/Berlin"\n\n'
                      f'[[sources]]\nname = "work"\nurl = "{feed}"\n')
    modules = loaded_by("--config", str(config), "scan", "--json",
                        "--now", "2026-11-20T09:00:00+01:00")
    assert "connectors.ics.parse" in modules  # the scan really ran
    assert heavy(modules) == []
