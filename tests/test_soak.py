"""bench/soak.py runs: a short soak ends with its one summary line and exit 0 (the
figures themselves are the bench's business, not a test's)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SOAK = Path(__file__).resolve().parents[1] / "bench" / "soak.py"
LINE = re.compile(r"soak: cycles=12 rss_mb=\d+\.\d->\d+\.\d fds=\d+->\d+ threads=\d+->\d+ "
                  r"state_kb=\d+\.\d->\d+\.\d")


def test_a_short_soak_ends_with_its_summary_line_and_succeeds():
    done = subprocess.run([sys.executable, str(SOAK), "--cycles", "12"], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert LINE.fullmatch(last), last
    assert "mail(s) sent" in done.stdout  # the report and the nudges went through SMTP
