"""Benchmark `cadenced suggest` against the cold scan of the same calendar.

``python bench/suggest.py [--pairs 5]``

On the five-year, 15-person calendar of bench/generate.py (made when missing, as
bench/run.py makes it), runs ``cadenced scan --json`` and ``cadenced suggest --json``
as subprocesses side by side, ``--pairs`` times, and prints the median of the
suggest/scan ratios. ``suggest`` reads every event of every source (busy time), not
only the possible 1:1s, so it costs more than a scan; the figure says how much.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from run import CONFIG, ensure_files  # noqa: E402

NOW = "2026-11-20T09:00:00+01:00"


def timed(*args: str) -> float:
    cadenced = Path(sys.executable).parent / "cadenced"
    start = time.perf_counter()
    subprocess.run([str(cadenced), "--config", str(CONFIG), *args, "--json", "--now", NOW],
                   check=False, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=5)
    options = parser.parse_args()
    ensure_files()
    ratios, scans, suggests = [], [], []
    for _ in range(options.pairs):
        scan, suggest = timed("scan"), timed("suggest")
        scans.append(scan)
        suggests.append(suggest)
        ratios.append(suggest / scan)
    print(f"cold scan (subprocess): median {statistics.median(scans):.2f} s")
    print(f"suggest (subprocess):   median {statistics.median(suggests):.2f} s")
    print(f"suggest / cold scan: {statistics.median(ratios):.2f}x (median of {options.pairs} "
          "pairs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
