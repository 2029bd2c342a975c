"""One scan: read every source, then apply the rules.

Reading is the only I/O here; the rules (:func:`daemon.core.rules.analyze`) are pure.
A source that fails is reported with its reason and contributes no events: its
absence is never read as "no meetings".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from connectors.base import CalendarSource
from daemon.config import Config
from daemon.core.detection import Directory
from daemon.core.errors import SourceError
from daemon.core.model import Event, SourceReport
from daemon.core.rules import Analysis, analyze

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanResult:
    analysis: Analysis
    sources: tuple[SourceReport, ...]

    @property
    def all_sources_ok(self) -> bool:
        return all(s.ok for s in self.sources)


def read_sources(sources: list[CalendarSource], config: Config, *,
                 prefilter: bool = True) -> tuple[list[Event], list[SourceReport]]:
    """Events from every source that could be read, and a report per source."""
    interest = Directory.from_config(config) if prefilter else None
    tz = config.owner.tz
    events: list[Event] = []
    reports: list[SourceReport] = []
    for source in sources:
        try:
            result = source.read(tz=tz, interest=interest)
        except SourceError as exc:
            log.debug("%s", exc)  # the caller shows the failed source once
            reports.append(SourceReport(source.name, ok=False, error=exc.reason, hint=exc.hint))
            continue
        for warning in result.warnings:
            log.warning("%s", warning)
        events.extend(result.events)
        reports.append(SourceReport(source.name, ok=True, events=result.total,
                                    warnings=result.warnings))
    return events, reports


def scan(config: Config, sources: list[CalendarSource], now: datetime, *,
         prefilter: bool = True) -> ScanResult:
    events, reports = read_sources(sources, config, prefilter=prefilter)
    unread = {r.name: r.error or "failed" for r in reports if not r.ok}
    analysis = analyze(events, config, now, unread=unread)
    for warning in analysis.warnings:
        log.warning("%s", warning)
    return ScanResult(analysis, tuple(reports))
