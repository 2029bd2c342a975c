"""One sync cycle over the state: read, keep the last good, analyze, remember.

What `cadenced sync` runs once and the service runs on a schedule. A source
that fails keeps its last good events and is shown as failing since the first
failed cycle; no flag is derived from its silence. The state is written once,
at the end, and only when something in it changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import CalendarSource, ReadResult
from connectors.registry import build_sources
from daemon.config import Config
from daemon.core.attention import for_analysis, short_words
from daemon.core.detection import Directory
from daemon.core.errors import CadencedError, NeedsSignIn, SourceError
from daemon.core.history import History, Seen, depart, from_json, observe, to_json
from daemon.core.model import Event, SourceReport
from daemon.core.rules import Analysis, analyze, finding_key
from daemon.service.scan import ScanResult
from daemon.state.store import Store

log = logging.getLogger(__name__)

class Abandoned(Exception):
    """The cycle was stopped before it wrote anything."""


@dataclass(frozen=True)
class SyncResult:
    scan: ScanResult
    first_seen: dict[str, str]  # finding key -> ISO time first seen
    wrote_state: bool


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class Syncer:
    """Runs sync cycles with long-lived sources (their in-memory caches last)."""

    def __init__(self, config: Config, store: Store,
                 sources: list[CalendarSource] | None = None, *,
                 read_only: bool = False) -> None:
        self.config = config
        self.store = store
        if sources is None:
            checkpoints = {s.name: s.checkpoint for s in store.sources()}
            sources = build_sources(config, cache_dir=store.directory / "feeds",
                                    checkpoints=checkpoints, state_dir=store.directory,
                                    read_only=read_only)
        self.sources = sources
        self._not_before: dict[str, datetime] = {}  # a feed's own X-PUBLISHED-TTL
        self.last_success: dict[str, str] = {}  # source -> ISO time of its last good read
        self._history: History | None = None  # as last committed

    def _read(self, source: CalendarSource, now: datetime, tz: ZoneInfo,
              interest: Directory) -> ReadResult:
        """Read a source, unless it asked not to be read this often: then its last read."""
        wait_until = self._not_before.get(source.name)
        if wait_until is not None and now < wait_until:
            last = source.last_good(tz=tz, interest=interest)
            if last is not None:
                log.debug("source %r asks to be read after %s", source.name, wait_until)
                return replace(last, changed=False)
        result = source.read(tz=tz, interest=interest)
        if result.refresh is not None:
            self._not_before[source.name] = now + result.refresh
        return result

    def sync(self, now: datetime, *, stop: Callable[[], bool] = lambda: False,
             steps: Sequence[Callable[[Analysis, datetime], None]] = (),
             commit: bool = True) -> SyncResult:
        """One cycle at ``now``. Raises only for state errors, never for a source.

        ``stop`` is asked between sources: when it says so, the cycle is abandoned
        with nothing written (:class:`Abandoned`); the state stays as it was.
        ``steps`` run after the analysis and before the one commit (agendas); a
        step that fails is logged and the cycle goes on. ``commit=False`` (a dry
        run) leaves the state as it was.
        """
        config = self.config
        tz = config.owner.tz
        interest = Directory.from_config(config)
        events: list[Event] = []
        reports: list[SourceReport] = []
        read_ok: dict[str, frozenset[str]] = {}
        unread: dict[str, str] = {}  # failed, and no good copy to fall back on
        for source in self.sources:
            if stop():
                self.store.rollback()
                raise Abandoned
            state = self.store.source(source.name)
            try:
                result = self._read(source, now, tz, interest)
            except SourceError as exc:
                log.debug("%s", exc)  # the caller shows the failed source once
                last = source.last_good(tz=tz, interest=interest)
                if last is not None:
                    events.extend(last.events)
                else:
                    unread[source.name] = exc.reason
                state = replace(state, error=exc.reason, hint=exc.hint,
                                failing_since=state.failing_since or _iso(now),
                                needs_sign_in=isinstance(exc, NeedsSignIn))
                reports.append(SourceReport(source.name, ok=False, error=exc.reason,
                                            events=last.total if last else 0, hint=exc.hint))
            else:
                for warning in result.warnings:
                    log.warning("%s", warning)
                events.extend(result.events)
                read_ok[source.name] = result.uids
                state = replace(
                    state,
                    checkpoint=source.checkpoint(),
                    last_change=_iso(now) if result.changed or not state.last_change
                    else state.last_change,
                    error=None,
                    hint=None,
                    failing_since=None,
                    needs_sign_in=False,
                    one_on_one_events=len(result.events),
                )
                self.last_success[source.name] = _iso(now)
                reports.append(SourceReport(source.name, ok=True, events=result.total,
                                            warnings=result.warnings))
            self.store.save_source(state)

        if self._history is None:
            self._history = from_json(self.store.document("history", "history"))
        history = depart(self._history, read_ok, now)
        analysis = analyze(events, config, now, history, unread=unread)
        for warning in analysis.warnings:
            log.warning("%s", warning)
        departed = {(d.seen.occurrence.uid, d.seen.occurrence.original_start)
                    for d in history.departed}
        current = [
            Seen(rel.person, occ, {s.uid: s.interval_days for s in rel.series}.get(occ.uid))
            for rel in analysis.relationships for occ in rel.occurrences
            if occ.key not in departed
        ]
        updated = observe(history, current, now, analysis.window_start, analysis.window_end)
        if updated != self._history:
            self.store.save_document("history", "history", to_json(updated))
        first_seen = self._remember_findings(analysis, now)
        self.store.replace_documents("people", people_summary(analysis))
        for step in steps:
            try:
                step(analysis, now)
            except NeedsSignIn as exc:  # already shown for the source itself
                log.debug("a step after the sync skipped: %s", exc)
            except CadencedError as exc:
                log.error("%s%s", exc, f" ({exc.hint})" if exc.hint else "")
            except Exception:
                log.exception("a step after the sync failed; it runs again next cycle")
        if self.store.dirty():
            # The time of the last good read alone is no reason to write the state;
            # it rides along with real changes (the service also publishes it live).
            for name, when in self.last_success.items():
                self.store.save_source(replace(self.store.source(name), last_success=when))
        if not commit:
            self.store.rollback()
            return SyncResult(ScanResult(analysis, tuple(reports)), first_seen, False)
        wrote = self.store.commit()
        self._history = updated  # this process is the only writer while it holds the lock
        return SyncResult(ScanResult(analysis, tuple(reports)), first_seen, wrote)

    def _remember_findings(self, analysis: Analysis, now: datetime) -> dict[str, str]:
        known = {d["key"]: d for d in self.store.documents("findings")}
        documents = []
        for rel in analysis.relationships:
            for flag in rel.flags:
                key = finding_key(rel.person, flag)
                first = known.get(key, {}).get("first_seen", _iso(now))
                documents.append({"key": key, "kind": flag.kind, "person": rel.person,
                                  "first_seen": first})
        unique = {d["key"]: d for d in documents}
        self.store.replace_documents("findings", list(unique.values()))
        return {key: d["first_seen"] for key, d in unique.items()}


def people_summary(analysis: Analysis) -> list[dict[str, Any]]:
    """One line per relationship for `status`: only what changes when meetings do."""
    attention = for_analysis(analysis)
    out = []
    for rel in analysis.relationships:
        kinds: dict[str, int] = {}
        for flag in rel.flags:
            kinds[flag.kind] = kinds.get(flag.kind, 0) + 1
        out.append({
            "person": rel.person,
            "name": rel.name,
            "expected_interval_days": rel.expected_interval_days,
            "cadence": rel.cadence,
            "inferred_from": rel.inferred_from or None,
            "unknown": rel.unknown,
            "attention": [short_words(r) for r in attention.get(rel.person, ())],
            "last_held": rel.last_held.isoformat() if rel.last_held else None,
            "next_scheduled": rel.next_scheduled.start.isoformat()
            if rel.next_scheduled else None,
            "flags": dict(sorted(kinds.items())),
        })
    return out
