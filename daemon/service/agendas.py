"""Preparing the agendas: before each upcoming 1:1, its section in the living document.

For every relationship with a 1:1 starting within ``agenda.lead_hours``, the
person's document gets a section for it (once: it is idempotent). Sections of
meetings that moved get their heading moved; cancelled ones are marked, never
deleted. Everything else in the document stays byte-identical; a document
changed by a human while cadenced writes is re-read and the change re-applied.

What the report needs (open and overdue action items) and what carry-over
needs (the items cadenced carried into each section) are kept in the state
store, table ``agendas``, one document per person.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from connectors.base import AgendaStore, with_retry
from daemon.config import Config
from daemon.core.agenda.carry import CarryState, open_items
from daemon.core.agenda.doc import parse
from daemon.core.agenda.edits import add_section, new_document, update_section
from daemon.core.agenda.model import (
    ActionItem,
    Carried,
    Meeting,
    SectionPlan,
    key_start,
    meeting_key,
)
from daemon.core.agenda.prompts import choose
from daemon.core.history import KEEP
from daemon.core.model import Occurrence
from daemon.core.rules import Analysis, Relationship, is_booked, moved_or_cut_short
from daemon.core.timefmt import days_between
from daemon.state.store import Store

log = logging.getLogger(__name__)

RECENT = 3  # sections whose themes and prompts are not repeated


@dataclass(frozen=True)
class Prepared:
    person: str
    added: tuple[str, ...]  # meeting keys of the sections added
    updated: tuple[str, ...]  # meeting keys whose heading moved or was marked cancelled
    text: str | None  # the document after the change (None: no document)


def _meeting(occ: Occurrence, now: datetime) -> Meeting:
    tz = now.tzinfo
    return Meeting(meeting_key(occ.uid, occ.original_start), occ.start.astimezone(tz),
                   occ.end.astimezone(tz), occ.summary, occ.cancelled or occ.declined)


def context_line(rel: Relationship, now: datetime, shortened: timedelta) -> str:
    """Last held, and how many of the recent ones moved or were cut short."""
    parts = []
    if rel.last_held is not None:
        days = days_between(rel.last_held, now)
        parts.append("Last held today" if days == 0 else
                     "Last held yesterday" if days == 1 else f"Last held {days} days ago")
    else:
        parts.append("First 1:1")
    recent = [o for o in rel.occurrences if o.original_start <= now][-6:]
    eroded = sum(1 for o in recent if moved_or_cut_short(o, shortened))
    cancelled = sum(1 for o in recent if o.cancelled or o.declined)
    if recent:
        parts.append(f"{eroded} of the last {len(recent)} moved or cut short")
        if cancelled:
            parts.append(f"{cancelled} cancelled")
    return " · ".join(parts)


def _age_days(rel: Relationship, now: datetime) -> int:
    starts = [s.first_start for s in rel.series] + [o.original_start for o in rel.occurrences[:1]]
    return max(0, (now - min(starts)).days) if starts else 0


def _item_json(c: Carried) -> dict[str, Any]:
    return {"text": c.item.text, "owner": c.item.owner,
            "due": c.item.due.isoformat() if c.item.due else None,
            "first_seen": c.first_seen.isoformat(), "carried": c.carried, "overdue": c.overdue}


def prepare(analysis: Analysis, config: Config, store: AgendaStore, state: Store,
            now: datetime, *, person: str | None = None, write: bool = True) -> list[Prepared]:
    """Add and update the sections that are due at ``now``. ``write=False`` changes
    nothing and returns what the documents would become."""
    tz = now.tzinfo
    assert tz is not None
    lead = timedelta(hours=config.agenda.lead_hours)
    shortened = timedelta(minutes=config.cadence.shortened_minutes)
    owner = config.owner.name or config.owner.email
    horizon = now - KEEP  # what was carried into older sections is forgotten
    results = []
    for rel in analysis.relationships:
        if person is not None and rel.person != person:
            continue
        due = [o for o in rel.occurrences if now < o.start <= now + lead and is_booked(o)]
        remembered = state.document("agendas", rel.person) or {}
        carry = CarryState.from_json(remembered).since(horizon)
        outcome: dict[str, Any] = {}

        def change(text: str | None, rel: Relationship = rel, due: list[Occurrence] = due,
                   carry: CarryState = carry, outcome: dict[str, Any] = outcome) -> str | None:
            outcome.clear()
            added: list[str] = []
            updated: list[str] = []
            if text is None:
                if not due:
                    return None
                text = new_document(rel.name, owner)
            original = text
            by_key = {meeting_key(o.uid, o.original_start): o for o in rel.occurrences}
            for section in parse(text, tz=tz).sections:
                if section.key and section.key not in carry.carried_into and (
                        (start := key_start(section.key)) is None or start >= horizon):
                    # Written, but the state that records it was lost (a crash between
                    # the document's write and the state's): remember it from the section.
                    carry = CarryState({**carry.carried_into,
                                        section.key: tuple(i.key for i in section.items)})
                occ = by_key.get(section.key or "")
                if occ is not None:
                    changed = update_section(text, _meeting(occ, now), tz=tz)
                    if changed != text:
                        updated.append(section.key or "")
                        text = changed
            for occ in due:
                key = meeting_key(occ.uid, occ.original_start)
                doc = parse(text, tz=tz)
                if doc.section(key) is not None or key in carry.carried_into:
                    continue  # there, or prepared before and deleted by a human: theirs
                carried = open_items(doc, occ.start, carry, today=now.date())
                recent = [s for s in doc.sections if s.theme][:RECENT]
                theme, prompts = choose(
                    meeting_key=key, relationship_age_days=_age_days(rel, now),
                    recent_themes=[s.theme for s in recent if s.theme],
                    recent_prompts=[p for s in recent for p in s.prompts])
                plan = SectionPlan(
                    _meeting(occ, now),
                    context_line(rel, now, shortened) if config.agenda.show_cadence else None,
                    carried, theme, prompts)
                text = add_section(text, plan, tz=tz, today=now.date())
                carry = carry.with_carried(key, carried)
                added.append(key)
            outcome.update(added=tuple(added), updated=tuple(updated), carry=carry, text=text)
            return text if text != original or added else None

        if write:
            with_retry(store, rel.person, change)
        else:
            current = store.read(rel.person)
            change(current.text if current else None)
        text = outcome.get("text")
        if text is None:
            current = store.read(rel.person)
            text = current.text if current else None
        carry = outcome.get("carry", carry)
        if write and text is not None:
            open_now = open_items(parse(text, tz=tz), now + lead, carry, today=now.date())
            state.save_document("agendas", rel.person, {
                **carry.to_json(), "open": [_item_json(c) for c in open_now]})
        results.append(Prepared(rel.person, outcome.get("added", ()),
                                outcome.get("updated", ()), text))
        for key in outcome.get("added", ()) if write else ():
            log.info("agenda: added the section for %s with %s", key.split("|")[1], rel.name)
    return results


def overdue_items(state: Store, today: date) -> dict[str, list[Carried]]:
    """Each person's open action items past their due date, as the last preparation saw."""
    found: dict[str, list[Carried]] = {}
    for document in state.documents("agendas"):
        for raw in document.get("open", []):
            due = date.fromisoformat(raw["due"]) if raw.get("due") else None
            if due is None or due >= today:
                continue
            item = ActionItem(False, raw["text"], raw.get("owner"), due)
            found.setdefault(document["key"], []).append(
                Carried(item, date.fromisoformat(raw["first_seen"]), raw["carried"], True))
    return found


def upcoming_meetings(analysis: Analysis, now: datetime, days: int = 14) -> list[
        tuple[Meeting, str, str]]:
    """(meeting, person, name) for the overlay feed: 1:1s from now to ``days`` ahead."""
    end = now + timedelta(days=days)
    return [(_meeting(o, now), rel.person, rel.name)
            for rel in analysis.relationships for o in rel.occurrences
            if o.end > now and o.start <= end]


def agenda_step(config: Config, agendas: AgendaStore, state: Store,
                collected: list[Prepared] | None = None,
                ) -> list[Callable[[Analysis, datetime], None]]:
    """The per-sync step that prepares agendas (none when ``[agenda]`` is off)."""
    if not config.agenda.enabled:
        return []

    def step(analysis: Analysis, now: datetime) -> None:
        done = prepare(analysis, config, agendas, state, now)
        if collected is not None:
            collected.extend(done)
        forget_departed(analysis, state, now)

    return [step]


def forget_departed(analysis: Analysis, state: Store, now: datetime) -> None:
    """The agenda records of people no longer in any relationship lose what was carried
    into sections older than the retention, and go once nothing is left: the table
    does not grow with everyone a manager ever met. The documents stay."""
    current = {rel.person for rel in analysis.relationships}
    horizon = now - KEEP
    for document in state.documents("agendas"):
        person = document["key"]
        if person in current:
            continue  # prepare() kept it within the retention
        carry = CarryState.from_json(document)
        kept = carry.since(horizon)
        if not kept.carried_into:
            state.remove_document("agendas", person)
        elif kept != carry:
            state.save_document("agendas", person, {**document, **kept.to_json()})


def next_due(analysis: Analysis, config: Config, now: datetime, *,
             person: str | None = None) -> tuple[Occurrence, str] | None:
    """The first booked 1:1 after the agenda lead time (whose section comes next), with
    the person's name; None when nothing is booked after it."""
    after = now + timedelta(hours=config.agenda.lead_hours)
    found = [(o, rel.name) for rel in analysis.relationships
             if person is None or rel.person == person
             for o in rel.occurrences if o.start > after and is_booked(o)]
    return min(found, key=lambda pair: pair[0].start) if found else None
