"""Soak run: many sync cycles of the service in one process, memory and files stay flat.

``python bench/soak.py [--cycles 500] [--hours 24]``

Drives the service's own cycle (:meth:`daemon.service.runner.Runner.sync_job`, what the
scheduler calls under systemd: the sync over the state, the agenda step with the local
agenda store, the invite step, the empty-agenda nudges and the weekly report's due check
and send) ``--cycles`` times in this one process, with an injected clock that advances
``--hours`` per cycle. The Runner's scheduler and its agenda server run as they do under
systemd (the sync job parked far ahead: the bench calls it), and each cycle also fetches
the overlay feed from that server, as a subscribed calendar app would.

The calendar comes from a helper process (so that its threads and sockets are not
counted here): an HTTP feed server with ETags and an SMTP server (aiosmtpd) that accepts
the reports and nudges. Its calendar changes every cycle: eight people at a time, each
with a weekly or fortnightly 1:1 series; every 20 days one of them leaves (the series
ends) and a new person joins; some meetings moved, cut short or cancelled; the next
meeting of one person moved again each cycle; a one-off make-up 1:1 every week; a team
meeting as noise. Like a published calendar, the feed holds only the last half year,
so its size is steady and any growth in this process is cadenced's own.

Printed after cycle 10 and at the last cycle: RSS (``VmRSS``), open file descriptors
(``/proc/self/fd``), threads (``/proc/self/status``), and the size of the state folder
(``$XDG_STATE_HOME/cadenced``: state.json, its previous generation, the feed's kept
copy). The bounds:

- RSS grows by at most 10 MB from cycle 10 to the last;
- descriptors and threads do not grow;
- the state stays bounded: once the simulated time has passed the retention of history
  (docs/daemon.md, *How long it is kept*), records leave as fast as they come, so the
  state at the last cycle is at most 3% (and 2 KB) above its size when the retention was
  first reached. With the default 24 hours a cycle, 500 cycles cover 500 days, past the
  retention; a shorter run cannot show this and says so (the check passes).

The last line is ``soak: cycles=N rss_mb=A->B fds=C->D threads=E->F state_kb=G->H``;
the exit status is 1 when a bound is broken (each broken bound is named on a line
before it), else 0.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

BENCH = Path(__file__).resolve().parent
BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 1, 5, 7, 30, tzinfo=BERLIN)  # a Monday morning
PEOPLE = 8  # at a time
TENURE = timedelta(days=8 * 20)  # each person stays this long; one changes every 20 days
FEED_DAYS = 183  # the feed publishes this far back
RSS_BOUND_MB = 10.0
STATE_BOUND = 1.03
STATE_SLACK_KB = 2.0


# --- the calendar ---------------------------------------------------------------------


def _h(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=4).digest(), "big")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event(uid: str, start: datetime, minutes: int, summary: str, attendees: list[str],
           extra: tuple[str, ...] = ()) -> list[str]:
    lines = ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{_utc(START)}",
             f"DTSTART:{_utc(start)}", f"DTEND:{_utc(start + timedelta(minutes=minutes))}",
             f"SUMMARY:{summary}", "ORGANIZER:mailto:maya@example.com",
             "ATTENDEE;PARTSTAT=ACCEPTED:mailto:maya@example.com"]
    lines += [f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{a}" for a in attendees]
    return [*lines, *extra, "END:VEVENT"]


def _people(now: datetime) -> Iterator[tuple[int, int, datetime, datetime]]:
    """(slot, generation, joined, left) of everyone in the feed's half year at ``now``."""
    stagger = TENURE / PEOPLE
    base = START - TENURE
    for slot in range(PEOPLE):
        first = base + slot * stagger
        generation = max(0, int((now - first - timedelta(days=FEED_DAYS)) / TENURE))
        while True:
            joined = first + generation * TENURE
            if joined > now + timedelta(days=30):
                break
            left = joined + TENURE
            if left > now - timedelta(days=FEED_DAYS):
                yield slot, generation, joined, left
            generation += 1


def calendar(cycle: int, now: datetime) -> bytes:
    """The feed at ``cycle``: a function of the cycle alone."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//cadenced//soak//EN"]
    oldest = now - timedelta(days=FEED_DAYS)
    active = []
    for slot, gen, joined, left in _people(now):
        who = f"p{slot}g{gen}@example.com"
        if joined <= now < left:
            active.append(who)
        every = 2 if slot % 3 == 2 else 1  # weeks
        first = joined + timedelta(days=(slot % 5 - joined.weekday()) % 7)
        first = first.replace(hour=10 + slot % 4, minute=0)
        uid = f"series-{slot}-{gen}@soak"
        name = f"Person {slot}.{gen}"
        lines += _event(uid, first, 30, f"Maya / {name} 1:1", [who], (
            f"RRULE:FREQ=WEEKLY;INTERVAL={every};UNTIL={_utc(left)}",))
        # Exceptions: stable per meeting, and the next meeting of one person moves each cycle.
        moving = slot == cycle % PEOPLE
        at, n = first, 0
        while at < left and at < now + timedelta(days=30):
            if at >= oldest:
                kind = _h(uid, n) % 20
                nxt = moving and now < at <= now + timedelta(days=7 * every)
                if nxt:
                    moving = False
                    lines += _event(uid, at + timedelta(hours=cycle % 5 - 2 or 3), 30,
                                    f"Maya / {name} 1:1", [who],
                                    (f"RECURRENCE-ID:{_utc(at)}",))
                elif kind == 0:  # moved a day later
                    lines += _event(uid, at + timedelta(days=1), 30, f"Maya / {name} 1:1",
                                    [who], (f"RECURRENCE-ID:{_utc(at)}",))
                elif kind == 1:  # cut short
                    lines += _event(uid, at, 15, f"Maya / {name} 1:1", [who],
                                    (f"RECURRENCE-ID:{_utc(at)}",))
                elif kind == 2:  # cancelled
                    lines += _event(uid, at, 30, f"Maya / {name} 1:1", [who],
                                    (f"RECURRENCE-ID:{_utc(at)}", "STATUS:CANCELLED"))
            at += timedelta(weeks=every)
            n += 1
    # A one-off make-up 1:1 every week, two days after it was booked.
    week = timedelta(days=7)
    first_week = max(0, int((oldest - START) / week) + 1)
    for k in range(first_week, int((now - START) / week) + 1):
        booked = START + k * week
        slot = k % PEOPLE
        gen = int((booked - (START - TENURE + slot * TENURE / PEOPLE)) / TENURE)
        lines += _event(f"oneoff-{k}@soak", (booked + timedelta(days=2)).replace(hour=15),
                        30, "1:1 catch-up", [f"p{slot}g{gen}@example.com"])
    # Noise: a weekly team meeting with everyone.
    lines += _event("team@soak", START.replace(hour=14), 60, "Team sync", active,
                    ("RRULE:FREQ=WEEKLY",))
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


# --- the helper process: feed server and SMTP server -----------------------------------


def serve(folder: Path) -> None:
    """Serve ``folder/feed.ics`` with an ETag, and accept mail; print both ports."""
    import socket
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from aiosmtpd.controller import Controller

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = (folder / "feed.ics").read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Inbox:
        count = 0

        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            Inbox.count += 1
            (folder / "mails").write_text(str(Inbox.count))
            return "250 OK"

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    with socket.socket() as probe:  # aiosmtpd probes its port on start: it can't be 0
        probe.bind(("127.0.0.1", 0))
        smtp_port = probe.getsockname()[1]
    controller = Controller(Inbox(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    print(json.dumps({"http": httpd.server_address[1], "smtp": smtp_port}), flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), httpd.shutdown()), daemon=True).start()
    httpd.serve_forever(0.05)
    controller.stop()


# --- measuring ------------------------------------------------------------------------


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def threads() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise RuntimeError("no Threads in /proc/self/status")


def fds() -> int:
    return len(os.listdir("/proc/self/fd")) - 1  # less the one listdir itself holds


def size_kb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1024


CONFIG = """\
[owner]
email = "maya@example.com"
name = "Maya Chen"
timezone = "Europe/Berlin"

[[sources]]
name = "work"
type = "ics"
url = "http://127.0.0.1:{http}/feed.ics"

[smtp]
host = "127.0.0.1"
port = {smtp}
security = "none"

[server]
enabled = true
port = 0

[sync]
jitter_seconds = 0
"""


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def run(cycles: int, hours: float, root: Path) -> int:
    os.environ["XDG_STATE_HOME"] = str(root / "state")
    os.environ["XDG_DATA_HOME"] = str(root / "data")
    os.environ["XDG_CONFIG_HOME"] = str(root / "config")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy", "NOTIFY_SOCKET", "WATCHDOG_USEC"):
        os.environ.pop(name, None)
    feed_dir = root / "feed"
    feed_dir.mkdir()
    (feed_dir / "feed.ics").write_bytes(calendar(0, START))
    helper = subprocess.Popen([sys.executable, __file__, "--serve", str(feed_dir)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert helper.stdout is not None
        ports = json.loads(helper.stdout.readline())
        return _cycles(cycles, hours, root, feed_dir, ports)
    finally:
        assert helper.stdin is not None
        helper.stdin.close()
        try:
            helper.wait(10)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()


def _cycles(cycles: int, hours: float, root: Path, feed_dir: Path,
            ports: dict[str, int]) -> int:
    import logging

    from daemon.config import load_config
    from daemon.core.history import KEEP
    from daemon.service.notify import Notifier
    from daemon.service.runner import Runner
    from daemon.state import paths
    from daemon.state.store import Store

    logging.basicConfig(level=logging.ERROR)  # failures only: a flow of info lines is not the point
    config_file = paths.config_file()
    config_file.parent.mkdir(parents=True)
    config_file.write_text(CONFIG.format(**ports), encoding="utf-8")
    state_dir = paths.state_dir()
    clock = Clock(START)
    step = timedelta(hours=hours)
    store = Store.open(state_dir)
    loaded = load_config(config_file)
    runner = Runner(loaded, store, notifier=Notifier(None), runtime_dir=root / "runtime",
                    reload=lambda: load_config(config_file), clock=clock,
                    # a heartbeat every 0.5 s: its worker thread is there by cycle 10
                    environ={"WATCHDOG_USEC": "1000000"},
                    data_dir=paths.data_dir())
    runner.start_server()
    runner._schedule(first_sync=datetime(2100, 1, 1, tzinfo=UTC))  # the bench runs it
    runner.scheduler.start()
    assert runner.server is not None
    overlay = f"{runner.server.base_url}/calendar.ics"
    at: dict[int, tuple[float, int, int, float]] = {}
    plateau: tuple[int, float] | None = None  # the cycle the retention was reached, state
    failed_cycles = 0
    try:
        for cycle in range(1, cycles + 1):
            now = START + (cycle - 1) * step
            clock.now = now
            (feed_dir / "feed.ics.tmp").write_bytes(calendar(cycle, now))
            (feed_dir / "feed.ics.tmp").replace(feed_dir / "feed.ics")
            if runner.sync_job() is None:
                failed_cycles += 1
            with urllib.request.urlopen(overlay, timeout=10) as answer:
                answer.read()
            if plateau is None and now - START >= KEEP:
                plateau = (cycle, size_kb(state_dir))
            if cycle in (min(10, cycles), cycles):
                gc.collect()
                time.sleep(0.05)  # the server's request thread ends
                at[cycle] = (rss_mb(), fds(), threads(), size_kb(state_dir))
        health = runner.health
    finally:
        runner.stop()
        store.close()
    mails = int((feed_dir / "mails").read_text()) if (feed_dir / "mails").exists() else 0
    first, last = at[min(10, cycles)], at[cycles]
    broken = []
    if failed_cycles:
        broken.append(f"{failed_cycles} cycle(s) failed")
    if last[0] - first[0] > RSS_BOUND_MB:
        broken.append(f"RSS grew by {last[0] - first[0]:.1f} MB (bound {RSS_BOUND_MB:g} MB)")
    if last[1] > first[1]:
        broken.append(f"open file descriptors grew from {first[1]} to {last[1]}")
    if last[2] > first[2]:
        broken.append(f"threads grew from {first[2]} to {last[2]}")
    simulated = (cycles - 1) * step
    if plateau is None:
        print(f"the run covers {simulated.days} days, less than the {KEEP.days}-day retention: "
              "the state's bound is not shown (run the default 500 cycles)")
    elif last[3] > plateau[1] * STATE_BOUND + STATE_SLACK_KB:
        broken.append(f"the state grew from {plateau[1]:.1f} KB at cycle {plateau[0]} (the "
                      f"retention reached) to {last[3]:.1f} KB")
    print(f"simulated {simulated.days} days, {hours:g} h a cycle; at the end {health.people} "
          f"relationships, {health.attention} needing attention; {mails} mail(s) sent"
          + (f"; state {plateau[1]:.1f} KB at cycle {plateau[0]} (retention reached)"
             if plateau else ""))
    for problem in broken:
        print(f"bound broken: {problem}")
    print(f"soak: cycles={cycles} rss_mb={first[0]:.1f}->{last[0]:.1f} fds={first[1]}->{last[1]} "
          f"threads={first[2]}->{last[2]} state_kb={first[3]:.1f}->{last[3]:.1f}")
    return 1 if broken else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=500)
    parser.add_argument("--hours", type=float, default=24.0, help="simulated time a cycle")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    if args.cycles < 1:
        parser.error("--cycles must be at least 1")
    root = Path(tempfile.mkdtemp(prefix="cadenced-soak-"))
    try:
        return run(args.cycles, args.hours, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
