"""The built wheel carries both import packages and their data files."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(300)
def test_wheel_carries_daemon_connectors_and_the_demo(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path),
         str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    [wheel] = tmp_path.glob("cadenced-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("daemon/__init__.py", "daemon/cli/main.py", "daemon/core/rules.py",
                     "connectors/__init__.py", "connectors/ics/parse.py",
                     "daemon/demo/demo.ics", "daemon/demo/config.toml",
                     "daemon/systemd/cadenced.service",
                     "daemon/render/templates/report.html.j2",
                     "daemon/render/templates/serve/health.html.j2",
                     "daemon/render/templates/serve/agenda.html.j2"):
        assert required in names, required
    assert not any(n.startswith(("tests/", "bench/")) for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "cadenced = daemon.cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
