"""The edits the agenda pages make: a topic added to the coming meeting, an action
item ticked or unticked, the notes of a section replaced. Pure: text in, text out;
every byte not named by the edit stays as it was (line endings included).

Each function raises :class:`EditError` when the document no longer holds what the
page showed (the item's line changed, the section is gone): the page then shows
the newer text instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from daemon.core.agenda.doc import PLACEHOLDER, Document, Section, _code_lines, _lines, parse
from daemon.core.agenda.edits import NEXT_MARKER
from daemon.core.agenda.items import parse_item
from daemon.core.agenda.model import ActionItem

TOPIC_LIMIT = 500  # characters of one topic
NOTES_LIMIT = 20_000  # characters of one section's notes
_BOX = re.compile(r"\[[ \t]*([xX✓✔]?)[ \t]*\]")
_SUB = re.compile(r"^ {0,3}(#{3,6})[ \t]+(.*?)[ \t]*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class EditError(ValueError):
    """The document does not hold what the edit was made against."""


@dataclass(frozen=True)
class TaskLine:
    """An action item's line: its index (0-based), text and parsed item."""

    index: int
    line: str
    item: ActionItem
    section: str | None  # the key of the cadenced section it is in, if any


def one_line(value: str, limit: int) -> str:
    """A topic as one line: control characters and line breaks become spaces."""
    text = " ".join(_CONTROL.sub(" ", value.replace("\r", " ").replace("\n", " ")).split())
    if not text:
        raise EditError("the topic is empty")
    if len(text) > limit:
        raise EditError(f"the topic is longer than {limit} characters")
    return text


def task_lines(text: str) -> list[TaskLine]:
    """Every action item of the document (outside code blocks), in order."""
    doc = parse(text)
    lines = _lines(text)
    code = _code_lines(lines)
    found = []
    for index, line in enumerate(lines):
        if index in code:
            continue
        item = parse_item(line.content)
        if item is not None:
            owner = next((s.key for s in doc.sections if s.start <= line.start < s.end), None)
            found.append(TaskLine(index, line.content, item, owner))
    return found


def set_done(text: str, index: int, line: str, done: bool) -> str:
    """Tick (``done``) or untick the item on line ``index``, which must still read
    ``line``; only the box changes."""
    lines = _lines(text)
    if not 0 <= index < len(lines) or lines[index].content != line \
            or parse_item(line) is None:
        raise EditError("this action item changed since the page was shown")
    box = _BOX.search(line)
    if box is None:  # parse_item matched, so there is a box
        raise EditError("this action item has no box to tick")
    new = line[:box.start()] + ("[x]" if done else "[ ]") + line[box.end():]
    at = lines[index]
    return text[:at.start] + new + text[at.end:]


def coming_section(doc: Document, now: datetime) -> Section | None:
    """The cadenced section of the next meeting (the first that has not begun)."""
    ahead = [s for s in doc.sections
             if s.key is not None and s.when is not None and s.when > now]
    return min(ahead, key=lambda s: s.when) if ahead else None  # type: ignore[arg-type,return-value]


def add_topic(text: str, topic: str, *, now: datetime, tz: tzinfo) -> str:
    """Add ``- topic`` to the Topics of the coming meeting's section; without one, to
    the Next-time block (it moves into the next section when that is added); without
    that block, a new one below the title."""
    topic = one_line(topic, TOPIC_LIMIT)
    doc = parse(text, tz=tz)
    nl = doc.newline
    section = coming_section(doc, now)
    if section is not None:
        at = _end_of_sub(text, section, "topics")
        if at is not None:
            return _insert_line(text, at, f"- {topic}", nl)
    if doc.next_time is not None:
        start, end = doc.next_time.start, doc.next_time.end
        at = doc.next_time.topics[-1].end if doc.next_time.topics else None
        if at is None:
            block = text[start:end]
            place = block.find(PLACEHOLDER)
            if place >= 0:
                line_end = block.find("\n", place)
                at = start + (len(block) if line_end < 0 else line_end + 1)
            else:
                marker = block.find(NEXT_MARKER)
                anchor = marker if marker >= 0 else 0
                line_end = block.find("\n", anchor)
                at = start + (len(block) if line_end < 0 else line_end + 1)
        return _insert_line(text, at, f"- {topic}", nl)
    at = doc.title_end if doc.title_end is not None else 0
    block = nl.join(("## Next time", NEXT_MARKER, f"- {topic}", "", ""))
    head = text[:at]
    if head and not head.endswith("\n"):
        head += nl
    if head and not head.endswith(("\n\n", "\n\r\n")):
        head += nl
    return head + block + text[at:]


def notes_of(text: str, key: str) -> str | None:
    """The notes of the section ``key`` (None when it has no Notes part)."""
    section = parse(text).section(key)
    if section is None:
        return None
    span = _sub_span(text, section, "notes")
    if span is None:
        return None
    return text[span[0]:span[1]].strip("\r\n")


def set_notes(text: str, key: str, notes: str) -> str:
    """Replace the notes of the section ``key`` (what is under its ``### Notes``);
    a section without a Notes part gets one at its end."""
    if len(notes) > NOTES_LIMIT:
        raise EditError(f"the notes are longer than {NOTES_LIMIT} characters")
    doc = parse(text)
    section = doc.section(key)
    if section is None:
        raise EditError("this meeting's section is no longer in the document")
    nl = doc.newline
    body = _CONTROL.sub("", notes.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    "))
    body = body.strip("\n")
    lines = [*(body.split("\n") if body else []), ""]
    span = _sub_span(text, section, "notes")
    if span is None:
        head = text[:section.end]
        if not head.endswith("\n"):
            head += nl
        return head + nl.join(["### Notes", *lines, ""]) + text[section.end:]
    start, end = span
    return text[:start] + nl.join(["", *lines, ""]) + text[end:]


# ---------------------------------------------------------------- helpers


def _subs(text: str, section: Section) -> list[tuple[str, int, int]]:
    """The ``###`` parts of a section: (folded title, heading line end, part end)."""
    lines = [x for x in _lines(text) if section.start <= x.start < section.end]
    heads = []
    for line in lines:
        found = _SUB.match(line.content)
        if found:
            heads.append((found.group(2).lower().split("(")[0].strip(), line))
    parts = []
    for i, (title, line) in enumerate(heads):
        end = heads[i + 1][1].start if i + 1 < len(heads) else section.end
        parts.append((title, line.end, end))
    return parts


def _sub_span(text: str, section: Section, title: str) -> tuple[int, int] | None:
    """From the end of the ``### title`` line to the start of the next heading."""
    for name, start, end in _subs(text, section):
        if name == title:
            return start, end
    return None


def _end_of_sub(text: str, section: Section, title: str) -> int | None:
    """Where a new last list line of the ``### title`` part goes: after its last
    non-blank line."""
    span = _sub_span(text, section, title)
    if span is None:
        return None
    start, end = span
    body = text[start:end]
    stripped = body.rstrip("\r\n\t ")
    return start + len(stripped)


def _insert_line(text: str, at: int, line: str, nl: str) -> str:
    """``line`` as a line of its own at offset ``at`` (the end of a line or the start
    of one)."""
    if at > 0 and text[at - 1] != "\n":
        return text[:at] + nl + line + text[at:]
    return text[:at] + line + nl + text[at:]
