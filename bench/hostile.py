"""Hostile but small feeds stay cheap: cost grows linearly with the number of series.

``python bench/hostile.py [--sizes 10000,20000,40000] [--check]``

Generates, for each size N, a feed of N weekly series that each look like a 1:1
(the owner and one other person, a new person every series: the prefilter cannot
skip any of them), all under the default ``max_events`` of 50,000. Each feed is
scanned by ``cadenced scan --json`` in its own subprocess; its wall time and its peak
resident memory (the child's own ``ru_maxrss``) are printed as ratios to the first
(smallest) size. Linear growth means a ratio near N / N_first for time; memory has a
fixed part (the interpreter, the libraries), so its ratio stays at or below that.

With ``--check`` it exits 1 when the largest feed costs more than 1.25 x linear in
time (5x for 4x the series, by default) or its memory grows faster than the series
count, or a scan fails. A last line shows that a feed over ``max_events`` is refused
before it is parsed, in a fraction of the time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOW = "2026-11-20T09:00:00+01:00"
OWNER = "owner@example.com"
SLACK = 1.25  # the largest run may cost this many times linear growth


def feed(series: int) -> str:
    """``series`` weekly 1:1-looking series, each with its own person, over two years."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//cadenced bench//hostile//EN"]
    for i in range(series):
        day = 1 + i % 28
        hour = 8 + i % 9
        lines += [
            "BEGIN:VEVENT",
            f"UID:hostile-{i}@bench",
            "DTSTAMP:20261101T000000Z",
            f"DTSTART:2025{1 + i % 12:02d}{day:02d}T{hour:02d}0000Z",
            f"DTEND:2025{1 + i % 12:02d}{day:02d}T{hour:02d}3000Z",
            "RRULE:FREQ=WEEKLY",
            f"SUMMARY:Sync {i}",
            f"ORGANIZER:mailto:{OWNER}",
            f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{OWNER}",
            f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:p{i}@example.org",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def config(path: Path) -> str:
    return (f'[owner]\nemail = "{OWNER}"\ntimezone = "Europe/Berlin"\n\n'
            f'[[sources]]\nname = "hostile"\nurl = "{path}"\n')


def cadenced() -> str:
    script = Path(sys.executable).parent / "cadenced"
    return str(script) if script.exists() else (shutil.which("cadenced") or "cadenced")


def measure(config_file: Path) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS in MB, exit code and stderr of one scan in a subprocess."""
    command = [cadenced(), "--config", str(config_file), "scan", "--json", "--now", NOW]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    errors = child.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    kib = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss / 1024
    return seconds, kib / 1024, child.returncode, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,20000,40000",
                        help="series counts, smallest first (default 10000,20000,40000)")
    parser.add_argument("--check", action="store_true", help="exit 1 when growth is not linear")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    folder = Path(tempfile.mkdtemp(prefix="cadenced-hostile-"))
    problems: list[str] = []
    try:
        rows = []
        warm = folder / "warm.ics"  # one small scan first: bytecode, file cache
        warm.write_text(feed(100), encoding="utf-8")
        (folder / "config-warm.toml").write_text(config(warm), encoding="utf-8")
        measure(folder / "config-warm.toml")
        for n in sizes:
            ics = folder / f"hostile-{n}.ics"
            ics.write_text(feed(n), encoding="utf-8")
            conf = folder / f"config-{n}.toml"
            conf.write_text(config(ics), encoding="utf-8")
            seconds, rss, code, errors = measure(conf)
            if code not in (0, 1):  # 1: relationships need attention, still a scan
                problems.append(f"{n} series: scan failed ({code}): {errors.strip()[:200]}")
            rows.append((n, ics.stat().st_size, seconds, rss))
        base_n, _, base_s, base_rss = rows[0]
        print(f"hostile feeds: weekly 1:1-looking series, one person each "
              f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
        print(f"{'series':>8} {'MB':>6} {'seconds':>8} {'time x':>7} {'RSS MB':>7} "
              f"{'RSS x':>6} {'linear x':>8}")
        for n, size, seconds, rss in rows:
            print(f"{n:>8} {size / 1e6:>6.1f} {seconds:>8.2f} {seconds / base_s:>7.2f} "
                  f"{rss:>7.0f} {rss / base_rss:>6.2f} {n / base_n:>8.2f}")
        top_n, _, top_s, top_rss = rows[-1]
        linear = top_n / base_n
        time_x, rss_x = top_s / base_s, top_rss / base_rss
        verdict = ("linear" if time_x <= SLACK * linear and rss_x <= linear
                   else "NOT linear")
        print(f"growth from {base_n} to {top_n} series ({linear:g}x): time {time_x:.2f}x, "
              f"RSS {rss_x:.2f}x: {verdict} (bar: time <= {SLACK * linear:g}x, "
              f"RSS <= {linear:g}x)")
        if verdict != "linear":
            problems.append(f"growth is not linear: time {time_x:.2f}x, RSS {rss_x:.2f}x "
                            f"for {linear:g}x the series")

        over = 50_001
        ics = folder / "over.ics"
        ics.write_text(feed(over), encoding="utf-8")
        conf = folder / "config-over.toml"
        conf.write_text(config(ics), encoding="utf-8")
        seconds, rss, code, errors = measure(conf)
        refused = "max_events" in errors
        print(f"{over} series (over max_events = 50000): refused={'yes' if refused else 'NO'}, "
              f"{seconds:.2f} s ({seconds / top_s:.2f}x the {top_n}-series scan), "
              f"{rss:.0f} MB")
        if not refused:
            problems.append(f"a feed of {over} series was not refused")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for problem in problems:
        print("missed: " + problem)
    return 1 if args.check and problems else 0


if __name__ == "__main__":
    sys.exit(main())
