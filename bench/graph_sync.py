"""Benchmark cadenced's Microsoft 365 source (calendarView/delta) against the local
Graph emulator: the Graph calls and the time of a cold sync, a no-change cycle and a
cycle after one moved occurrence.

``python bench/graph_sync.py [--repeat 3] [--check] [--seed 1]``

Fills the emulator of ``tests/graph_emulator.py`` (TLS with a throw-away CA from
``tests/pki.py``, in this process) with a generated calendar: 15 weekly or
fortnightly 1:1 series and 400 one-off meetings around 2026-11-20, the analysis
window's day. Then, best of ``--repeat`` runs, ``MicrosoftCalendar.read`` as the
daemon calls it (the owner's zone, no prefilter):

- baseline: a cold sync: a new source with an empty cache: every page of
  ``calendarView/delta`` (200 a page), one GET per series master (its recurrence
  and cancelled occurrences), the kept copy written, everything mapped;
- no-change cycle: the same source again: one delta call (no items), the mapping
  kept from the last read reused. Target: exactly 1 Graph call, under 0.2x;
- one moved occurrence: one 1:1 occurrence moved between reads (untimed): one delta
  call with one item and one GET of its master, the kept copy written and mapped
  again. Target: exactly 2 Graph calls.

The figures include the emulator's own work and the loopback TLS, under the same
GIL; the ratios and the call counts are what the targets are about. Exits 0 (it
reports); with ``--check`` it exits 1 when a target is missed.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.append(str(BENCH.parent / "tests"))

# ruff: noqa: E402
import argparse
import random
import tempfile
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from connectors.microsoft.calendar import MicrosoftCalendar
from connectors.microsoft.token import TokenFile

from graph_emulator import Emulator
from graphserver import sign_in, source_config
from pki import make_pki

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 20, 9, tzinfo=BERLIN)
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


def fill(graph: Emulator, seed: int) -> list[dict]:
    rng = random.Random(seed)
    masters = []
    for n in range(15):
        day = rng.randrange(5)
        first = datetime(2026, 6, 1, 9 + n % 8, tzinfo=BERLIN) + timedelta(days=day)
        masters.append(graph.add_event(
            subject=f"1:1 Person {n}", start=first, minutes=30,
            attendees=[(f"p{n}@example.com", "accepted")],
            recurrence={"pattern": {"type": "weekly", "interval": 1 + n % 2,
                                    "daysOfWeek": [DAYS[first.weekday()]],
                                    "firstDayOfWeek": "sunday"},
                        "range": {"type": "noEnd", "startDate": first.date().isoformat()}}))
    for n in range(400):
        start = NOW + timedelta(days=rng.randrange(-95, 40), hours=rng.randrange(0, 8))
        people = [(f"t{rng.randrange(60)}@example.com", "accepted")
                  for _ in range(rng.randrange(1, 8))]
        graph.add_event(subject=f"Meeting {n}", start=start, minutes=rng.choice([30, 60]),
                        attendees=people)
    return masters


def source(graph: Emulator, folder: Path) -> MicrosoftCalendar:
    config = source_config(graph, name="bench")
    token = folder / "token.json"
    if not token.exists():
        sign_in(graph, token)
    calendar = MicrosoftCalendar(config, token=TokenFile(token, source=config),
                                 cache_dir=folder / "cache", clock=lambda: NOW)
    (folder / "cache").mkdir(exist_ok=True)
    return calendar


def timed(graph: Emulator, action) -> tuple[float, int]:
    before = len(graph.graph_requests())
    start = time.perf_counter()
    action()
    return time.perf_counter() - start, len(graph.graph_requests()) - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    rows: dict[str, list[tuple[float, int]]] = {"cold": [], "no change": [], "one moved": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pki = make_pki(folder)
        graph = Emulator(pki.server_context())
        graph.ca_file = str(pki.ca_file)
        masters = fill(graph, args.seed)
        for run in range(args.repeat):
            run_dir = folder / f"run{run}"
            run_dir.mkdir()
            calendar = source(graph, run_dir)
            read = lambda c=calendar: c.read(tz=BERLIN, interest=None)  # noqa: E731
            rows["cold"].append(timed(graph, read))
            rows["no change"].append(timed(graph, read))
            master = masters[run % len(masters)]
            first = datetime.fromisoformat(master["start"]["dateTime"][:19]).replace(
                tzinfo=BERLIN)  # the master's own zone, W. Europe Standard Time
            slot = first + timedelta(weeks=24 + run * 2)
            graph.move_occurrence(master["id"], slot, slot + timedelta(hours=2))
            rows["one moved"].append(timed(graph, read))
        graph.stop()
    best = {name: min(values) for name, values in rows.items()}
    base = best["cold"][0]
    print(f"{'step':<12} {'seconds':>9} {'ratio':>7} {'Graph calls':>12}")
    for name, (seconds, calls) in best.items():
        print(f"{name:<12} {seconds:>9.4f} {seconds / base:>6.2f}x {calls:>12}")
    missed = []
    if best["no change"][1] != 1 or best["no change"][0] / base > 0.2:
        missed.append("no change: 1 call, under 0.2x")
    if best["one moved"][1] != 2:
        missed.append("one moved: 2 calls")
    for miss in missed:
        print(f"target missed: {miss}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
