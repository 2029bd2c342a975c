"""Benchmark cadenced's scan on a large generated manager calendar.

``python bench/run.py [--repeat 3] [--pairs 5] [--check]``

Generates bench/out/manager.ics and bench/out/config.toml when missing (see
bench/generate.py), then measures:

- the target pair, in one process tree, ``--pairs`` times: the bare parse as a
  subprocess (``python -c`` reading the file and calling
  ``icalendar.Calendar.from_ical``, start-up included) and right after it the cold
  scan as a subprocess (``cadenced scan --json``, start-up included); the median of
  the per-pair ratios is the figure the target is about;
- ``cadenced --help`` as a subprocess, the median of as many runs: start-up alone;
- in this process, best of ``--repeat``: the bare parse, the cold scan (config
  loaded, sources built, ``daemon.service.scan.scan`` run with new source objects
  every time), and a no-change sync cycle (the daemon's Syncer over a Store, 15
  minutes later, file unchanged: fetch and hash, no parse, analyze, no state write).

Subprocesses run with bytecode caching on (as an installed cadenced has it), after
one untimed warm-up run each. Figures depend on the machine; the ratios, measured
in the same run, are what the targets are about. Exits 0 (it reports); with
``--check`` it exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path
from types import ModuleType

from icalendar import Calendar

from connectors.registry import build_sources
from daemon.cli.common import parse_now
from daemon.config import load_config
from daemon.core.detection import Directory
from daemon.core.rules import analyze
from daemon.service.scan import scan
from daemon.service.sync import Syncer
from daemon.state.store import Store

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
ICS = OUT / "manager.ics"
CONFIG = OUT / "config.toml"
NOW = "2026-11-20T09:00:00+01:00"
COLD_TARGET = 0.12  # cold scan as a subprocess, times the bare parse as a subprocess
HELP_TARGET = 0.15  # seconds for `cadenced --help`
NO_CHANGE_TARGET = 0.05  # no-change cycle, times the cold scan (in-process)
BARE_PARSE = ("import sys\nfrom icalendar import Calendar\n"
              "with open(sys.argv[1], 'rb') as f:\n    Calendar.from_ical(f.read())\n")


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_generate", BENCH / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def ensure_files() -> None:
    if ICS.exists() and CONFIG.exists():
        return
    count, size = load_generator().write(ICS, config=CONFIG)
    print(f"generated {ICS.relative_to(BENCH.parent)}: {count} VEVENTs, {size / 1e6:.1f} MB")


def best_of(repeat: int, run: Callable[[], object],
            setup: Callable[[], object] | None = None) -> float:
    """The shortest of ``repeat`` timed calls of ``run`` (``setup`` untimed before each)."""
    best = float("inf")
    for _ in range(repeat):
        if setup is not None:
            setup()
        gc.collect()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


@dataclass
class Row:
    name: str
    seconds: float | None
    baseline: float
    target: str = "-"
    measured: float | None = None  # the ratio the target is about
    limit: float | None = None

    @property
    def verdict(self) -> str:
        if self.limit is None or self.measured is None:
            return ""
        return "PASS" if self.measured <= self.limit else "MISS"

    def cells(self) -> list[str]:
        if self.seconds is None:
            return [self.name, "n/a", "", self.target, "", "SKIP"]
        measured = f"{self.measured:.3f}" if self.measured is not None else ""
        return [self.name, f"{self.seconds:.3f}", f"{self.seconds / self.baseline:.3f}x",
                self.target, measured, self.verdict]


def table(rows: list[Row]) -> str:
    header = ["measurement", "seconds", "x bare parse", "target", "measured", "result"]
    cells = [header] + [r.cells() for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = []
    for i, cell in enumerate(cells):
        lines.append("  ".join(text.ljust(w) if j in (0, 3) else text.rjust(w)
                               for j, (text, w) in enumerate(zip(cell, widths, strict=True)))
                     .rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def child_env() -> dict[str, str]:
    """This environment with bytecode caching on, as an installed program runs."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_seconds(command: list[str]) -> float:
    """Wall time of one subprocess, start-up included; fails loudly when it fails."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False, env=child_env())
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):  # scan exits 1 when a relationship needs attention
        raise SystemExit(f"{command[0]} failed ({done.returncode}): "
                         f"{done.stderr.decode(errors='replace')}")
    return seconds


def pair_ratios(bare: list[str], scan_command: list[str],
                pairs: int) -> tuple[list[float], list[float]]:
    """``pairs`` times: the bare parse, then the cold scan, each as a subprocess."""
    run_seconds(bare)  # warm-up: file cache, bytecode
    run_seconds(scan_command)
    bares, scans = [], []
    for _ in range(pairs):
        bares.append(run_seconds(bare))
        scans.append(run_seconds(scan_command))
    return bares, scans


def cadenced_script() -> str | None:
    script = Path(sys.executable).parent / "cadenced"
    if script.exists():
        return str(script)
    return shutil.which("cadenced")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    parser.add_argument("--pairs", type=int, default=5,
                        help="bare parse / cold scan subprocess pairs (default 5)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    repeat = max(1, args.repeat)
    pairs = max(1, args.pairs)

    ensure_files()
    data = ICS.read_bytes()
    config = load_config(CONFIG).config
    now = parse_now(NOW, config.owner.tz)  # as `cadenced scan --now` reads it
    print(f"calendar: {ICS.relative_to(BENCH.parent)}, {data.count(b'BEGIN:VEVENT')} VEVENTs, "
          f"{len(data) / 1e6:.1f} MB")
    print(f"python {platform.python_version()}, icalendar {version('icalendar')}, "
          f"recurring-ical-events {version('recurring-ical-events')}, "
          f"{os.cpu_count()} CPUs, in-process best of {repeat}, subprocess medians of {pairs}")

    baseline = best_of(repeat, lambda: Calendar.from_ical(data))

    def cold() -> None:
        fresh = load_config(CONFIG).config
        result = scan(fresh, build_sources(fresh), now)
        if not result.all_sources_ok:  # a failed read would look fast
            raise SystemExit(f"scan failed: {[s.error for s in result.sources if not s.ok]}")

    cold_seconds = best_of(repeat, cold)

    script = cadenced_script()
    if script is None:
        raise SystemExit("no cadenced script next to this python or on PATH: pip install -e .")
    scan_command = [script, "--config", str(CONFIG), "scan", "--now", NOW, "--json"]
    bares, scans = pair_ratios([sys.executable, "-c", BARE_PARSE, str(ICS)], scan_command,
                               pairs)
    ratios = [s / b for s, b in zip(scans, bares, strict=True)]
    run_seconds([script, "--help"])
    helps = [run_seconds([script, "--help"]) for _ in range(pairs)]

    # The daemon's steady state: the same Syncer (sources, store) syncing again 15
    # minutes later, the file unchanged: no parse and no state write expected.
    state_dir = Path(tempfile.mkdtemp(prefix="cadenced-bench-"))
    try:
        with Store.open(state_dir) as store:
            syncer = Syncer(config, store)
            first = syncer.sync(now).scan
            sources = syncer.sources
            parses_before = [getattr(s, "parses", 0) for s in sources]
            commits_before = store.storage.commits
            step = iter(range(1, 10_000))
            no_change = best_of(max(repeat, 5), lambda: syncer.sync(
                now + timedelta(minutes=15 * next(step))))
            writes = store.storage.commits - commits_before
            # where the no-change cycle's time goes: reading (fetch, hash) and the rules
            interest = Directory.from_config(config)
            tz = config.owner.tz
            read_only = best_of(max(repeat, 5),
                                lambda: [s.read(tz=tz, interest=interest) for s in sources])
            events = [e for s in sources for e in s.read(tz=tz, interest=interest).events]
            analyze_only = best_of(max(repeat, 5), lambda: analyze(events, config, now))
            reparsed = [getattr(s, "parses", 0) for s in sources] != parses_before
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    kept = len(events)
    total = sum(r.events for r in first.sources)

    bare_sub, scan_sub = statistics.median(bares), statistics.median(scans)
    cold_ratio, help_seconds = statistics.median(ratios), statistics.median(helps)
    rows = [
        Row("bare parse (subprocess, python -c from_ical)", bare_sub, bare_sub),
        Row("cold scan (subprocess, cadenced scan --json)", scan_sub, bare_sub,
            f"<= {COLD_TARGET}x bare parse", cold_ratio, COLD_TARGET),
        Row("cadenced --help (subprocess)", help_seconds, bare_sub,
            f"<= {HELP_TARGET} s", help_seconds, HELP_TARGET),
        Row("baseline: icalendar from_ical (in-process)", baseline, bare_sub),
        Row("cold scan (in-process)", cold_seconds, bare_sub,
            "(x in-process baseline)", cold_seconds / baseline),
        Row("no-change sync cycle (read, analyze, state)", no_change, bare_sub,
            f"<= {NO_CHANGE_TARGET}x cold scan", no_change / cold_seconds, NO_CHANGE_TARGET),
        Row("  of which: source.read (fetch + hash)", read_only, bare_sub,
            "(x cold scan)", read_only / cold_seconds),
        Row("  of which: analyze", analyze_only, bare_sub,
            "(x cold scan)", analyze_only / cold_seconds),
    ]
    print()
    print(table(rows))
    print()
    print(f"cold scan / bare parse, per pair: {', '.join(f'{r:.3f}' for r in ratios)}; "
          f"median {cold_ratio:.3f}x (target <= {COLD_TARGET}x)")
    print(f"cadenced --help: median {help_seconds:.3f} s (target < {HELP_TARGET} s)")
    print(f"prefilter: {kept} of {total} events parsed; "
          f"{len(first.analysis.relationships)} relationships; "
          f"no-change cycles re-parsed: {'yes (!)' if reparsed else 'no'}, "
          f"wrote the state: {f'{writes} times (!)' if writes else 'no'}")
    missed = [r.name for r in rows if r.verdict == "MISS"] + (
        ["no-change re-parse"] if reparsed else []) + (["no-change state write"] if writes else [])
    if missed:
        print("missed: " + ", ".join(missed))
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
