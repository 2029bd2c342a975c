"""The per-sync step that links each person's agenda from their 1:1 invites.

After the agendas are prepared, every upcoming booked 1:1 (within
``cadence.lookahead_days``) read from a source that can write invites (an
:class:`~connectors.base.InviteWriter` whose sign-in allows it) gets its series
(or, for a one-off, the event itself) linked to the person's agenda document; the
writer changes only events the owner organizes and nothing twice. Only https
agenda addresses of a document store (Google Docs) go into invites: a local
agenda's address is a secret of this machine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from connectors.base import AgendaLink, InviteChange, InviteWriter
from daemon.config import Config
from daemon.core.rules import Analysis, is_booked
from daemon.service.agendas import agenda_step
from daemon.state.store import Store

log = logging.getLogger(__name__)


def agenda_steps(config: Config, agendas: Any, state: Store, sources: Sequence[Any], *,
                 nudges: bool = True) -> list[Callable[[Analysis, datetime], None]]:
    """What runs after each sync: the agendas are prepared, then linked from the
    invites, then (the service and `sync`; not `report`) the owner is nudged about any
    still empty before its 1:1."""
    from daemon.service.nudge import nudge_step

    return [*agenda_step(config, agendas, state), *invite_step(config, sources, agendas),
            *(nudge_step(config, agendas, state) if nudges else ())]


def invite_step(config: Config, sources: Sequence[Any], agendas: Any, *,
                dry_run: bool = False, collected: list[InviteChange] | None = None,
                ) -> list[Callable[[Analysis, datetime], None]]:
    """The step (none when no source can write invites, or the agenda store has no
    documents to link)."""
    if not config.agenda.enabled or not callable(getattr(agendas, "document_id", None)):
        return []
    writers = [s for s in sources if isinstance(s, InviteWriter)]
    if not writers:
        return []

    def step(analysis: Analysis, now: datetime) -> None:
        calendars = {s.name: s for s in writers if s.can_write}  # the sign-in may change
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
            link = AgendaLink(url, f"1:1 agenda: {rel.name}", document_id=doc_id)
            for source_name, uid in uids:
                changes = calendars[source_name].link_agenda(uid, link, dry_run=dry_run)
                if collected is not None:
                    collected.extend(changes)

    return [step]
