"""`cadenced run` as a real process: sd_notify, signals, the state lock, `status`, journald.

Each test starts ``python -m daemon --config CFG run`` with private XDG directories, a
``$NOTIFY_SOCKET`` the test owns (an AF_UNIX datagram socket that also receives each
sender's pid, as systemd does) and ``WATCHDOG_USEC=1000000`` (a heartbeat every 0.5 s).
The calendar is a copy of the demo calendar served by the test HTTP server. Every wait
is bounded; the process is killed in a ``finally`` whatever happens.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from daemon.config import load_config
from daemon.service.notify import Notifier
from daemon.service.runner import RUNTIME_FILE, Runner
from daemon.state.store import Store

from feedserver import FeedServer, Reply

DEMO = resources.files("daemon") / "demo"
DEMO_ICS = (DEMO / "demo.ics").read_bytes()
DEMO_CONFIG = (DEMO / "config.toml").read_text(encoding="utf-8")
DEMO_NOW = "2026-11-20T09:00:00+01:00"
BERLIN = ZoneInfo("Europe/Berlin")
WAIT = 20.0  # the longest any single wait may take (seconds)

# What the service puts on `systemctl status`: "6 people, 6 need attention, next sync 10:40".
STATUS_LINE = re.compile(
    r"(?P<people>\d+) (?:person|people), (?P<attention>\d+) needs? attention"
    r"(?:, \d+ sources? failing)?, next sync (?P<hh>\d\d):(?P<mm>\d\d)")
# Variables systemd (or a developer's shell) may have set; the daemon must not see them.
FOREIGN_ENV = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM",
               "STATE_DIRECTORY", "RUNTIME_DIRECTORY", "CONFIGURATION_DIRECTORY",
               "LISTEN_FDS", "LISTEN_PID", "INVOCATION_ID", "XDG_DATA_HOME")
_CRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def demo_config(url: str, *, owner_extra: str = "") -> str:
    """The demo's configuration with its source at ``url``."""
    text, count = re.subn(r'(?m)^url = "demo\.ics"$', f'url = "{url}"', DEMO_CONFIG)
    assert count == 1, "the demo config changed: update demo_config()"
    if owner_extra:
        text = text.replace("[owner]\n", f"[owner]\n{owner_extra}\n", 1)
    return text


# --- the test's end of $NOTIFY_SOCKET -------------------------------------------------


@dataclass(frozen=True)
class Datagram:
    at: float  # time.monotonic() when it arrived
    pid: int | None  # the sender, from SCM_CREDENTIALS
    fields: dict[str, str]

    @property
    def text(self) -> str:
        return "\n".join(f"{k}={v}" for k, v in self.fields.items())


class NotifySocket:
    """Receives sd_notify datagrams, with their sender's pid (like systemd's NotifyAccess=).

    :meth:`wait_for` reads in order: each call looks only at datagrams after the one the
    previous call returned, so "RELOADING=1, then READY=1" is two calls.
    """

    def __init__(self, path: str) -> None:
        assert len(path.encode()) < 108, "AF_UNIX socket paths are limited to 108 bytes"
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.received: list[Datagram] = []
        self.cursor = 0  # index of the first datagram wait_for has not consumed

    def close(self) -> None:
        self.sock.close()

    def _receive(self, timeout: float) -> Datagram | None:
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, ancdata, _flags, _address = self.sock.recvmsg(
                65536, socket.CMSG_SPACE(_CRED.size))
        except TimeoutError:
            return None
        pid = None
        for level, kind, value in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = _CRED.unpack(value[:_CRED.size])[0]
        fields = dict(line.partition("=")[::2] for line in data.decode().split("\n") if line)
        datagram = Datagram(time.monotonic(), pid, fields)
        self.received.append(datagram)
        return datagram

    def drain(self) -> None:
        """Take in whatever has arrived, without waiting."""
        while self._receive(0.001) is not None:
            pass

    def wait_for(self, key: str, value: str | None = "1", *, timeout: float = WAIT,
                 alive: Callable[[], None] | None = None) -> Datagram:
        """The next datagram that sets ``key`` (to ``value``; any value if None).

        ``alive`` is called between receives: it fails the test at once when the
        daemon has died, rather than after the whole timeout.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self._next(key, value)
            if found is not None:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                seen = [d.text for d in self.received]
                raise AssertionError(f"no {key}={value or '*'} within {timeout:g} s; "
                                     f"received: {seen}")
            if alive is not None:
                try:
                    alive()
                except AssertionError:
                    self.drain()  # what it sent before it exited is still queued
                    found = self._next(key, value)
                    if found is not None:
                        return found
                    raise
            self._receive(min(left, 0.2))

    def _next(self, key: str, value: str | None) -> Datagram | None:
        while self.cursor < len(self.received):
            datagram = self.received[self.cursor]
            self.cursor += 1
            if key in datagram.fields and value in (None, datagram.fields[key]):
                return datagram
        return None

    def count(self, key: str, value: str = "1", since: float = 0.0) -> int:
        return sum(1 for d in self.received if d.at >= since and d.fields.get(key) == value)


# --- the daemon --------------------------------------------------------------------------


@dataclass
class Home:
    """Private XDG directories, the config file and the environment for one test."""

    root: Path
    config: Path
    env: dict[str, str]

    @property
    def state_dir(self) -> Path:
        return Path(self.env["XDG_STATE_HOME"]) / "cadenced"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def runtime_file(self) -> Path:
        return Path(self.env["XDG_RUNTIME_DIR"]) / "cadenced" / "runtime.json"

    def cadenced(self, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """One `cadenced` command (not the service) in this home."""
        return subprocess.run(
            [sys.executable, "-m", "daemon", "--config", str(self.config), *args],
            env=env or self.env, cwd=self.root, capture_output=True, text=True,
            timeout=timeout, check=False)


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    notify: NotifySocket
    stderr_path: Path
    home: Home
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> None:
        """Fail at once, with what it printed, when the daemon has exited."""
        code = self.proc.poll()
        if code is not None:
            raise AssertionError(f"cadenced run exited with {code}; stderr:\n{self.stderr()}")

    def wait_for(self, key: str, value: str | None = "1", timeout: float = WAIT) -> Datagram:
        return self.notify.wait_for(key, value, timeout=timeout, alive=self.alive)

    def wait_for_stderr(self, text: str, count: int = 1, timeout: float = WAIT) -> str:
        """Wait until ``text`` is in stderr ``count`` times; returns stderr."""
        deadline = time.monotonic() + timeout
        while True:
            out = self.stderr()
            if out.count(text) >= count:
                return out
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not {count}x in stderr within {timeout:g} s:"
                                     f"\n{out}")
            self.alive()
            time.sleep(0.02)

    def stop(self) -> int:
        """SIGTERM; the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=WAIT)


def wait_until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.02)


def wait_for_runtime(home: Home) -> dict[str, Any]:
    """The runtime file once it lists the scheduled jobs (the first sync writes it
    before the scheduler has any)."""

    def read() -> dict[str, Any] | None:
        try:
            data = json.loads(home.runtime_file.read_text())
        except (OSError, ValueError):
            return None
        return data if data.get("next_runs", {}).get("sync") else None

    return wait_until(read, "the runtime file with the next sync")


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path, for AF_UNIX sockets (tmp_path may be too long)."""
    path = Path(tempfile.mkdtemp(prefix="cdn-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def home(tmp_path: Path, server: FeedServer) -> Home:
    server.routes["/maya/demo.ics"] = Reply(body=DEMO_ICS)
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_RUNTIME_DIR=str(tmp_path / "run"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        NO_PROXY="127.0.0.1,localhost",
        COLUMNS="200",  # `status` prints with rich: no wrapping
        NO_COLOR="1",
        PYTHONUNBUFFERED="1",
    )
    for name in ("home", "run", "config"):
        (tmp_path / name).mkdir(mode=0o700)
    config = tmp_path / "config.toml"
    config.write_text(demo_config(server.url("/maya/demo.ics")), encoding="utf-8")
    return Home(tmp_path, config, env)


@pytest.fixture
def start_daemon(home: Home, short_dir: Path) -> Iterator[Callable[..., Daemon]]:
    """Starts `cadenced run` processes; each one is killed at the end of the test."""
    started: list[Daemon] = []
    notify = NotifySocket(str(short_dir / "notify"))

    def start(env: dict[str, str] | None = None, stderr: Path | None = None) -> Daemon:
        stderr_path = stderr or home.root / f"stderr-{len(started)}.txt"
        run_env = {**home.env, "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000",
                   **(env or {})}
        with open(stderr_path, "ab") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "daemon", "--config", str(home.config), "run"],
                env=run_env, cwd=home.root, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=err)
        daemon = Daemon(proc, notify, stderr_path, home)
        started.append(daemon)
        return daemon

    try:
        yield start
    finally:
        for daemon in started:
            if daemon.proc.poll() is None:
                daemon.proc.kill()
            daemon.proc.wait(timeout=WAIT)
        notify.close()


def load_state(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """The sources and people tables, read as `status` reads them."""
    with Store.open(directory, lock=False) as store:
        return {"sources": [vars(s) for s in store.sources()],
                "people": store.documents("people")}


def assert_status_matches_state(status: str, home: Home) -> re.Match[str]:
    """The STATUS line counts what the state holds."""
    match = STATUS_LINE.fullmatch(status)
    assert match, status
    people = load_state(home.state_dir)["people"]
    assert int(match["people"]) == len(people) > 0
    assert int(match["attention"]) == sum(1 for p in people if p["attention"])
    return match


# --- the life cycle under systemd --------------------------------------------------------


def test_ready_comes_after_the_first_sync_then_status_and_watchdog_until_sigterm(
        start_daemon, home: Home):
    daemon = start_daemon()
    ready = daemon.wait_for("READY")
    # READY=1 means "started": the first sync has been committed by then.
    assert home.state_file.exists()
    assert ready.pid == daemon.pid
    match = assert_status_matches_state(ready.fields["STATUS"], home)
    # "next sync HH:MM" is the scheduler's next sync, in the owner's zone.
    runtime = wait_for_runtime(home)
    assert runtime["pid"] == daemon.pid
    next_sync = datetime.fromisoformat(runtime["next_runs"]["sync"]).astimezone(BERLIN)
    assert f"{match['hh']}:{match['mm']}" == f"{next_sync:%H:%M}"

    # The watchdog: WATCHDOG=1 every WATCHDOG_USEC / 2, each with a fresh STATUS.
    first = daemon.wait_for("WATCHDOG", timeout=3.0)
    second = daemon.wait_for("WATCHDOG", timeout=3.0)
    assert second.at - ready.at < 3.0 and second is not first
    daemon.notify.drain()
    statuses = [d.fields["STATUS"] for d in daemon.notify.received if "STATUS" in d.fields]
    assert all(STATUS_LINE.fullmatch(s) for s in statuses[1:]), statuses
    assert daemon.proc.poll() is None

    assert daemon.stop() == 0
    daemon.wait_for("STOPPING", timeout=5)
    daemon.notify.drain()
    # NotifyAccess=main: every notification came from the main process.
    assert {d.pid for d in daemon.notify.received} == {daemon.pid}
    # Nothing after STOPPING=1 claims the service is up again.
    assert not [d for d in daemon.notify.received[daemon.notify.cursor:] if "READY" in d.fields]

    state = load_state(home.state_dir)
    [source] = state["sources"]
    assert source["name"] == "demo" and source["error"] is None
    assert source["last_success"] and source["checkpoint"]["content_hash"]
    names = {p["name"] for p in state["people"]}
    assert {"Priya Raman", "Jonas Weber", "Ana Silva"} <= names
    assert not home.runtime_file.exists(), "the runtime file outlived the service"
    Store.open(home.state_dir).close()  # the lock was released
    err = daemon.stderr()
    assert "cadenced started: 1 source(s)" in err and "cadenced stopped" in err
    assert "Traceback" not in err


BROKEN_CONFIGS = {
    "not-toml": ('[owner\nemail = "maya@example.com"\n', ("is not valid TOML", "config.toml")),
    "bad-value": (None, ("owner.timezone", "Mars/Olympus_Mons")),
}


@pytest.mark.parametrize("broken", sorted(BROKEN_CONFIGS))
def test_sighup_with_a_broken_config_keeps_the_service_running_on_the_old_one(
        start_daemon, home: Home, broken: str):
    good = home.config.read_text(encoding="utf-8")
    text, expected = BROKEN_CONFIGS[broken]
    if text is None:
        text = good.replace('timezone = "Europe/Berlin"', 'timezone = "Mars/Olympus_Mons"')
        assert text != good
    daemon = start_daemon()
    daemon.wait_for("READY")

    home.config.write_text(text, encoding="utf-8")
    daemon.proc.send_signal(signal.SIGHUP)
    reloading = daemon.wait_for("RELOADING")
    assert int(reloading.fields["MONOTONIC_USEC"]) > 0
    ready = daemon.wait_for("READY")
    err = daemon.wait_for_stderr("configuration not reloaded, the old one stays")
    for words in expected:
        assert words in err, err
    # Still alive and still the watchdog's friend, on the old configuration.
    beat = daemon.wait_for("WATCHDOG", timeout=3.0)
    assert beat.at > ready.at
    daemon.notify.drain()
    last_status = [d.fields["STATUS"] for d in daemon.notify.received if "STATUS" in d.fields][-1]
    assert_status_matches_state(last_status, home)
    assert daemon.proc.poll() is None

    # Fixed, and changed so the new configuration shows: Ana's cadence 14 -> 7 days.
    fixed = good.replace("cadence_days = 14", "cadence_days = 7")
    assert fixed != good
    home.config.write_text(fixed, encoding="utf-8")
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_for("RELOADING")
    daemon.wait_for("READY")
    daemon.wait_for_stderr("configuration reloaded")
    # A reload syncs again within a second or so, with the new configuration.
    daemon.wait_for_stderr("sync done", count=2)

    def ana_interval() -> float | None:
        people = load_state(home.state_dir)["people"]
        return next(p["expected_interval_days"] for p in people if p["name"] == "Ana Silva")

    wait_until(lambda: ana_interval() == 7, "Ana's new cadence in the state")
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.stderr()


class HeldNotifier(Notifier):
    """A notifier whose STATUS send blocks until the test lets it go."""

    def __init__(self) -> None:
        super().__init__(None)
        self.in_status = threading.Event()
        self.release = threading.Event()

    def status(self, text: str) -> None:
        self.in_status.set()
        self.release.wait(WAIT)


def test_a_heartbeat_in_flight_at_stop_leaves_no_runtime_file(home: Home):
    """In process, to make the interleaving certain (`run` met it about once in 15 stops,
    before publishing and removing the runtime file were made mutually exclusive)."""
    runtime_dir = home.root / "run" / "cadenced"
    notifier = HeldNotifier()
    with Store.open(home.state_dir) as store:
        runner = Runner(load_config(home.config), store, notifier=notifier,
                        runtime_dir=runtime_dir, reload=lambda: load_config(home.config),
                        environ={})
        beat = threading.Thread(target=runner.heartbeat_job)
        stop = threading.Thread(target=runner.stop)  # SIGTERM's path
        beat.start()
        try:
            assert notifier.in_status.wait(WAIT)  # the heartbeat is past the `stopping` check
            stop.start()
            stop.join(0.5)  # stop() waits for the heartbeat's publish (or it is too late)
        finally:
            notifier.release.set()
            beat.join(WAIT)
            if stop.is_alive():
                stop.join(WAIT)
    assert not (runtime_dir / RUNTIME_FILE).exists(), "the runtime file outlived stop()"


def test_sigterm_during_a_sync_abandons_it_and_writes_nothing(
        start_daemon, home: Home, server: FeedServer):
    server.routes["/slow.ics"] = Reply(body=DEMO_ICS, delay=2.0)
    text = demo_config(server.url("/slow.ics")).replace('name = "demo"', 'name = "slow"')
    text += f'\n[[sources]]\nname = "demo"\nurl = "{server.url("/maya/demo.ics")}"\n'
    home.config.write_text(text, encoding="utf-8")
    daemon = start_daemon()
    wait_until(lambda: any(path == "/slow.ics" for path, _ in server.requests),
               "the first sync reading the slow source")
    started = time.monotonic()
    assert daemon.stop() == 0
    assert time.monotonic() - started < WAIT
    daemon.wait_for("STOPPING", timeout=5)
    err = daemon.stderr()
    assert "sync abandoned for shutdown; the state is unchanged" in err, err
    # The second source was never read, and nothing was committed.
    assert all(path != "/maya/demo.ics" for path, _ in server.requests)
    assert not home.state_file.exists()
    assert not list(home.state_dir.glob(".state.json.*"))
    assert "Traceback" not in err


# --- one process per state -----------------------------------------------------------------


def test_a_second_cadenced_on_the_same_state_is_refused(start_daemon, home: Home):
    daemon = start_daemon()
    daemon.wait_for("READY")
    before = home.state_file.read_bytes()

    done = home.cadenced("sync", "--now", DEMO_NOW)
    assert done.returncode != 0
    assert f"another cadenced (pid {daemon.pid}) is using the state" in done.stderr
    assert "hint: stop it first (systemctl --user stop cadenced)" in done.stderr
    assert "Traceback" not in done.stderr

    # A second service: refused the same way, and it never tells systemd it is ready.
    second_env = {**home.env, "NOTIFY_SOCKET": daemon.notify.path,
                  "WATCHDOG_USEC": "1000000"}
    second = subprocess.run(
        [sys.executable, "-m", "daemon", "--config", str(home.config), "run"],
        env=second_env, cwd=home.root, capture_output=True, text=True, timeout=WAIT,
        check=False)
    assert second.returncode != 0
    assert f"another cadenced (pid {daemon.pid})" in second.stderr
    assert "hint: stop it first" in second.stderr

    daemon.wait_for("WATCHDOG", timeout=3.0)
    daemon.notify.drain()
    assert {d.pid for d in daemon.notify.received} == {daemon.pid}
    assert daemon.proc.poll() is None
    assert home.state_file.read_bytes() == before
    assert daemon.stop() == 0


# --- a failing source -----------------------------------------------------------------------

OUTAGES = {
    "http-500": Reply(status=500, body=b"Internal error", headers={"Content-Type": "text/plain"}),
    "html-page": Reply(body=b"<!DOCTYPE html><html><body>Please sign in</body></html>",
                       headers={"Content-Type": "text/html"}),
    "emptied": Reply(body=b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n"
                          b"END:VCALENDAR\r\n"),
}


@pytest.mark.parametrize("outage", sorted(OUTAGES))
def test_a_source_that_starts_failing_keeps_its_events_and_raises_no_flags(
        home: Home, server: FeedServer, outage: str):
    first = home.cadenced("sync", "--now", DEMO_NOW, "--json")
    assert first.returncode == 0, first.stderr
    good = json.loads(first.stdout)
    assert good["sources"] == [{"name": "demo", "ok": True, "error": None, "events": 16}]
    kinds = {f["kind"] for r in good["relationships"] for f in r["flags"]}
    assert "cancelled" in kinds  # the demo has two; an outage must not add any

    server.routes["/maya/demo.ics"] = OUTAGES[outage]
    second = home.cadenced("sync", "--now", DEMO_NOW, "--json")
    assert second.returncode == 3, second.stderr
    failed = json.loads(second.stdout)
    [source] = failed["sources"]
    assert source["name"] == "demo" and source["ok"] is False and source["error"]
    assert source["events"] == 16  # the last good copy
    assert failed["relationships"] == good["relationships"]
    assert "Traceback" not in second.stderr

    status = home.cadenced("status", "--json")
    assert status.returncode == 0, status.stderr
    document = json.loads(status.stdout)
    [state] = document["sources"]
    assert state["error"] == source["error"]
    assert state["failing_since"] == "2026-11-20T08:00:00+00:00"
    assert state["last_success"] == "2026-11-20T08:00:00+00:00"  # kept from the good read
    assert document["service"] is None

    # A later failing cycle keeps the first failure time; then the source recovers.
    third = home.cadenced("sync", "--now", "2026-11-20T10:00:00+01:00", "--json")
    assert third.returncode == 3
    state = json.loads(home.cadenced("status", "--json").stdout)["sources"][0]
    assert state["failing_since"] == "2026-11-20T08:00:00+00:00"
    server.routes["/maya/demo.ics"] = Reply(body=DEMO_ICS)
    fourth = home.cadenced("sync", "--now", "2026-11-20T10:00:00+01:00", "--json")
    assert fourth.returncode == 0, fourth.stderr
    state = json.loads(home.cadenced("status", "--json").stdout)["sources"][0]
    assert state["error"] is None and state["failing_since"] is None


# --- `cadenced status` and the service -------------------------------------------------------


def test_status_shows_the_running_service_and_its_next_sync(start_daemon, home: Home):
    daemon = start_daemon()
    daemon.wait_for("READY")
    runtime = wait_for_runtime(home)
    next_sync = datetime.fromisoformat(runtime["next_runs"]["sync"]).astimezone(BERLIN)

    shown = home.cadenced("status")
    assert shown.returncode == 0, shown.stderr
    assert f"Service running (pid {daemon.pid})" in shown.stdout, shown.stdout
    assert f"sync {next_sync:%a %d %b %H:%M}" in shown.stdout, shown.stdout
    document = json.loads(home.cadenced("status", "--json").stdout)
    assert document["service"]["pid"] == daemon.pid
    assert set(document["service"]["next_runs"]) == {"sync", "heartbeat"}

    assert daemon.stop() == 0
    shown = home.cadenced("status")
    assert shown.returncode == 0, shown.stderr
    assert "not running" in shown.stdout and "Service running" not in shown.stdout
    assert json.loads(home.cadenced("status", "--json").stdout)["service"] is None


def test_status_after_the_service_was_killed_says_not_running(start_daemon, home: Home):
    daemon = start_daemon()
    daemon.wait_for("READY")
    wait_for_runtime(home)
    daemon.proc.kill()
    daemon.proc.wait(timeout=WAIT)
    assert home.runtime_file.exists()  # left behind: nothing could remove it
    shown = home.cadenced("status")
    assert shown.returncode == 0, shown.stderr
    assert "not running" in shown.stdout and "Service running" not in shown.stdout
    # ... and the lock died with it: the next sync just works.
    done = home.cadenced("sync", "--now", DEMO_NOW)
    assert done.returncode == 0, done.stderr


# --- journald -----------------------------------------------------------------------------------


@pytest.mark.parametrize("journal", [True, False], ids=["journal", "file"])
def test_log_lines_carry_syslog_priorities_when_stderr_is_the_journal(
        start_daemon, home: Home, server: FeedServer, journal: bool):
    # An unknown key (a warning) and a failing source (a warning every cycle).
    home.config.write_text(demo_config(server.url("/gone.ics"), owner_extra='nickname = "M"'),
                           encoding="utf-8")
    stderr_path = home.root / "journal.txt"
    stderr_path.touch()
    st = os.stat(stderr_path)
    # systemd sets JOURNAL_STREAM to the device and inode of the stream it connected.
    stream = f"{st.st_dev}:{st.st_ino}" if journal else f"{st.st_dev}:{st.st_ino + 1}"
    daemon = start_daemon(env={"JOURNAL_STREAM": stream}, stderr=stderr_path)
    daemon.wait_for("READY")
    assert daemon.stop() == 0
    lines = [line for line in daemon.stderr().splitlines() if line]
    assert lines
    if journal:
        assert all(re.match(r"<[0-7]>", line) for line in lines), lines
        assert any(line.startswith("<6>cadenced started") for line in lines), lines
        assert any(line.startswith("<4>") and "unknown key 'owner.nickname'" in line
                   for line in lines), lines
        assert any(line.startswith("<4>source 'demo': HTTP 404") for line in lines), lines
        assert lines[-1] == "<6>cadenced stopped"
    else:
        assert not any(re.match(r"<\d>", line) for line in lines), lines
        assert any(line.startswith("INFO: cadenced started: 1 source(s)") for line in lines)
        assert any(line.startswith("WARNING: ") and "owner.nickname" in line for line in lines)
        assert lines[-1] == "INFO: cadenced stopped"
