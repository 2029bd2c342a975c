"""Action items in the agenda's Markdown: reading a task line (owner, due date, done)
and writing one back, carried items with their age. Pure."""

from __future__ import annotations

import re
from datetime import date

from daemon.core.agenda.model import ActionItem, Carried

_TASK = re.compile(
    r"^\s*(?:>\s*)*(?:[-*+]|\d{1,9}[.)])[ \t]+\[[ \t]*([xX✓✔]?)[ \t]*\](?:[ \t]+(.*))?$"
)
# parse_item
_OWNER = re.compile(
    r"^\*{0,2}@?([^\W\d_][\w.'’-]*(?:[ \t]+[^\W\d_][\w.'’-]*)?)\*{0,2}:\*{0,2}[ \t]+(\S.*)$"
)
_NOT_OWNERS = frozenset({"todo", "note", "notes", "fyi", "re", "tbd", "wip", "idea", "question"})
_DUE = re.compile(
    r"[(\[]?[ \t]*\bdue(?:[ \t]*:|[ \t]+by)?[ \t]*(\d{4}-\d{2}-\d{2})(?!\d)[ \t]*[)\]]?",
    re.IGNORECASE,
)
_ANNOTATION = re.compile(r"\s+[—–-]{1,2}\s+(?:open|new)\b[^—]*?\bcarried\s+\d+x\b.*$")
_TRIM = " \t,;—–-"


# ---------------------------------------------------------------- action items


def _clean(text: str, *, left: bool = False) -> str:
    """``text`` without the spaces around it and dashes after it (and before, ``left``)."""
    while True:
        cleaned = text.strip().rstrip(_TRIM)
        if left:
            cleaned = cleaned.lstrip(_TRIM)
        if cleaned == text:
            return text
        text = cleaned


def parse_item(line: str) -> ActionItem | None:
    """The action item on a Markdown task line, or None when it is not one.

    Tolerant of how people type: any list bullet (``-``, ``*``, ``+``, ``1.``),
    indentation, ``[x]``/``[X]``/``[ ]``/``[]`` with odd spacing; an owner is a leading
    ``Name:`` of one or two words (``https:`` and ``TODO:`` are not owners); a due date
    is ISO (``due 2026-12-01``, ``(due: 2026-12-01)``, ``due by 2026-12-01``) and what
    follows it is a remark, left out of the text. Other date forms stay in the text.
    The annotation cadenced writes on carried items (`` — open 3 weeks, carried 2x``)
    is left out too.
    """
    found = _TASK.match(line.rstrip("\r\n"))
    if not found:
        return None
    done = bool(found.group(1))
    rest = (found.group(2) or "").strip()
    due: date | None = None
    for match in reversed(list(_DUE.finditer(rest))):  # the last one: where cadenced writes it
        try:
            due = date.fromisoformat(match.group(1))
        except ValueError:
            continue
        before = _clean(rest[: match.start()])
        rest = before or _clean(rest[match.end():], left=True)
        break
    rest = _clean(_ANNOTATION.sub("", rest))
    owner: str | None = None
    named = _OWNER.match(rest)
    if named and named.group(1).lower() not in _NOT_OWNERS:
        owner = named.group(1).strip()
        rest = _clean(named.group(2))
    if not rest.strip(_TRIM + "*_~"):
        return None
    return ActionItem(done=done, text=rest, owner=owner, due=due)


def render_item(item: ActionItem) -> str:
    """``- [ ] Owner: what (due 2026-12-01)``, the form ``parse_item`` reads back."""
    box = "[x]" if item.done else "[ ]"
    owner = f"{item.owner}: " if item.owner else ""
    due = f" (due {item.due.isoformat()})" if item.due else ""
    return f"- {box} {owner}{item.text}{due}"


def _age(days: int) -> str:
    if days <= 0:
        return "new"
    if days < 7:
        return "open 1 day" if days == 1 else f"open {days} days"
    if days < 61:
        return "open 1 week" if days < 14 else f"open {days // 7} weeks"
    months = days // 30
    return f"open {months} months"


def render_carried(c: Carried, *, today: date) -> str:
    """The note after a carried item: ``open 3 weeks, carried 2x, **overdue**``."""
    parts = [_age((today - c.first_seen).days), f"carried {c.carried}x"]
    if c.overdue:
        parts.append("**overdue**")
    return ", ".join(parts)
