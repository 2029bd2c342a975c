"""The per-sync step that links each person's agenda Doc from their 1:1 invites.

After the agendas are prepared, every upcoming booked 1:1 (within
``cadence.lookahead_days``) read from a Google source that may be written to
gets its series (or, for a one-off, the event itself) linked to the person's
Doc, through :func:`connectors.google.writeback.link`, which changes only
events the owner organizes and nothing twice. Only https agenda addresses
(Google Docs) go into invites: a local agenda's address is a secret of this
machine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from connectors.google.calendar import GoogleCalendar
from connectors.google.writeback import Link, Patch, link
from daemon.config import Config
from daemon.core.errors import GoogleApiError
from daemon.core.rules import Analysis, is_booked
from daemon.service.agendas import agenda_step
from daemon.state.store import Store

log = logging.getLogger(__name__)


def agenda_steps(config: Config, agendas: Any, state: Store, sources: Sequence[Any]
                 ) -> list[Callable[[Analysis, datetime], None]]:
    """What runs after each sync: the agendas are prepared, then linked from the
    invites."""
    return [*agenda_step(config, agendas, state), *invite_step(config, sources, agendas)]


def invite_step(config: Config, sources: Sequence[Any], agendas: Any, *,
                dry_run: bool = False, collected: list[Patch] | None = None,
                ) -> list[Callable[[Analysis, datetime], None]]:
    """The step (none when no Google source may be written to, or the agenda
    store has no Docs to link)."""
    if not config.agenda.enabled or not callable(getattr(agendas, "document_id", None)):
        return []
    google = [s for s in sources if isinstance(s, GoogleCalendar)]
    if not google:
        return []

    def step(analysis: Analysis, now: datetime) -> None:
        calendars = {s.name: s for s in google if s.can_write}  # the sign-in may change
        if not calendars:
            return
        horizon = now + timedelta(days=config.cadence.lookahead_days)
        for rel in analysis.relationships:
            uids = sorted({(o.source, o.uid) for o in rel.occurrences
                           if o.source in calendars and o.end > now and o.start <= horizon
                           and is_booked(o)})
            if not uids:
                continue
            doc_id, url = agendas.document_id(rel.person), agendas.url(rel.person)
            if not doc_id or not url or not url.startswith("https://"):
                continue
            target = Link(doc_id, url, f"1:1 agenda: {rel.name}")
            for source_name, uid in uids:
                calendar = calendars[source_name]
                for resource in calendar.events_with_uid(uid):
                    try:
                        patch = link(calendar, resource, target, dry_run=dry_run)
                    except GoogleApiError as exc:  # this event only; NeedsSignIn ends the step
                        log.error("%s%s", exc, f" ({exc.hint})" if exc.hint else "")
                        continue
                    if patch is not None and collected is not None:
                        collected.append(patch)

    return [step]

