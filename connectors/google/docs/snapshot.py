"""Reading a Doc: its body as the Markdown text the agenda logic reads, and where
each character sits in the Doc (:class:`Snapshot`), checklists and ticks included. Pure."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


BODY_START = 1  # a body's first index: 0 is its section break
# What Docs strips from inserted text (tab, newline and vertical tab stay).
LIST_MARKER = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
BOX = re.compile(r"^\[[ \t]*[xX✓✔]?[ \t]*\]")  # a task's box, as the agenda's parser reads it
_UNSET_GLYPH = (None, "", "GLYPH_TYPE_UNSPECIFIED")
_HEADING_STYLE = re.compile(r"^HEADING_([1-6])$")
# ---------------------------------------------------------------- reading a Doc


@dataclass(frozen=True)
class Snapshot:
    """A Doc as read: its Markdown text and where each character of it sits.

    ``starts[k]`` is the Doc index of text character ``k`` and ``widths[k]`` the
    UTF-16 code units it covers there: 2 for a character outside the BMP, 0 for a
    prefix cadenced added (``- `` of a bullet), more when an image or other element
    without text is attached to it. ``starts[len(text)]`` is the body's end index.
    """

    document_id: str
    revision: str
    text: str
    starts: tuple[int, ...]
    widths: tuple[int, ...]
    pinned: frozenset[int]  # offsets of newlines Docs refuses to delete
    bulleted: frozenset[int]  # offsets of the lines whose paragraph is a bullet

    @property
    def empty(self) -> bool:
        return self.text.strip("\n") == ""


def utf16(text: str) -> int:
    return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


def _body(document: Mapping[str, Any]) -> list[Any]:
    body = document.get("body")
    if body is None:  # a Doc read with its tabs: the first tab's body
        tabs = document.get("tabs") or [{}]
        body = (tabs[0].get("documentTab") or {}).get("body")
    return list((body or {}).get("content") or [])


def _label(element: Mapping[str, Any]) -> str:
    """The text a paragraph element other than a text run shows, if any."""
    person = element.get("person")
    if person:
        props = person.get("personProperties") or {}
        return str(props.get("name") or props.get("email") or "")
    link = element.get("richLink")
    if link:
        props = link.get("richLinkProperties") or {}
        return str(props.get("title") or props.get("uri") or "")
    return ""


def _lists(document: Mapping[str, Any]) -> Mapping[str, Any]:
    lists = document.get("lists")
    if lists is None:  # a Doc read with its tabs: the first tab's lists
        tabs = document.get("tabs") or [{}]
        lists = (tabs[0].get("documentTab") or {}).get("lists")
    return lists or {}


def is_checklist(bullet: Mapping[str, Any], lists: Mapping[str, Any]) -> bool:
    """Whether ``bullet`` (a paragraph's) is an item of a Docs checklist.

    The reply names no kind of list. Each nesting level of a list in ``lists`` names
    the glyph its bullets show instead: a ``glyphSymbol`` (●, ○, ■ ...) when they are
    unordered, a ``glyphType`` (DECIMAL, ALPHA ...) when ordered. The levels of a
    checklist (``BULLET_CHECKBOX``) name neither, since the editor draws the boxes;
    a glyphType of GLYPH_TYPE_UNSPECIFIED is the same as none. A bullet whose list or
    level is not in ``lists`` is not taken for a checklist's.
    """
    found = lists.get(str(bullet.get("listId") or "")) or {}
    levels = (found.get("listProperties") or {}).get("nestingLevels") or []
    level = int(bullet.get("nestingLevel") or 0)
    if not 0 <= level < len(levels):
        return False
    glyph = levels[level] or {}
    return not glyph.get("glyphSymbol") and glyph.get("glyphType") in _UNSET_GLYPH


def is_ticked(paragraph: Mapping[str, Any]) -> bool:
    """Whether a checklist item reads as ticked: every element of it that shows text
    (its text runs, and chips) is struck through, and there is one.

    The API does not report a box's tick. Docs strikes the text of an item through
    when its box is ticked (what its checklists do unless the user turned it off), so
    the strikethrough is the tick cadenced reads; an item struck through only in part
    is open.
    """
    struck: list[bool] = []
    for part in paragraph.get("elements") or []:
        run = part.get("textRun")
        if run is not None:
            text, style = str(run.get("content") or ""), run.get("textStyle") or {}
        else:
            text = _label(part)
            chip = part.get("person") or part.get("richLink") or {}
            style = chip.get("textStyle") or {}
        if text.strip():
            struck.append(bool(style.get("strikethrough")))
    return bool(struck) and all(struck)


def _prefix(paragraph: Mapping[str, Any], text: str, lists: Mapping[str, Any]) -> str:
    """What cadenced reads before a paragraph's own text: a list marker for a bullet
    (with its box for a checklist item), hashes for a heading, when the text has none
    of its own and is not empty."""
    if not text.strip():
        return ""
    bullet = paragraph.get("bullet")
    if bullet is not None:
        if LIST_MARKER.match(text):
            return ""
        marker = "  " * max(0, int(bullet.get("nestingLevel") or 0)) + "- "
        if is_checklist(bullet, lists) and not BOX.match(text):
            marker += "[x] " if is_ticked(paragraph) else "[ ] "
        return marker
    style = (paragraph.get("paragraphStyle") or {}).get("namedStyleType") or ""
    heading = _HEADING_STYLE.match(style)
    if heading and not text.lstrip().startswith("#"):
        return "#" * int(heading.group(1)) + " "
    return ""


def extract(document: Mapping[str, Any]) -> Snapshot:
    """The Markdown text of a ``documents.get`` reply, with its position map."""
    chars: list[str] = []
    starts: list[int] = []
    widths: list[int] = []
    pinned: set[int] = set()
    bulleted: set[int] = set()
    end = BODY_START
    last_newline: int | None = None
    lists = _lists(document)
    for element in _body(document):
        paragraph = element.get("paragraph")
        if paragraph is None:  # a table, section break or table of contents
            if last_newline is not None:
                pinned.add(last_newline)
            end = max(end, int(element.get("endIndex") or end))
            continue
        para: list[list[Any]] = []  # [character, start, width]
        pending: int | None = None  # the start of elements without text, not yet attached
        for part in paragraph.get("elements") or []:
            start = int(part.get("startIndex") or end)
            stop = int(part.get("endIndex") or start)
            run = part.get("textRun")
            text = str(run.get("content") or "") if run is not None else _label(part)
            if not text:
                if para:
                    para[-1][2] += stop - start
                elif pending is None:
                    pending = start
                continue
            if run is None:  # a chip: its first character stands for all of it
                first = pending if pending is not None else start
                para.append([text[0], first, stop - first])
                para.extend([c, stop, 0] for c in text[1:])
            else:
                pos = start
                for c in text:
                    width = 2 if ord(c) > 0xFFFF else 1
                    if pending is not None:
                        para.append([c, pending, pos + width - pending])
                    else:
                        para.append([c, pos, width])
                    pos += width
            pending = None
            end = max(end, stop)
        if not para:
            continue
        own = "".join(p[0] for p in para)
        prefix = _prefix(paragraph, own, lists)
        line_start = len(chars)
        if paragraph.get("bullet") is not None:
            bulleted.add(line_start)
        for c in prefix:
            chars.append(c)
            starts.append(para[0][1])
            widths.append(0)
        for c, start, width in para:
            chars.append(c)
            starts.append(start)
            widths.append(width)
        if chars[-1] == "\n":
            last_newline = len(chars) - 1
        end = max(end, int(element.get("endIndex") or end))
    if last_newline is not None:
        pinned.add(last_newline)  # the body's final newline
    starts.append(end)
    return Snapshot(
        document_id=str(document.get("documentId") or ""),
        revision=str(document.get("revisionId") or ""),
        text="".join(chars), starts=tuple(starts), widths=tuple(widths),
        pinned=frozenset(pinned), bulleted=frozenset(bulleted))
