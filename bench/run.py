"""Benchmark cadenced's scan on a large generated manager calendar.

``python bench/run.py [--repeat 3] [--check]``

Generates bench/out/manager.ics and bench/out/config.toml when missing (see
bench/generate.py), then measures, best of ``--repeat`` runs, in this one process:

- baseline: ``icalendar.Calendar.from_ical`` of the file's bytes, nothing else;
- cold scan: config loaded, sources built, ``daemon.service.scan.scan`` run (fetch, sketch,
  parse what could be a 1:1, analyze), with new source objects every time;
- cold scan as a subprocess: ``cadenced scan --json``, wall time with start-up;
- no-change sync cycle: the daemon's Syncer over a Store, 15 minutes later, file
  unchanged: fetch and hash, no parse, analyze, no state write;
  no parse, analyze.

Figures depend on the machine; the ratios, measured in the same run, are what the
targets are about. Exits 0 (it reports); with ``--check`` it exits 1 when a target
is missed.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import platform
import shutil
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
COLD_TARGET = 0.25  # cold scan in-process, times the baseline
NO_CHANGE_TARGET = 0.05  # no-change cycle, times the cold scan


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
    header = ["measurement", "seconds", "vs baseline", "target", "measured", "result"]
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


def cadenced_script() -> str | None:
    script = Path(sys.executable).parent / "cadenced"
    if script.exists():
        return str(script)
    return shutil.which("cadenced")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    repeat = max(1, args.repeat)

    ensure_files()
    data = ICS.read_bytes()
    config = load_config(CONFIG).config
    now = parse_now(NOW, config.owner.tz)  # as `cadenced scan --now` reads it
    print(f"calendar: {ICS.relative_to(BENCH.parent)}, {data.count(b'BEGIN:VEVENT')} VEVENTs, "
          f"{len(data) / 1e6:.1f} MB")
    print(f"python {platform.python_version()}, icalendar {version('icalendar')}, "
          f"recurring-ical-events {version('recurring-ical-events')}, "
          f"{os.cpu_count()} CPUs, best of {repeat}")

    baseline = best_of(repeat, lambda: Calendar.from_ical(data))

    def cold() -> None:
        fresh = load_config(CONFIG).config
        result = scan(fresh, build_sources(fresh), now)
        if not result.all_sources_ok:  # a failed read would look fast
            raise SystemExit(f"scan failed: {[s.error for s in result.sources if not s.ok]}")

    cold_seconds = best_of(repeat, cold)

    script = cadenced_script()
    sub_seconds = None
    if script is not None:
        command = [script, "--config", str(CONFIG), "scan", "--now", NOW, "--json"]

        def subprocess_scan() -> None:
            done = subprocess.run(command, capture_output=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"cadenced scan failed ({done.returncode}): "
                                 f"{done.stderr.decode(errors='replace')}")

        sub_seconds = best_of(repeat, subprocess_scan)

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

    rows = [
        Row("baseline: icalendar from_ical", baseline, baseline),
        Row("cold scan (in-process)", cold_seconds, baseline,
            f"<= {COLD_TARGET}x baseline", cold_seconds / baseline, COLD_TARGET),
        Row("cold scan (subprocess, cadenced scan --json)", sub_seconds, baseline),
        Row("no-change sync cycle (read, analyze, state)", no_change, baseline,
            f"<= {NO_CHANGE_TARGET}x cold scan", no_change / cold_seconds, NO_CHANGE_TARGET),
        Row("  of which: source.read (fetch + hash)", read_only, baseline,
            "(x cold scan)", read_only / cold_seconds),
        Row("  of which: analyze", analyze_only, baseline,
            "(x cold scan)", analyze_only / cold_seconds),
    ]
    print()
    print(table(rows))
    print()
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
