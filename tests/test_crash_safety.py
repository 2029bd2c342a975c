"""A sync killed with SIGKILL leaves the old state or the new one, never half of each.

The scenario: a generated two-year manager calendar (bench/generate.py) is synced once
at an earlier moment ("before"); then one 1:1 is added to the calendar and ``cadenced
sync --now NOW`` runs from copies of that state. An uninterrupted run gives "after".

- ``test_sigkill_at_random_moments``: many runs, each killed after a seeded random delay
  spread over the measured duration of one uninterrupted sync (denser near its end,
  where the feed cache and the state are written);
- ``test_sigkill_at_each_step_of_the_commit``: strace kills the process on entering
  each fsync and rename of the sync in turn, so every step of both atomic writes (feed
  cache, state) is hit for sure (skipped without a working strace).

After each kill the state must load (``Store.open``), equal "before" or "after" (parsed
JSON), be 0600, its lock must be free, and the cached feed must be the old or the new
body. Temp files may stay behind; a later sync must not mind them and must converge to
"after".
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from daemon.state.store import Store, decode_state

ROOT = Path(__file__).resolve().parents[1]
BEFORE_NOW = "2026-11-13T09:00:00+01:00"
NOW = "2026-11-20T09:00:00+01:00"
STAMP = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
YEARS = 2  # 0.7 to 1 s for one sync (interpreter start-up included) on a laptop core
REPORTS = 8
RUNS = 50
SEED = 20261120
# A 1:1 added to the calendar between "before" and "after": the feed changes, so the
# sync rewrites the feed cache and the source's checkpoint as well as the analysis.
EXTRA_EVENT = (
    "BEGIN:VEVENT\r\n"
    "UID:crash-safety-extra@example.com\r\n"
    "DTSTAMP:20261119T120000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20261118T110000\r\n"
    "DTEND;TZID=Europe/Berlin:20261118T113000\r\n"
    "SUMMARY:Catch-up\r\n"
    "ORGANIZER:mailto:manager@example.com\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:manager@example.com\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:report01@example.com\r\n"
    "END:VEVENT\r\n"
)

pytestmark = pytest.mark.timeout(300)


def load_generator() -> ModuleType:
    """bench/generate.py, which is not a package module."""
    name = "_cadenced_bench_generate"
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up while being made
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


@dataclass
class Scenario:
    root: Path
    config: Path
    before_home: Path  # $XDG_STATE_HOME holding cadenced/ in the "before" state
    before: dict[str, Any]  # state.json of "before", parsed
    after: dict[str, Any]  # state.json after an uninterrupted sync at NOW, parsed
    feed_before: bytes  # the cached feed in each
    feed_after: bytes
    duration: float  # wall time of one uninterrupted `cadenced sync`, process start to exit
    env: dict[str, str]

    def environ(self, state_home: Path) -> dict[str, str]:
        # The agendas live in the data directory: keep it inside the copied home too,
        # so that every run starts from the same "before".
        return {**self.env, "XDG_STATE_HOME": str(state_home),
                "XDG_DATA_HOME": str(state_home / "data")}

    def copy_before(self, name: str) -> Path:
        """A fresh copy of the "before" state home; returns it."""
        home = self.root / name
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(self.before_home, home)
        return home

    def argv(self, now: str = NOW) -> list[str]:
        return [sys.executable, "-m", "daemon", "--config", str(self.config), "sync",
                "--now", now]

    def start(self, state_home: Path, now: str = NOW) -> subprocess.Popen[bytes]:
        with open(state_home.with_suffix(".stderr"), "wb") as err:
            return subprocess.Popen(self.argv(now), env=self.environ(state_home),
                                    cwd=self.root, stdout=subprocess.DEVNULL, stderr=err)

    def stderr(self, state_home: Path) -> str:
        return state_home.with_suffix(".stderr").read_text(errors="replace")

    def sync(self, *homes: Path, now: str = NOW) -> float:
        """Uninterrupted syncs of these state homes, side by side; the longest wall time."""
        started = time.monotonic()
        procs = [self.start(home, now) for home in homes]
        elapsed = []
        for home, proc in zip(homes, procs, strict=True):
            assert proc.wait(timeout=120) == 0, self.stderr(home)
            elapsed.append(time.monotonic() - started)
        return max(elapsed)


def state_of(home: Path) -> Path:
    return home / "cadenced"


def read_state(home: Path) -> dict[str, Any]:
    return json.loads((state_of(home) / "state.json").read_bytes())


def feed_file(home: Path) -> Path:
    [feed] = [p for p in (state_of(home) / "feeds").iterdir() if not p.name.startswith(".")]
    return feed


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    root = tmp_path_factory.mktemp("crash")
    generator = load_generator()
    calendar = root / "calendar.ics"
    config = root / "config.toml"
    text = generator.generate(seed=1, years=YEARS, reports=REPORTS, stamp=STAMP)
    calendar.write_bytes(text.encode())
    config.write_text(generator.config_toml(calendar, config, REPORTS), encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if k not in ("STATE_DIRECTORY", "NOTIFY_SOCKET", "JOURNAL_STREAM")}
    env.update(HOME=str(root / "home"), XDG_CONFIG_HOME=str(root / "config-home"),
               XDG_RUNTIME_DIR=str(root / "run"), COLUMNS="120", NO_COLOR="1")

    scenario = Scenario(root, config, root / "before", {}, {}, b"", b"", 0.0, env)
    scenario.sync(scenario.before_home, now=BEFORE_NOW)
    assert EXTRA_EVENT not in text and text.endswith("END:VCALENDAR\r\n")
    calendar.write_bytes(text.replace("END:VCALENDAR\r\n", EXTRA_EVENT + "END:VCALENDAR\r\n")
                         .encode())

    # Two uninterrupted runs side by side, as the kills run: the result is "after", the
    # same both times, and the slower one is the duration the kills are spread over.
    first, second = scenario.copy_before("after"), scenario.copy_before("after-again")
    scenario.duration = scenario.sync(first, second)
    scenario.before = read_state(scenario.before_home)
    scenario.after = read_state(first)
    assert read_state(second) == scenario.after, "a sync from the same state is not repeatable"
    assert scenario.after != scenario.before
    scenario.feed_before = feed_file(scenario.before_home).read_bytes()
    scenario.feed_after = feed_file(first).read_bytes()
    assert scenario.feed_after == calendar.read_bytes() != scenario.feed_before
    [source] = scenario.after["sources"].values()
    assert source["last_change"] == "2026-11-20T08:00:00+00:00"
    return scenario


def check_killed_state(scenario: Scenario, home: Path) -> str:
    """The state a killed sync left is whole and is "before" or "after"; returns which."""
    directory = state_of(home)
    with Store.open(directory, lock=False) as store:  # loads, migrates, no exception
        assert store.documents("people")
    state = read_state(home)
    assert state in (scenario.before, scenario.after), "state.json is neither before nor after"
    assert stat.S_IMODE((directory / "state.json").stat().st_mode) == 0o600
    # The lock died with the process: an exclusive open works at once.
    Store.open(directory).close()
    # The cached feed is also written atomically: old body or new, nothing else.
    assert feed_file(home).read_bytes() in (scenario.feed_before, scenario.feed_after)
    # The previous generation, when there is one, is a whole state too.
    generation = directory / "state.json.1"
    if generation.exists():
        assert decode_state(generation.read_bytes())
    # Only the lock, the state and its generation, the feed cache and temp files of
    # atomic writes are there.
    for path in directory.rglob("*"):
        name = path.relative_to(directory).as_posix()
        assert (name in ("lock", "state.json", "state.json.1", "feeds")
                or path == feed_file(home)
                or re.fullmatch(r"(feeds/)?\.[\w.-]+\.tmp", name)), name
    return "before" if state == scenario.before else "after"


def test_sigkill_at_random_moments(scenario: Scenario):
    rng = random.Random(SEED)
    duration = scenario.duration
    outcomes: Counter[tuple[str, str]] = Counter()  # (killed|finished, before|after)
    leftovers = 0
    for pair in range(RUNS // 2):  # two at a time, each on its own copy of "before"
        runs = []
        for lane in range(2):
            # One spread over the whole run, one over its last quarter and a little
            # beyond, where the feed cache and the state are written.
            low = 0.0 if lane else 0.75 * duration
            delay = rng.uniform(low, 1.1 * duration)
            home = scenario.copy_before(f"lane-{lane}")
            runs.append((home, scenario.start(home), time.monotonic() + delay))
        try:
            for _home, proc, deadline in sorted(runs, key=lambda r: r[2]):
                try:
                    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
        finally:
            codes = [proc.wait(timeout=60) for _home, proc, _deadline in runs]
        for (home, _proc, _deadline), code in zip(runs, codes, strict=True):
            assert code in (0, -signal.SIGKILL), (code, scenario.stderr(home))
            outcome = check_killed_state(scenario, home)
            outcomes["killed" if code else "finished", outcome] += 1
            if code == 0:
                assert outcome == "after"
            leftovers += len(list(state_of(home).rglob(".*.tmp")))
        if pair % 5 == 4:
            # Whatever the kills left (temp files included), the next sync takes the
            # lock, runs and ends where an uninterrupted one does.
            homes = [home for home, _proc, _deadline in runs]
            scenario.sync(*homes)
            for home in homes:
                assert read_state(home) == scenario.after
                assert feed_file(home).read_bytes() == scenario.feed_after
    print(f"\n{RUNS} runs over {duration:.2f} s: {dict(outcomes)}; "
          f"{leftovers} temp file(s) left behind")
    # The kills really fell before and after the commit, not all on one side of it.
    assert outcomes["killed", "before"] > 0, outcomes
    assert outcomes["killed", "after"] + outcomes["finished", "after"] > 0, outcomes


# --- every step of the commit, deterministically ------------------------------------------

STEP_CALLS = ("fsync", "fdatasync", "rename", "renameat", "renameat2")
_CALL_LINE = re.compile(r"^(?:\d+ +)?(?P<call>\w+)\((?P<rest>.*)$")
_DONE = re.compile(r"\) += 0$")


def strace() -> str:
    path = shutil.which("strace")
    if path is None:
        pytest.skip("strace is not installed")
    probe = subprocess.run([path, "-f", "-o", os.devnull, "true"], capture_output=True,
                           timeout=30, check=False)
    if probe.returncode != 0:
        pytest.skip(f"strace cannot trace here: {probe.stderr.decode(errors='replace')[:200]}")
    return path


def test_sigkill_at_each_step_of_the_commit(scenario: Scenario, tmp_path: Path):
    tracer = strace()
    calls = ",".join(STEP_CALLS)
    # Which fsync/rename calls an uninterrupted sync makes, in order, with their paths.
    home = scenario.copy_before("traced")
    log = tmp_path / "trace.txt"
    done = subprocess.run([tracer, "-f", "-y", "-qq", "-o", str(log), "-e", f"trace={calls}",
                           *scenario.argv()], env=scenario.environ(home), cwd=scenario.root,
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert read_state(home) == scenario.after
    steps: list[tuple[str, int, str]] = []  # (call, its number among calls of its name, args)
    seen: Counter[str] = Counter()
    for line in log.read_text().splitlines():
        match = _CALL_LINE.match(line)
        if match is None or match["call"] not in STEP_CALLS:
            continue
        seen[match["call"]] += 1  # strace's when= counts every call of that name
        done_ok = _DONE.search(match["rest"])
        if done_ok and "/cadenced" in match["rest"]:
            steps.append((match["call"], seen[match["call"]], match["rest"][:done_ok.start()]))
    state_renamed = next(i for i, (call, _, args) in enumerate(steps)
                         if call.startswith("rename") and args.endswith('/state.json"'))
    feed_renamed = next(i for i, (call, _, args) in enumerate(steps)
                        if call.startswith("rename") and "/feeds/" in args)
    assert len(steps) >= 6, steps  # two atomic writes: fsync file, rename, fsync directory

    for batch in range(0, len(steps), 2):  # two at a time, each on its own copy
        runs = []
        for index in range(batch, min(batch + 2, len(steps))):
            call, number, args = steps[index]
            home = scenario.copy_before(f"step-{index}")
            proc = subprocess.Popen(
                [tracer, "-f", "-qq", "-o", os.devnull, "-e", f"trace={calls}",
                 "-e", f"inject={call}:signal=KILL:when={number}", *scenario.argv()],
                env=scenario.environ(home), cwd=scenario.root, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE)
            runs.append((index, home, proc))
        for index, home, proc in runs:
            _out, err = proc.communicate(timeout=120)
            call, number, args = steps[index]
            what = f"killed entering {call} #{number} ({args})"
            assert proc.returncode in (-signal.SIGKILL, 128 + signal.SIGKILL), (what, err)
            outcome = check_killed_state(scenario, home)
            # The killed call did not happen; everything before it did.
            assert outcome == ("after" if index > state_renamed else "before"), what
            feed = feed_file(home).read_bytes()
            assert feed == (scenario.feed_after if index > feed_renamed
                            else scenario.feed_before), what
        # The next sync does not mind what the kill left, and ends at "after".
        homes = [home for _index, home, _proc in runs]
        scenario.sync(*homes)
        for home in homes:
            assert read_state(home) == scenario.after, home
            assert feed_file(home).read_bytes() == scenario.feed_after, home
