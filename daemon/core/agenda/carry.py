"""Which action items a new meeting section carries over, pure.

The document is the record; ``CarryState`` only remembers which items cadenced itself
wrote into which section's "Carried over" list. Rules, as implemented here:

* Sections considered: every section of the document dated before ``before`` (the
  target meeting's start; see ``doc.sections_before``), newest first — cadenced's own
  sections and sections people wrote by hand (dated by their heading; undated ones
  are ignored). A deleted section's items are gone with it; a skipped meeting's
  prepared section counts like any other. The Next-time block is not a section.
* An item is identified by ``ActionItem.key`` (its text, case and spacing folded).
  Its mentions are its task lines in those sections; within one section a ticked
  mention wins over an unticked one.
* Done: its newest mention is ticked. Open: its newest mention is unticked.
* Dropped: cadenced carried it into a section S (``carried_into[S]`` has its key), S
  is still there, S no longer mentions it (a human deleted or reworded the line), and
  no section newer than S mentions it: it is not carried again. A reworded line is a
  new item that starts its own history.
* ``first_seen``: the date of the oldest section mentioning it. ``carried``: 1 + the
  number of sections still there (among those considered) that cadenced carried it
  into. ``overdue``: its due date is before ``today``. Owner, text and due date come
  from its newest mention.
* Order: overdue first, then by ``first_seen``, then by where it first appears.

Items written into an older section after a newer one was prepared are still found
(the newest mention is what counts, wherever it is).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from daemon.core.agenda.doc import Document, Section, sections_before
from daemon.core.agenda.model import ActionItem, Carried, key_start


@dataclass(frozen=True)
class CarryState:
    """What cadenced remembers: the item keys it wrote into each section's Carried over."""

    carried_into: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def with_carried(self, meeting_key: str, carried: Iterable[Carried]) -> CarryState:
        """This state plus the items just written into ``meeting_key``'s section."""
        updated = dict(self.carried_into)
        updated[meeting_key] = tuple(c.item.key for c in carried)
        return CarryState(updated)

    def since(self, horizon: datetime) -> CarryState:
        """This state without the sections of meetings planned before ``horizon`` (the
        retention: :data:`daemon.core.history.KEEP` before now)."""
        return CarryState({key: items for key, items in self.carried_into.items()
                           if (start := key_start(key)) is None or start >= horizon})

    def to_json(self) -> dict[str, Any]:
        return {"carried_into": {k: list(v) for k, v in self.carried_into.items()}}

    @classmethod
    def from_json(cls, data: object) -> CarryState:
        """Tolerant: anything malformed reads as nothing remembered."""
        if not isinstance(data, Mapping):
            return cls()
        raw = data.get("carried_into")
        if not isinstance(raw, Mapping):
            return cls()
        return cls({
            str(key): tuple(str(item) for item in items)
            for key, items in raw.items()
            if isinstance(items, list | tuple)
        })


@dataclass
class _History:
    newest: ActionItem  # the newest mention (the section's ticked one wins)
    newest_index: int  # its section's index in the newest-first list
    oldest_day: date
    first_order: tuple[int, int]  # (oldest section's document position, line) to break ties


def _mentions(section: Section) -> dict[str, ActionItem]:
    found: dict[str, ActionItem] = {}
    for item in section.items:
        key = item.key
        if key not in found or (item.done and not found[key].done):
            found[key] = item
    return found


def open_items(doc: Document, before: datetime, state: CarryState, *,
               today: date) -> tuple[Carried, ...]:
    """The open action items to carry into the meeting starting at ``before``."""
    sections = sections_before(doc, before)  # newest first
    position = {id(s): i for i, s in enumerate(doc.sections)}
    mentions = [_mentions(s) for s in sections]
    history: dict[str, _History] = {}
    for index, (section, found) in enumerate(zip(sections, mentions, strict=True)):
        day = section.day
        if day is None:  # sections_before only returns dated sections
            continue
        for line, (key, item) in enumerate(found.items()):
            seen = history.get(key)
            order = (position[id(section)], line)
            if seen is None:
                history[key] = _History(item, index, day, order)
            elif day <= seen.oldest_day:
                seen.oldest_day = day
                seen.first_order = order
    carried_sections = [
        (index, set(state.carried_into.get(s.key, ()))) for index, s in enumerate(sections)
        if s.key is not None and s.key in state.carried_into
    ]
    result: list[tuple[bool, date, tuple[int, int], Carried]] = []
    for key, seen in history.items():
        if seen.newest.done:
            continue
        into = [index for index, keys in carried_sections if key in keys]
        # dropped: carried into S, S no longer has it, nothing newer than S has it
        if any(key not in mentions[index] and seen.newest_index >= index for index in into):
            continue
        item = seen.newest
        overdue = item.due is not None and item.due < today
        carried = Carried(item=ActionItem(False, item.text, item.owner, item.due),
                          first_seen=seen.oldest_day, carried=1 + len(into), overdue=overdue)
        result.append((not overdue, seen.oldest_day, seen.first_order, carried))
    result.sort(key=lambda entry: entry[:3])
    return tuple(entry[3] for entry in result)
