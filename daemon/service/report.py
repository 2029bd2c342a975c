"""Sending the weekly report: at most once per ISO week, never lost.

The sent marker (table ``reports``, one document per ISO week) is written only
after the SMTP server accepted the message. A crash between the two means the
next cycle sends again; the Message-ID is derived from the week and the owner,
so mail clients that deduplicate show the repeat once. A transient failure
(network, timeout, 4xx) is retried at the next sync; a permanent one (a refused
login, a 5xx) waits a day rather than hammering the server.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from connectors.base import Mailer, MailError, Outgoing
from daemon.config import Config
from daemon.core.errors import CadencedError
from daemon.core.history import KEEP
from daemon.core.report.content import SourceStatus, build_report, week_start
from daemon.core.report.model import Report
from daemon.core.rules import Analysis
from daemon.render.report import build_message
from daemon.state.store import SourceState, Store

log = logging.getLogger(__name__)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PERMANENT_PAUSE = timedelta(hours=24)


def week_key(now: datetime) -> str:
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"


def scheduled_time(config: Config, now: datetime) -> datetime:
    """When this week's report is due, in the owner's zone."""
    report = config.report
    hour, minute = (int(part) for part in report.time.split(":"))
    day = week_start(now) + timedelta(days=WEEKDAYS.index(report.weekday))
    return datetime.combine(day, time(hour, minute), tzinfo=config.owner.tz)


def is_due(config: Config, store: Store, now: datetime) -> bool:
    """This week's report should go out now: enabled, its time has come, not sent yet,
    and not paused after a permanent failure. A machine that was off at the scheduled
    time sends it once when it is back, within the same week."""
    if not config.report.enabled or config.smtp is None:
        return False
    now = now.astimezone(config.owner.tz)
    if now < scheduled_time(config, now):
        return False
    marker = store.document("reports", week_key(now)) or {}
    if marker.get("sent_at"):
        return False
    failed = marker.get("failed_at")
    if failed and not marker.get("transient", True):
        return now - datetime.fromisoformat(failed) >= PERMANENT_PAUSE
    return True


def message_id(config: Config, key: str, sender: str) -> str:
    digest = hashlib.sha256(f"{config.owner.email}|{key}".encode()).hexdigest()[:16]
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<cadenced.{key}.{digest}@{domain}>"


def source_statuses(states: list[SourceState]) -> list[SourceStatus]:
    return [SourceStatus(name=s.name, error=s.error, hint=s.hint,
                         failing_since=datetime.fromisoformat(s.failing_since)
                         if s.failing_since else None,
                         needs_sign_in=s.needs_sign_in)
            for s in states]


def forget_old_weeks(store: Store, now: datetime) -> int:
    """Drop the markers of weeks that began longer ago than the retention: only this
    week's marker is ever asked for, and the table stays bounded."""
    horizon = (now - KEEP).date()

    def old(marker: dict[str, Any]) -> bool:
        year, _, week = str(marker.get("key", "")).partition("-W")
        try:
            return date.fromisocalendar(int(year), int(week), 1) < horizon
        except ValueError:
            return False
    return store.remove_documents_where("reports", old)


@dataclass(frozen=True)
class Sent:
    week: str
    message_id: str
    reply: str




def send_report(report: Report, config: Config, store: Store, now: datetime, *,
                mailer: Mailer | None = None) -> Sent:
    """Send ``report`` and mark its week as sent once the server accepted it.

    ``mailer`` defaults to the one ``connectors.registry`` builds for ``[smtp]``.
    Raises :class:`connectors.base.MailError`; a failure is recorded in the week's
    marker (with whether it is worth retrying soon) and committed.
    """
    smtp = config.smtp
    assert smtp is not None
    if mailer is None:
        from connectors.registry import build_mailer

        mailer = build_mailer(smtp)
    key = week_key(now.astimezone(config.owner.tz))
    sender = smtp.sender or config.owner.email
    recipients = config.report.recipients or (config.owner.email,)
    mid = message_id(config, key, sender)
    message = build_message(report, sender=sender, recipients=recipients, message_id=mid,
                            date=now)
    outgoing = Outgoing(message, sender, tuple(recipients))
    try:
        reply = mailer.send(outgoing)
    except MailError as exc:
        store.save_document("reports", key, {
            "failed_at": now.astimezone(UTC).isoformat(), "error": exc.message,
            "transient": exc.transient, "message_id": mid})
        store.commit()
        raise
    # Only now, after the server accepted it.
    store.save_document("reports", key, {"sent_at": now.astimezone(UTC).isoformat(),
                                         "message_id": mid, "recipients": list(recipients)})
    forget_old_weeks(store, now)
    store.commit(durable=True)  # in both generations: a corrupt file never resends it
    log.info("weekly report for %s sent to %d recipient(s)", key, len(recipients))
    return Sent(key, mid, reply)


def report_for(analysis: Analysis, config: Config, store: Store, now: datetime,
               agendas: Any = None, calendars: Sequence[Any] = ()) -> Report:
    """The report at ``now``; with ``agendas`` (the agenda store), upcoming 1:1s
    link their agenda when it has a shareable https address (Google Docs); with
    ``calendars`` (the sources), each person who needs a make-up 1:1 gets the first
    free slot, from every event those sources hold (they are read again in full)."""
    from daemon.service.agendas import overdue_items

    local = now.astimezone(config.owner.tz)
    return build_report(analysis, config, local, sources=source_statuses(store.sources()),
                        overdue=overdue_items(store, local.date()),
                        agenda_links=agenda_links(analysis, agendas, local),
                        slots=first_slots(analysis, config, store, now, calendars))


def first_slots(analysis: Analysis, config: Config, store: Store, now: datetime,
                calendars: Sequence[Any]) -> dict[str, tuple[datetime, datetime]]:
    """The first make-up slot of each person who needs one (none without sources);
    remembered in the state for ``cadenced status``."""
    if not calendars:
        return {}
    from daemon.service.scan import read_sources
    from daemon.service.suggest import remember, suggestions

    events, _reports = read_sources(list(calendars), config, prefilter=False)
    found = suggestions(analysis, events, config, now, calendars=calendars)
    remember(store, found, now)
    return {s.person: (s.slots[0].start, s.slots[0].end) for s in found if s.slots}


def agenda_links(analysis: Analysis, agendas: Any, now: datetime
                 ) -> dict[tuple[str, datetime], str]:
    """Each upcoming 1:1's agenda address, when it may travel by email: https only
    (a local agenda's address carries this machine's secret)."""
    if agendas is None or not callable(getattr(agendas, "document_id", None)):
        return {}
    links: dict[tuple[str, datetime], str] = {}
    for rel in analysis.relationships:
        upcoming = [o for o in rel.occurrences if o.end > now]
        if not upcoming:
            continue
        try:
            url = agendas.url(rel.person)
        except CadencedError as exc:
            log.warning("report: no agenda link for %s: %s", rel.name, exc)
            continue
        if url and url.startswith("https://"):
            links.update((o.key, url) for o in upcoming)
    return links
