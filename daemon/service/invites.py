"""The per-sync step that links each person's agenda from their 1:1 invites, or, for
agendas kept on this machine, writes the coming meeting's agenda into its invite.

After the agendas are prepared, every upcoming booked 1:1 (within
``cadence.lookahead_days``) read from a source that can write invites (an
:class:`~connectors.base.InviteWriter` whose sign-in allows it) gets its series
(or, for a one-off, the event itself) linked to the person's agenda document; the
writer changes only events the owner organizes and nothing twice. Only https
agenda addresses of a document store (Google Docs) go into invites: a local
agenda's address is a secret of this machine.

With a local store, each relationship's next booked 1:1, read from a source that can
write it (an :class:`~connectors.base.AgendaBlockWriter`), gets the digest of its
section (topics, carried action items, prompts) as a block in its description, once
the section exists: refreshed when the section changes, at most once an hour per
meeting (:data:`REFRESH`), and only that meeting (the writer makes an exception of
the series' instance).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from connectors.base import AgendaBlockWriter, AgendaLink, InviteChange, InviteWriter
from daemon.config import Config
from daemon.core.agenda.digest import digest
from daemon.core.agenda.model import meeting_key
from daemon.core.rules import Analysis, is_booked
from daemon.service.agendas import agenda_step
from daemon.state.store import Store

log = logging.getLogger(__name__)

REFRESH = timedelta(hours=1)  # a meeting's block is rewritten at most this often
TABLE, KEY = "invite_blocks", "written"
KEPT = 200  # meetings whose last block is remembered


def agenda_steps(config: Config, agendas: Any, state: Store, sources: Sequence[Any], *,
                 nudges: bool = True) -> list[Callable[[Analysis, datetime], None]]:
    """What runs after each sync: the agendas are prepared, then linked from the
    invites, then (the service and `sync`; not `report`) the owner is nudged about any
    still empty before its 1:1."""
    from daemon.service.nudge import nudge_step

    return [*agenda_step(config, agendas, state),
            *invite_step(config, sources, agendas, state=state),
            *(nudge_step(config, agendas, state) if nudges else ())]


def invite_step(config: Config, sources: Sequence[Any], agendas: Any, *,
                dry_run: bool = False, collected: list[InviteChange] | None = None,
                state: Store | None = None) -> list[Callable[[Analysis, datetime], None]]:
    """The step (none when no source can write invites). With a store of documents
    (Google Docs), the link; with a local store, the block (``state`` remembers what
    was written when; without it nothing is remembered, as in a dry run)."""
    if not config.agenda.enabled:
        return []
    if not callable(getattr(agendas, "document_id", None)):
        return block_step(config, sources, agendas, state, dry_run=dry_run,
                          collected=collected)
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


def block_step(config: Config, sources: Sequence[Any], agendas: Any, state: Store | None, *,
               dry_run: bool = False, collected: list[InviteChange] | None = None,
               ) -> list[Callable[[Analysis, datetime], None]]:
    """The agenda block in each relationship's next invite (local agendas)."""
    writers = [s for s in sources if isinstance(s, AgendaBlockWriter)]
    if not writers:
        return []

    def step(analysis: Analysis, now: datetime) -> None:
        calendars = {s.name: s for s in writers if s.can_write}
        if not calendars:
            return
        found = state.document(TABLE, KEY) if state is not None else None
        written: dict[str, Any] = dict((found or {}).get("meetings") or {})
        changed = False
        for rel in analysis.relationships:
            booked = sorted((o for o in rel.occurrences if o.end > now and is_booked(o)),
                            key=lambda o: o.start)
            if not booked or booked[0].source not in calendars:
                continue
            occ = booked[0]
            key = meeting_key(occ.uid, occ.original_start)
            revision = agendas.read(rel.person)
            section = digest(revision.text, key) if revision is not None else None
            if section is None:
                continue  # its section is added agenda.lead_hours before the meeting
            seen = written.get(key) or {}
            if seen.get("fingerprint") == section.fingerprint():
                continue
            if seen.get("at") and now - datetime.fromisoformat(seen["at"]) < REFRESH:
                continue
            changes = calendars[occ.source].write_agenda(occ.uid, occ.original_start, section,
                                                         dry_run=dry_run)
            if collected is not None:
                collected.extend(changes)
            if changes and not dry_run:
                written[key] = {"fingerprint": section.fingerprint(), "at": now.isoformat()}
                changed = True
        if changed and state is not None:
            newest = sorted(written.items(), key=lambda kv: kv[1]["at"])[-KEPT:]
            state.save_document(TABLE, KEY, {"meetings": dict(newest)})

    return [step]
