"""`cadenced run`: the service under systemd --user.

APScheduler 3 runs the jobs in background threads; the main thread waits for
signals. Jobs:

- ``sync`` every ``sync.interval_minutes`` (with jitter), first at start-up;
  missed runs after a suspend run once (coalesced), never silently skipped;
  one at a time;
- ``heartbeat``: WATCHDOG=1 at half of ``$WATCHDOG_USEC`` (every minute when
  systemd set no watchdog), and the STATUS line;
- ``report`` (with ``[smtp]``): a sync at ``[report] weekday/time`` in the owner's
  zone. Every sync sends the week's report when it is due and not sent yet, so a
  machine that was off at that time sends it once when it is back.

A failing job is logged and tried again on its next run; it never stops the
scheduler. SIGTERM abandons a sync between two sources (nothing half-written:
the state is committed once, atomically, at the end of a cycle) and exits 0.
SIGHUP reloads the configuration; a bad new one is reported and the old one
kept.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from connectors.base import MailError
from connectors.registry import build_agenda_store
from daemon.config import Config, LoadedConfig, load_config
from daemon.core.attention import for_analysis
from daemon.core.errors import CadencedError
from daemon.service.agendas import upcoming_meetings
from daemon.service.invites import agenda_steps
from daemon.service.notify import Notifier, watchdog_interval
from daemon.service.report import is_due, report_for, send_report, source_statuses
from daemon.service.server import AgendaServer, new_secret, overlay_calendar
from daemon.service.site import LiveView
from daemon.service.sync import Abandoned, Syncer, SyncResult
from daemon.state.files import atomic_write
from daemon.state.paths import RUNTIME_FILE
from daemon.state.store import Store

log = logging.getLogger(__name__)

DEFAULT_HEARTBEAT = 60.0


@dataclass
class Health:
    people: int = 0
    attention: int = 0
    failing: int = 0
    last_sync: datetime | None = None


def status_line(health: Health, next_sync: datetime | None, tz: Any) -> str:
    """The one human line shown by `systemctl --user status cadenced`."""
    parts = [f"{health.people} {'person' if health.people == 1 else 'people'}",
             f"{health.attention} need{'s' if health.attention == 1 else ''} attention"]
    if health.failing:
        parts.append(f"{health.failing} source{'s' if health.failing != 1 else ''} failing")
    if next_sync is not None:
        parts.append(f"next sync {next_sync.astimezone(tz):%H:%M}")
    return ", ".join(parts)


class Runner:
    """Owns the scheduler, the store and the syncer for one run of the service."""

    def __init__(self, loaded: LoadedConfig, store: Store, *, notifier: Notifier,
                 runtime_dir: Path, reload: Callable[[], LoadedConfig],
                 clock: Callable[[], datetime] | None = None,
                 environ: dict[str, str] | None = None,
                 data_dir: Path | None = None) -> None:
        self.loaded = loaded
        self.store = store
        self.notifier = notifier
        self.runtime_dir = runtime_dir
        self.reload_config = reload
        data_dir = data_dir or runtime_dir.parent / "data"
        self.clock = clock or (lambda: datetime.now(UTC))
        self.environ = environ if environ is not None else dict(os.environ)
        self.data_dir = data_dir
        self.syncer = Syncer(loaded.config, store)
        self.agendas = build_agenda_store(loaded.config, self.syncer.sources, data_dir)
        self.last_analysis: Any = None
        # What the health page shows, taken in the sync's thread after each sync.
        self.last_sources: list[Any] = []
        self.last_overdue: dict[str, Any] = {}
        self.server: AgendaServer | None = None
        self.health = Health()
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._reload_requested = threading.Event()
        self._sync_lock = threading.Lock()
        self._publish_lock = threading.Lock()
        self.scheduler = BackgroundScheduler(
            timezone=loaded.config.owner.tz,
            executors={"default": ThreadPoolExecutor(max_workers=2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    @property
    def config(self) -> Config:
        return self.loaded.config

    # --- jobs -----------------------------------------------------------------------

    def sync_job(self) -> SyncResult | None:
        """One sync; never raises (a failure is logged and retried on the next run)."""
        if not self._sync_lock.acquire(blocking=False):
            log.info("a sync is already running; this one is skipped")
            return None
        try:
            now = self.clock().astimezone(self.config.owner.tz)
            try:
                result = self.syncer.sync(now, stop=self.stopping.is_set,
                                          steps=self._steps())
            except Abandoned:
                log.info("sync abandoned for shutdown; the state is unchanged")
                return None
            analysis = result.scan.analysis
            for source in result.scan.sources:
                if not source.ok:
                    log.warning("source %r: %s%s", source.name, source.error,
                                f" ({source.hint})" if source.hint else "")
            self.health = Health(
                people=len(analysis.relationships),
                attention=len(for_analysis(analysis)),
                failing=sum(1 for s in result.scan.sources if not s.ok),
                last_sync=now,
            )
            log.info("sync done: %s%s", status_line(self.health, None, self.config.owner.tz),
                     "" if result.wrote_state else " (state unchanged)")
            self._snapshot(now)
            self._report_if_due(result, now)
            return result
        except CadencedError as exc:
            log.error("sync failed: %s%s", exc, f" ({exc.hint})" if exc.hint else "")
        except Exception:
            log.exception("sync failed unexpectedly; it runs again at the next interval")
        finally:
            self._sync_lock.release()
            self._publish()
        return None

    def _snapshot(self, now: datetime) -> None:
        """The sources' health and the overdue items, for the server's threads (they
        never read the state while a sync writes it)."""
        from daemon.service.agendas import overdue_items

        self.last_sources = source_statuses(self.store.sources())
        try:
            self.last_overdue = dict(overdue_items(self.store, now.date()))
        except CadencedError as exc:
            log.debug("overdue items not known: %s", exc)

    def live_view(self) -> LiveView:
        """The health page's content: the last sync's analysis, at this moment."""
        return LiveView(config=lambda: self.config, analysis=lambda: self.last_analysis,
                        sources=lambda: self.last_sources, clock=self.clock,
                        overdue=lambda _day: self.last_overdue,
                        synced=lambda: self.health.last_sync)

    def _steps(self) -> list[Callable[[Any, datetime], None]]:
        """What runs after each sync, before its one commit: the agendas, then their
        links in the invites."""
        def remember(analysis: Any, now: datetime) -> None:
            self.last_analysis = analysis  # for the overlay feed
        return [remember, *agenda_steps(self.config, self.agendas, self.store,
                                        self.syncer.sources)]

    def start_server(self) -> None:
        """The agenda pages and the overlay feed, when ``[server] enabled``."""
        settings = self.config.server
        if not settings.enabled:
            return
        secret = server_secret(self.store)
        self.store.commit()
        tz = self.config.owner.tz

        def feed() -> bytes:
            if self.last_analysis is None:
                return overlay_calendar([], now=self.clock().astimezone(tz))
            now = self.clock().astimezone(tz)
            return overlay_calendar(
                [(meeting, self.agendas.url(person), name)
                 for meeting, person, name in upcoming_meetings(self.last_analysis, now)],
                now=now)

        def index() -> list[tuple[str, str]]:
            names = {r.person: r.name for r in (self.last_analysis.relationships
                                                if self.last_analysis else ())}
            people = getattr(self.agendas, "people", None)  # Google Docs: everyone known
            return [(person, names.get(person, person))
                    for person in (people() if callable(people) else sorted(names))]

        self.server = AgendaServer(host=settings.host, port=settings.port, secret=secret,
                                   store=self.agendas, feed=feed, index=index,
                                   live=self.live_view())
        self.server.start()
        if hasattr(self.agendas, "base_url"):
            self.agendas.base_url = self.server.base_url
        log.info("agenda server on %s:%d (its address with the secret: cadenced status)",
                 settings.host, self.server.port)

    def _report_if_due(self, result: SyncResult, now: datetime) -> None:
        """Send this week's report when it is due; a failure waits for a later sync."""
        config = self.config
        if not is_due(config, self.store, now):
            return
        try:
            weekly = report_for(result.scan.analysis, config, self.store, now, self.agendas,
                                self.syncer.sources)
            send_report(weekly, config, self.store, now)
        except MailError as exc:
            when = "at the next sync" if exc.transient else "in a day, or after a reload"
            log.error("weekly report not sent: %s; trying again %s%s", exc, when,
                      f" ({exc.hint})" if exc.hint else "")

    def heartbeat_job(self) -> None:
        self.notifier.watchdog()
        self._publish()

    def next_sync(self) -> datetime | None:
        job = self.scheduler.get_job("sync")
        return getattr(job, "next_run_time", None) if job is not None else None

    def _publish(self) -> None:
        # Under the lock, so that stop() cannot remove the runtime file between the
        # check and the write (a heartbeat in flight at shutdown would leave it behind).
        with self._publish_lock:
            if self.stopping.is_set():
                return
            self.notifier.status(status_line(self.health, self.next_sync(),
                                             self.config.owner.tz))
            self._write_runtime()

    def _write_runtime(self) -> None:
        jobs = {}
        for job in self.scheduler.get_jobs():
            when = getattr(job, "next_run_time", None)  # unset while the scheduler is stopped
            jobs[job.id] = when.isoformat() if when else None
        data = {
            "pid": os.getpid(),
            "last_sync": self.health.last_sync.isoformat() if self.health.last_sync else None,
            "next_runs": jobs,
            "last_success": dict(self.syncer.last_success),
            "server": self.server.base_url if self.server is not None else None,
        }
        try:
            self.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write(self.runtime_dir / RUNTIME_FILE, json.dumps(data).encode())
        except OSError as exc:
            log.debug("cannot write the runtime file: %s", exc)

    # --- life cycle --------------------------------------------------------------------

    def _schedule(self, first_sync: datetime | None) -> None:
        sync = self.config.sync
        # APScheduler pauses a job added with next_run_time=None: leave it unset instead.
        first = {"next_run_time": first_sync} if first_sync is not None else {}
        self.scheduler.add_job(
            self.sync_job, IntervalTrigger(minutes=sync.interval_minutes,
                                           jitter=sync.jitter_seconds or None),
            id="sync", name="sync", replace_existing=True, **first)
        report = self.config.report
        if report.enabled and self.config.smtp is not None:
            hour, minute = report.time.split(":")
            # At the report's time a sync runs; every sync sends the report when due
            # (so a machine that was off then catches up at its first sync).
            self.scheduler.add_job(
                self.sync_job, CronTrigger(day_of_week=report.weekday[:3], hour=int(hour),
                                           minute=int(minute), timezone=self.config.owner.tz),
                id="report", name="weekly report", replace_existing=True)
        beat = watchdog_interval(self.environ) or DEFAULT_HEARTBEAT
        self.scheduler.add_job(self.heartbeat_job, IntervalTrigger(seconds=beat),
                               id="heartbeat", name="heartbeat", replace_existing=True)

    def start(self) -> None:
        """The server, the first sync, then READY=1, then the scheduler."""
        self.start_server()
        self.sync_job()
        if self.stopping.is_set():
            return  # asked to stop during the first sync: never claim to be ready
        self._schedule(first_sync=None)
        self.scheduler.start()
        self.notifier.ready(status_line(self.health, self.next_sync(), self.config.owner.tz))
        self._publish()

    def reload(self) -> bool:
        """Reload the configuration; a bad one is reported and the old one kept."""
        self.notifier.reloading()
        try:
            loaded = self.reload_config()
        except CadencedError as exc:
            log.error("configuration not reloaded, the old one stays: %s", exc)
            for key, problem in getattr(exc, "problems", []):
                log.error("  %s: %s", key, problem)
            self.notifier.ready()
            return False
        with self._sync_lock:
            self.loaded = loaded
            self.syncer = Syncer(loaded.config, self.store)
            base_url = getattr(self.agendas, "base_url", None)
            self.agendas = build_agenda_store(loaded.config, self.syncer.sources, self.data_dir)
            if hasattr(self.agendas, "base_url"):
                self.agendas.base_url = base_url
            if self.server is not None:  # the forms write to the new store
                self.server.store = self.server.site.store = self.agendas
        self.scheduler.remove_all_jobs()
        self._schedule(first_sync=self.clock() + timedelta(seconds=1))
        log.info("configuration reloaded")
        self.notifier.ready()
        self._publish()
        return True

    def request_stop(self) -> None:
        self.stopping.set()
        self._wake.set()

    def request_reload(self) -> None:
        self._reload_requested.set()
        self._wake.set()

    def wait(self) -> None:
        """Block the main thread until asked to stop; handle reloads here."""
        while not self.stopping.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._reload_requested.is_set() and not self.stopping.is_set():
                self._reload_requested.clear()
                self.reload()

    def stop(self) -> None:
        self.notifier.stopping()
        self.stopping.set()
        # A running sync finishes or abandons (it asks `stopping` between sources)
        # before the scheduler goes: shutdown(wait=True) would hold APScheduler's
        # job store lock while a job still needs it.
        with self._sync_lock:
            pass
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.server is not None:
            self.server.stop()
        with self._publish_lock, contextlib.suppress(OSError):
            (self.runtime_dir / RUNTIME_FILE).unlink()


def server_secret(store: Store) -> str:
    """The random path segment of the agenda server's addresses, made once and kept."""
    found = store.document("server", "secret")
    if found:
        return str(found["value"])
    secret = new_secret()
    store.save_document("server", "secret", {"value": secret})
    return secret


def serve(config_path: Path, state_dir: Path, runtime_dir: Path,
          data_dir: Path | None = None) -> int:
    """Run the service until SIGTERM/SIGINT. Returns the exit status."""
    loaded = load_config(config_path)
    for warning in loaded.warnings:
        log.warning("%s: %s", config_path, warning)
    notifier = Notifier.from_environ()
    store = Store.open(state_dir)
    runner = Runner(loaded, store, notifier=notifier, runtime_dir=runtime_dir,
                    reload=lambda: load_config(config_path), data_dir=data_dir)
    signal.signal(signal.SIGTERM, lambda *_: runner.request_stop())
    signal.signal(signal.SIGINT, lambda *_: runner.request_stop())
    signal.signal(signal.SIGHUP, lambda *_: runner.request_reload())
    try:
        log.info("cadenced started: %d source(s), state in %s", len(loaded.config.sources),
                 state_dir)
        runner.start()
        runner.wait()
    finally:
        runner.stop()
        store.close()
        notifier.close()
    log.info("cadenced stopped")
    return 0
