"""What of a meeting's section goes into its invite: the topics, the open action
items carried into it and the prompts, as plain lines. Pure.

Calendars that cadenced writes to but whose agenda lives on this machine (a local
store) get this block in the coming meeting's description, so the person across the
table sees the agenda too (read only: they answer by mail, or in the meeting)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from daemon.core.agenda.doc import _is_placeholder, _lines, parse

_SUB = re.compile(r"^ {0,3}#{3,6}[ \t]+(.*?)[ \t]*$")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])[ \t]+(.*\S)\s*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BOX = re.compile(r"^\[[ \txX]?\][ \t]*")
LINE_LIMIT = 300  # characters of one line in the invite
LINES_LIMIT = 30  # lines of one part


@dataclass(frozen=True)
class AgendaDigest:
    """The block's content. ``theme`` names the prompts' theme."""

    meeting_key: str
    topics: tuple[str, ...]
    carried: tuple[str, ...]
    prompts: tuple[str, ...]
    theme: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.topics or self.carried or self.prompts)

    def fingerprint(self) -> str:
        """Changes whenever what the block says changes."""
        text = "\x1f".join(("\x1e".join(self.topics), "\x1e".join(self.carried),
                            "\x1e".join(self.prompts), self.theme or ""))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _clean(line: str) -> str:
    text = " ".join(_CONTROL.sub(" ", line).split())
    return text if len(text) <= LINE_LIMIT else text[:LINE_LIMIT - 1].rstrip() + "…"


def digest(text: str, key: str) -> AgendaDigest | None:
    """The digest of the section of meeting ``key``, None when it has none."""
    section = parse(text).section(key)
    if section is None:
        return None
    parts: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in _lines(text):
        if not section.start <= line.start < section.end:
            continue
        head = _SUB.match(line.content)
        if head:
            current = parts.setdefault(head.group(1).lower().split("(")[0].strip(), [])
            continue
        found = _ITEM.match(line.content)
        if current is not None and found and not line.content[:1].isspace() \
                and not _is_placeholder(line.content):
            current.append(_clean(found.group(1)))
    return AgendaDigest(
        meeting_key=key,
        topics=tuple(parts.get("topics", ())[:LINES_LIMIT]),
        carried=tuple(_BOX.sub("", c) for c in parts.get("carried over", ())[:LINES_LIMIT]),
        prompts=tuple(parts.get("prompts", ())[:LINES_LIMIT]),
        theme=section.theme,
    )
