"""Whether a meeting's agenda still has nothing on it. Pure.

A section is empty when its "### Topics" part holds no list item and the "Next time"
block above the sections queues none either (queued topics move into the next
meeting's section when it is prepared): neither person has put anything on it yet.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from daemon.core.agenda.doc import parse

_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S")
_TOPICS = re.compile(r"^###\s+topics\b", re.IGNORECASE)


def is_empty(text: str, key: str, *, tz: tzinfo | None = None) -> bool | None:
    """True when meeting ``key``'s section has no topic from either person; None when
    the document has no section for it (not prepared yet, or removed)."""
    doc = parse(text, tz=tz)
    section = doc.section(key)
    if section is None:
        return None
    if doc.next_time is not None and doc.next_time.topics:
        return False
    inside = False
    for line in text[section.start:section.end].splitlines():
        if line.startswith("### "):
            inside = bool(_TOPICS.match(line))
            continue
        if inside and _ITEM.match(line):
            return False
    return True
