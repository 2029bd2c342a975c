"""The service's scheduling, with an injected clock (no sleeping)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daemon.config import LoadedConfig, parse_config
from daemon.core.attention import for_analysis
from daemon.core.errors import ConfigError
from daemon.service.notify import Notifier
from daemon.service.runner import Health, Runner, status_line
from daemon.state.store import Store


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def demo(demo):
    demo["sync"] = {"interval_minutes": 15, "jitter_seconds": 0}
    return demo


@pytest.fixture
def runner(tmp_path, demo):
    clock = Clock(datetime(2026, 11, 20, 8, 0, tzinfo=UTC))
    loaded = LoadedConfig(parse_config(demo).config, None, ())
    with Store.open(tmp_path / "state") as store:
        made = Runner(loaded, store, notifier=Notifier(None), runtime_dir=tmp_path / "run",
                      reload=lambda: LoadedConfig(parse_config(demo).config, None, ()),
                      clock=clock, environ={})
        made.test_clock = clock
        yield made
        if made.scheduler.running:
            made.scheduler.shutdown(wait=False)


def test_sync_job_uses_the_injected_clock(runner):
    result = runner.sync_job()
    assert result.scan.analysis.now == datetime(2026, 11, 20, 9, 0, tzinfo=runner.config.owner.tz)
    assert runner.store.source("demo").last_change.startswith("2026-11-20T08:00")
    assert runner.health.people == 6
    # The demo's four eroding habits; Priya's and Jordan's 1:1s are on track.
    needing = set(for_analysis(result.scan.analysis))
    assert runner.health.attention == len(needing) == 4


def test_failing_sync_is_logged_and_the_next_one_runs(runner, monkeypatch, caplog):
    monkeypatch.setattr(runner.syncer, "sync", lambda *a, **k: 1 / 0)
    assert runner.sync_job() is None
    assert "sync failed unexpectedly" in caplog.text
    monkeypatch.undo()
    assert runner.sync_job() is not None


def test_one_sync_at_a_time(runner):
    with runner._sync_lock:
        assert runner.sync_job() is None
    assert runner.sync_job() is not None


def test_jobs_coalesce_missed_runs_and_never_expire(runner):
    runner._schedule(first_sync=datetime(2100, 1, 1, tzinfo=UTC))  # nothing runs here
    runner.scheduler.start()
    job = runner.scheduler.get_job("sync")
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)
    assert job.trigger.interval == timedelta(minutes=15)
    # coalesce: a backlog of missed runs (a suspend) runs once; misfire_grace_time=None:
    # however late the machine wakes, that run is not dropped; max_instances: one sync.
    assert job.next_run_time == datetime(2100, 1, 1, tzinfo=UTC)


def test_heartbeat_follows_half_the_watchdog_timeout(tmp_path, demo):
    loaded = LoadedConfig(parse_config(demo).config, None, ())
    with Store.open(tmp_path / "state") as store:
        runner = Runner(loaded, store, notifier=Notifier(None), runtime_dir=tmp_path / "run",
                        reload=lambda: loaded, environ={"WATCHDOG_USEC": "20000000"})
        runner._schedule(first_sync=None)
        assert runner.scheduler.get_job("heartbeat").trigger.interval == timedelta(seconds=10)


def test_reload_keeps_the_old_config_when_the_new_one_is_bad(runner, demo):
    def broken():
        raise ConfigError("1 problem in the configuration", problems=[("owner.email", "bad")])
    runner.reload_config = broken
    old = runner.config
    assert runner.reload() is False
    assert runner.config is old


def test_reload_applies_a_good_config(runner, demo):
    demo["sync"]["interval_minutes"] = 30
    runner.reload_config = lambda: LoadedConfig(parse_config(demo).config, None, ())
    assert runner.reload() is True
    assert runner.config.sync.interval_minutes == 30
    assert runner.scheduler.get_job("sync").trigger.interval == timedelta(minutes=30)


def test_stop_abandons_a_sync_between_sources(runner):
    runner.stopping.set()
    assert runner.sync_job() is None
    assert not (runner.store.directory / "state.json").exists() or runner.store.storage.commits == 0


def test_status_line_reads_like_a_sentence():
    tz = __import__("zoneinfo").ZoneInfo("Europe/Berlin")
    next_sync = datetime(2026, 11, 20, 9, 45, tzinfo=UTC)
    assert status_line(Health(14, 3), next_sync, tz) == \
        "14 people, 3 need attention, next sync 10:45"
    assert status_line(Health(1, 1, failing=2), None, tz) == \
        "1 person, 1 needs attention, 2 sources failing"
