"""The 1:1 document: one living Markdown file per relationship, newest meeting on top.

Pure functions, text in and text out. Layout::

    # 1:1 — Owner & Person

    ## Next time
    <!-- cadenced:next -->
    - (either of you: add topics here; they move into the next meeting's agenda)

    <!-- Action items look like "- [ ] Owner: what (due 2026-12-01)"; tick [x] when done. ... -->

    ## Mon 23 Nov 2026 · 14:00–14:45 (45 min)
    <!-- cadenced:meeting key=<meeting key> -->
    _Last held 7 days ago_

    ### Carried over
    - [ ] Jonas: draft the on-call proposal (due 2026-11-20) — open 3 weeks, carried 2x, **overdue**

    ### Topics
    - a topic moved from Next time

    ### Prompts (theme: clarity)
    - a question

    ### Notes

    ### Takeaways

    ### Action items

People edit the document freely between syncs. cadenced only ever

* inserts a new meeting section right below the Next-time block (``add_section``),
  moving the queued topics (the list items of that block, except the placeholder)
  into its Topics list; every other byte stays as it was;
* rewrites the date and time inside a section's heading when its meeting moves, and
  adds or removes a trailing `` — cancelled`` (``update_section``).

A section belongs to cadenced while its hidden ``<!-- cadenced:meeting key=… -->``
line is there; the heading text around the date is the humans' to change. A level-2
heading (``##``) starts a section; a second marker inside one section starts another
(a heading deleted by a human). Lines inside fenced code blocks are never structure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from urllib.parse import unquote

from daemon.core.agenda.headings import heading_when, key_start
from daemon.core.agenda.items import parse_item
from daemon.core.agenda.model import ActionItem

PLACEHOLDER = "- (either of you: add topics here; they move into the next meeting's agenda)"
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_MEETING_MARKER = re.compile(r"^\s*<!--\s*cadenced:meeting\s+key=(\S+)\s*-->\s*$")
_NEXT_MARKER = re.compile(r"^\s*<!--\s*cadenced:next\s*-->\s*$")
_LIST_ITEM = re.compile(r"^(\s*)(?:[-*+]|\d{1,9}[.)])(?:[ \t]+(.*))?$")
_PROMPTS = re.compile(r"^prompts\s*\(\s*theme:\s*([A-Za-z]+)\s*\)", re.IGNORECASE)
_SUBHEADING = re.compile(r"^ {0,3}#{3,6}[ \t]")


# ---------------------------------------------------------------- the parsed form


@dataclass(frozen=True)
class Topic:
    """A list item queued under Next time, with its continuation lines."""

    start: int  # offsets into the text: the first line's start ...
    end: int  # ... and the end of its last line (end of line included)
    text: str  # the lines as written


@dataclass(frozen=True)
class NextTime:
    """The block where either person queues topics for the next meeting."""

    start: int  # its heading's start (or the marker's, when the heading is gone)
    end: int  # where the next level-1/2 heading starts, or the end of the text
    topics: tuple[Topic, ...]  # the list items, the placeholder excluded


@dataclass(frozen=True)
class Section:
    """A level-2 part of the document below the Next-time block."""

    key: str | None  # the meeting key when the cadenced marker is there, else None
    heading: str | None  # the heading's text (after the hashes), None when it has none
    heading_start: int | None  # offsets of the heading line, end of line excluded
    heading_end: int | None
    start: int  # offsets of the whole section
    end: int
    when: datetime | None  # when the meeting was (see ``parse``); None: undated
    items: tuple[ActionItem, ...]  # every task line in it, in document order
    theme: str | None = None  # from "### Prompts (theme: …)"
    prompts: tuple[str, ...] = ()  # the list items under that heading

    @property
    def day(self) -> date | None:
        """The meeting's date, in the zone its heading is written in."""
        return self.when.date() if self.when is not None else None


@dataclass(frozen=True)
class Document:
    """A parsed 1:1 document. Offsets index into ``text``."""

    text: str
    newline: str  # "\r\n" or "\n": what new lines are written with
    title_end: int | None  # end of the part that starts with the "# " title
    next_time: NextTime | None
    sections: tuple[Section, ...]  # in document order (newest first when kept tidy)

    def section(self, key: str) -> Section | None:
        """The cadenced section for meeting ``key``, if its marker is still there."""
        for section in self.sections:
            if section.key == key:
                return section
        return None


@dataclass(frozen=True)
class _Line:
    start: int
    end: int  # end of content (line ending excluded)
    stop: int  # end including the line ending
    content: str


def _lines(text: str) -> list[_Line]:
    lines: list[_Line] = []
    pos = 0
    size = len(text)
    while pos < size:
        nl = text.find("\n", pos)
        stop = size if nl < 0 else nl + 1
        end = stop if nl < 0 else nl
        if end > pos and text[end - 1] == "\r" and nl >= 0:
            end -= 1
        lines.append(_Line(pos, end, stop, text[pos:end]))
        pos = stop
    return lines


def _newline(text: str) -> str:
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf >= text.count("\n") - crlf else "\n"


def _code_lines(lines: Sequence[_Line]) -> set[int]:
    """The lines of fenced code blocks, fences included. A fence never closed is text:
    one stray ``` must not hide the rest of the document from cadenced."""
    code: set[int] = set()
    opened: tuple[int, str] | None = None
    for index, line in enumerate(lines):
        found = _FENCE.match(line.content)
        if not found:
            continue
        fence = found.group(1)
        if opened is None:
            opened = (index, fence)
        elif fence[0] == opened[1][0] and len(fence) >= len(opened[1]) \
                and not line.content[found.end():].strip():
            code.update(range(opened[0], index + 1))
            opened = None
    return code


def _structural(lines: Sequence[_Line]) -> Iterator[tuple[int, _Line]]:
    """Lines outside fenced code blocks, with their index."""
    code = _code_lines(lines)
    for index, line in enumerate(lines):
        if index not in code:
            yield index, line



# ---------------------------------------------------------------- parse


@dataclass
class _Part:
    kind: str  # "top" | "heading" | "marker"
    level: int
    start_line: int
    heading: str | None = None
    key: str | None = None
    next_marker: bool = False
    next_line: int = 0


def parse(text: str, *, tz: tzinfo | None = None) -> Document:
    """Read a 1:1 document, however people have edited it.

    A section's ``when``: the date and time cadenced wrote in its heading (kept up to
    date on moves) — naive, or in ``tz`` when given; failing that, any date in the
    heading (midnight); failing that, for a cadenced section, the planned start in
    its meeting key (UTC, or ``tz``); else None (an undated section).
    """
    lines = _lines(text)
    parts: list[_Part] = [_Part("top", 0, 0)]
    for index, line in _structural(lines):
        heading = _HEADING.match(line.content)
        if heading and len(heading.group(1)) <= 2:
            parts.append(_Part("heading", len(heading.group(1)), index,
                               heading=heading.group(2) or ""))
            continue
        marker = _MEETING_MARKER.match(line.content)
        if marker:
            current = parts[-1]
            if current.key is not None or current.kind == "top" or current.level == 1 \
                    or current.next_marker:
                parts.append(_Part("marker", 2, index, key=unquote(marker.group(1))))
            else:
                current.key = unquote(marker.group(1))
        elif _NEXT_MARKER.match(line.content) and parts[-1].key is None \
                and not parts[-1].next_marker:
            parts[-1].next_marker = True
            parts[-1].next_line = index

    def bounds(i: int) -> tuple[int, int]:
        first = parts[i].start_line
        last = parts[i + 1].start_line if i + 1 < len(parts) else len(lines)
        return first, last

    def offset(line_index: int) -> int:
        return lines[line_index].start if line_index < len(lines) else len(text)

    title_end: int | None = None
    if parts[0].start_line < len(lines) and len(parts) > 1 and parts[1].start_line == 0:
        parts.pop(0)  # the document starts with a heading: no untitled top part

    next_index: int | None = None
    for i, part in enumerate(parts):
        if part.next_marker:
            next_index = i
            break
    if next_index is None:
        for i, part in enumerate(parts):
            if part.kind == "heading" and part.level == 2 and part.key is None and \
                    " ".join((part.heading or "").lower().split()).strip(" :#") == "next time":
                next_index = i
                break

    next_time: NextTime | None = None
    sections: list[Section] = []
    for i, part in enumerate(parts):
        first, last = bounds(i)
        if i == next_index:
            # topics: below the heading; below the marker when the block has no "##" heading
            skip = first if part.kind == "heading" and part.level == 2 else part.next_line
            next_time = NextTime(offset(first), offset(last), _topics(lines, first, skip, last))
            continue
        if part.kind == "heading" and part.level == 1 and title_end is None and not sections \
                and next_time is None:
            title_end = offset(last)
            continue
        if part.kind == "top" or part.level == 1:
            continue
        sections.append(_section(text, lines, part, first, last, tz))
    return Document(text=text, newline=_newline(text), title_end=title_end,
                    next_time=next_time, sections=tuple(sections))


def _is_placeholder(content: str) -> bool:
    folded = " ".join(content.lower().split())
    if folded == " ".join(PLACEHOLDER.lower().split()):
        return True
    found = _LIST_ITEM.match(content)
    body = (found.group(2) or "").strip() if found else ""
    return body.startswith("(") and body.endswith(")") and "add topics" in body.lower()


def _topics(lines: Sequence[_Line], first: int, skip: int, last: int) -> tuple[Topic, ...]:
    topics: list[Topic] = []
    outside_code = {first + index for index, _ in _structural(lines[first:last])}
    i = skip + 1  # below the heading (or the marker)
    while i < last:
        line = lines[i]
        found = _LIST_ITEM.match(line.content) if i in outside_code else None
        if not found or found.group(1) or not (found.group(2) or "").strip():
            i += 1
            continue
        j = i + 1
        while j < last and lines[j].content.strip() and lines[j].content[:1] in (" ", "\t"):
            j += 1
        if not _is_placeholder(line.content):
            topics.append(Topic(line.start, lines[j - 1].stop,
                                "".join(x.content + "\n" for x in lines[i:j])))
        i = j
    return tuple(topics)


def _section(text: str, lines: Sequence[_Line], part: _Part, first: int, last: int,
             tz: tzinfo | None) -> Section:
    heading_start = heading_end = None
    if part.kind == "heading":
        heading_start, heading_end = lines[first].start, lines[first].end
    when: datetime | None = heading_when(part.heading) if part.heading is not None else None
    if when is not None and tz is not None:
        when = when.replace(tzinfo=tz)
    if when is None and part.key is not None:
        when = key_start(part.key)
        if when is not None and tz is not None:
            when = when.astimezone(tz)
    items: list[ActionItem] = []
    theme: str | None = None
    prompts: list[str] = []
    in_prompts = False
    for index, line in _structural(lines[first:last]):
        if index == 0:
            continue
        if _SUBHEADING.match(line.content):
            found = _PROMPTS.match(line.content.lstrip(" #"))
            in_prompts = found is not None
            if found:
                theme = found.group(1).lower()
            continue
        item = parse_item(line.content)
        if item is not None:
            items.append(item)
        elif in_prompts:
            listed = _LIST_ITEM.match(line.content)
            if listed and (listed.group(2) or "").strip():
                prompts.append(listed.group(2).strip())
    start = lines[first].start if first < len(lines) else len(text)
    end = lines[last - 1].stop if last > first else start
    return Section(key=part.key, heading=part.heading, heading_start=heading_start,
                   heading_end=heading_end, start=start, end=end, when=when,
                   items=tuple(items), theme=theme, prompts=tuple(prompts))


def _as_aware(moment: datetime, zone: tzinfo | None) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone or UTC)


def sections_before(doc: Document, when: datetime) -> tuple[Section, ...]:
    """The dated sections of meetings before ``when``, newest first.

    Naive section times (``parse`` without ``tz``) are read in ``when``'s zone.
    Equal times: the one higher in the document is taken as newer.
    """
    limit = _as_aware(when, UTC)
    found: list[tuple[datetime, int, Section]] = []
    for index, section in enumerate(doc.sections):
        if section.when is None:
            continue
        moment = _as_aware(section.when, limit.tzinfo)
        if moment < limit:
            found.append((moment, -index, section))
    found.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    return tuple(section for _, _, section in found)
