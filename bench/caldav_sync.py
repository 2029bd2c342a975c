"""Benchmark cadenced's CalDAV source (sync-collection) against a real local Radicale.

``python bench/caldav_sync.py [--years 1] [--repeat 3] [--check]``

Generates a manager's calendar with bench/generate.py (``--years`` of it, 15
reports), stores it in a Radicale on 127.0.0.1 (tests/caldavserver.py: temporary
storage, htpasswd login) as a CalDAV server holds it, one resource per UID, then
measures, best of ``--repeat`` runs, ``CaldavCalendar.read`` as the daemon calls it
(the owner's zone, the prefilter of the configured people), and counts the
requests Radicale saw for each:

- baseline: a cold read: a new source with an empty cache directory: discovery
  (principal, calendar-home-set, the calendars), one sync-collection listing, the
  data in calendar-multiget batches, the kept copy written, every resource parsed;
- no-change sync: the same source again, nothing changed: one sync-collection with
  the kept token, nothing fetched or parsed. The target is exactly one request, and
  at most 0.1x the cold read's time. Most of it is Radicale's own work (it hashes
  the whole collection to answer a token): the "of which in cadenced" row times the
  source's part alone (assembling the kept, already parsed events);
- restart: a new source whose cache file exists: one request, every resource parsed
  again (a new object has no parse yet);
- one change: one 1:1 override moved between reads (untimed): sync-collection and one
  multiget, only that resource parsed;
- no sync-collection: the same calendar on a server that refuses RFC 6578, no change:
  one PROPFIND of the collection's ctag.

Radicale runs in this process, on its own threads, so its work is in every figure;
against a real server over the internet a cold read is slower and the no-change
ratio smaller. Figures depend on the machine; the ratios and request counts,
measured in the same run, are what the targets are about. Exits 0 (it reports);
with ``--check`` it exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from caldavserver import PASSWORD, USER, Radicale  # noqa: E402
from generate import config_toml, generate  # noqa: E402
from icalendar import Calendar  # noqa: E402

from connectors.caldav.source import CaldavCalendar  # noqa: E402
from daemon.config import load_config, parse_config  # noqa: E402
from daemon.core.detection import Directory  # noqa: E402

TARGET_NO_CHANGE_RATIO = 0.1


def resources(ics: str) -> dict[str, bytes]:
    calendar = Calendar.from_ical(ics)
    zones = [c for c in calendar.subcomponents if c.name == "VTIMEZONE"]
    by_uid: dict[str, list] = {}
    for component in calendar.subcomponents:
        if component.name == "VEVENT":
            by_uid.setdefault(str(component["UID"]), []).append(component)
    out = {}
    for index, (_uid, events) in enumerate(sorted(by_uid.items())):
        one = Calendar()
        one.add("prodid", "-//cadenced bench//EN")
        one.add("version", "2.0")
        for component in (*zones, *events):
            one.add_component(component)
        out[f"r{index:05d}"] = one.to_ical()
    return out


def best(repeat: int, setup: Callable[[], None], run: Callable[[], object],
         server: Radicale) -> tuple[float, int]:
    times, counts = [], []
    for _ in range(repeat):
        setup()
        before = server.count()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
        counts.append(server.count(since=before))
    return min(times), max(counts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="cadenced-bench-caldav-"))
    ics = generate(years=args.years)
    (work / "manager.ics").write_text(ics)
    (work / "config.toml").write_text(config_toml(work / "manager.ics", work / "config.toml"))
    base = load_config(work / "config.toml").config
    (work / "radicale").mkdir()
    server = Radicale(work / "radicale")
    server.thread.start()
    server.make_calendar()
    made = resources(ics)
    start = time.perf_counter()
    for name, data in made.items():
        server.put(name, data)
    print(f"calendar: {ics.count('BEGIN:VEVENT')} VEVENTs in {len(made)} resources, "
          f"{len(ics.encode()) / 1e6:.1f} MB; stored in Radicale in "
          f"{time.perf_counter() - start:.1f} s (untimed)")

    data = base.model_dump(mode="python", by_alias=True, exclude_none=True)
    data["sources"] = [{"name": "dav", "type": "caldav", "url": server.url("/"),
                        "username": USER, "password_command": f"echo {PASSWORD}"}]
    config = parse_config(data).config
    tz: ZoneInfo = config.owner.tz
    interest = Directory.from_config(config)
    holder: dict[str, CaldavCalendar] = {}
    counter = [0]

    def fresh_cache() -> Path:
        counter[0] += 1
        return work / f"cache-{counter[0]}"

    def new_source(cache: Path) -> CaldavCalendar:
        return CaldavCalendar(config.sources[0], cache_dir=cache, owner=config.owner.addresses)

    def read() -> object:
        return holder["source"].read(tz=tz, interest=interest)

    def cold_setup() -> None:
        holder["source"] = new_source(fresh_cache())

    def no_change_setup() -> None:
        if "warm" not in holder:
            holder["warm"] = new_source(fresh_cache())
            holder["warm"].read(tz=tz, interest=interest)
        holder["source"] = holder["warm"]

    def restart_setup() -> None:
        no_change_setup()
        holder["source"] = new_source(holder["warm"].cache_file.parent)

    moved = [0]
    one_on_one = next(n for n, d in made.items() if b"RRULE" in d and b"report01" in d)

    def one_change_setup() -> None:
        no_change_setup()
        moved[0] += 1
        text = made[one_on_one].decode()
        server.put(one_on_one, text.replace("SUMMARY:", f"SUMMARY:v{moved[0]} ", 1))

    rows = []
    cold = best(args.repeat, cold_setup, read, server)
    rows.append(("cold read (baseline)", *cold))
    rows.append(("no-change sync", *best(args.repeat, no_change_setup, read, server)))
    warm = holder["warm"]
    own = best(args.repeat, lambda: None,
               lambda: warm._unchanged(warm._load(), tz, interest), server)
    rows.append(("  of which in cadenced", *own))
    rows.append(("restart, no change", *best(args.repeat, restart_setup, read, server)))
    rows.append(("one change", *best(args.repeat, one_change_setup, read, server)))
    server.sync_collection = False
    holder.pop("warm")
    rows.append(("no sync-collection, no change",
                 *best(args.repeat, no_change_setup, read, server)))

    print()
    print(f"{'':<32}{'time':>10}{'ratio':>9}{'requests':>10}")
    for label, seconds, requests in rows:
        print(f"{label:<32}{seconds * 1000:>8.1f}ms{seconds / cold[0]:>8.3f}x{requests:>10}")
    missed = []
    no_change = rows[1]
    if no_change[2] != 1:
        missed.append(f"no-change sync made {no_change[2]} requests (target 1)")
    if no_change[1] / cold[0] > TARGET_NO_CHANGE_RATIO:
        missed.append(f"no-change sync {no_change[1] / cold[0]:.3f}x (target "
                      f"{TARGET_NO_CHANGE_RATIO}x)")
    if rows[5][2] != 1:
        missed.append(f"no-change without sync-collection made {rows[5][2]} requests "
                      "(target 1)")
    print()
    print("missed: " + ", ".join(missed) if missed else "every target met")
    server.stop.set()
    server.httpd.shutdown()
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
