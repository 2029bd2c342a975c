"""The 1:1 documents as Google Docs: an :class:`~daemon.state.agendas.AgendaStore`.

The contract of :class:`GoogleDocsAgendaStore`:

* **One Doc per person**, created by cadenced in the owner's Drive. cadenced asks
  only for the ``drive.file`` scope, which sees nothing but the files cadenced
  created; it finds a person's Doc again by its ``appProperties``
  (``cadencedPerson`` = the person's address, lowercased). Several found (two
  machines racing): the oldest is used, with a warning. The Doc is shared with the
  person as a writer, without a notification e-mail unless ``notify``; a share that
  fails is logged and tried again at the next write (``cadencedShared`` records it).
* **read** gives the Doc as Markdown text and its ``revisionId`` as the version. The
  text is the body's paragraphs, run by run. A paragraph Docs shows as a bullet but
  whose text has no list marker of its own (``- topic`` typed in Docs becomes one)
  reads as ``- text``, nested ones indented by two spaces per level; a paragraph in
  a heading style (Heading 1-6) without a ``#`` of its own reads as ``## text``.
  These prefixes are not in the Doc, so they take no room there. Person chips and
  smart links read as their name or title; images, tables, headers, footers and
  footnotes are not read. A soft line break (Shift+Enter) stays a ``\\v`` inside its
  line. An empty Doc reads as no document (None).
* **Checklists.** An action item is a Markdown task: ``[ ]`` or ``[x]`` at the start
  of a list item. In a Doc that is ``[ ]``/``[x]`` typed in a bulleted list or after a
  typed ``- ``, or an item of one of Docs' own checklists (the checkbox bullets of
  the toolbar, which :func:`is_checklist` tells from other lists by their nesting
  levels). A checklist item reads as ``- [ ] text``, or as ``- [x] text`` when all of
  its text is struck through (:func:`is_ticked`): the API does not say whether a box
  is ticked, but Docs strikes a ticked item through. An item struck through only in
  part is open; one with a typed box of its own, or a list marker, reads as typed.
* **write** never re-uploads the document. It diffs the text it read against the new
  text line by line and sends one ``documents.batchUpdate``: ``deleteContentRange`` for
  the lines that went, ``insertText`` for the lines that came, in descending index
  order, guarded by ``writeControl.requiredRevisionId``. A Doc changed in between is
  refused by Google and raises :class:`~daemon.state.agendas.Conflict`, so
  :func:`~daemon.state.agendas.with_retry` reads it again and re-applies its change.
  Lines cadenced did not change are never touched, whoever wrote them. The lines it
  inserts get plain paragraph and text styles (not those of their neighbours),
  ``#``-lines the matching heading style, and its hidden ``<!-- ... -->`` lines small
  grey text. An open item it writes at a line's start (``- [ ] what``: the items it
  carries over) goes in as ``what`` in a checklist (``createParagraphBullets`` with
  ``BULLET_CHECKBOX``), which reads back as the same line; the person ticks its box.
  ``expected=None`` creates the Doc (or fills an empty one), and raises
  :class:`Conflict` when the person's Doc has text already.
* Errors: :class:`~daemon.core.errors.NeedsSignIn` and :class:`~daemon.core.errors.GoogleApiError`
  leave as they are; a Doc that disappeared while being written is an
  :class:`~daemon.state.agendas.AgendaStoreError`. :meth:`url` and :meth:`document_id`
  never raise: they give None when they cannot tell.

Docs indexes a body in UTF-16 code units from 1. :func:`extract` keeps, with the
text, where each of its characters sits in the Doc (:class:`Snapshot`);
:func:`plan_requests` turns a new text into the requests. Both are pure.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.base import AgendaStoreError, Conflict, InvalidPerson, Revision, plain_address
from connectors.google.api import execute
from connectors.google.errors import GoogleApiError
from daemon.core.errors import NeedsSignIn

log = logging.getLogger(__name__)

__all__ = [
    "DOC_MIME",
    "GoogleDocsAgendaStore",
    "Snapshot",
    "extract",
    "is_checklist",
    "is_ticked",
    "normalize",
    "plan_requests",
]

DOC_MIME = "application/vnd.google-apps.document"
PERSON_KEY = "cadencedPerson"
VERSION_KEY = "cadencedVersion"
SHARED_KEY = "cadencedShared"
FORMAT_VERSION = "1"
APP_PROPERTY_BYTES = 124  # Drive's limit on a key and its value together
EDIT_URL = "https://docs.google.com/document/d/{}/edit"
MAX_PAGES = 10  # of files.list; more than a few Docs for one person is a mistake
BODY_START = 1  # a body's first index: 0 is its section break
RUN_COST = 3  # what a place changed costs, on top of a line each (see _align)
MAX_ALIGN_CELLS = 250_000  # larger differences: difflib's (greedy) matcher

# What Docs strips from inserted text (tab, newline and vertical tab stay).
_STRIPPED = re.compile("[\x00-\x08\x0c-\x1f\ue000-\uf8ff]")
_LIST_MARKER = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_BOX = re.compile(r"^\[[ \t]*[xX✓✔]?[ \t]*\]")  # a task's box, as the agenda's parser reads it
_OPEN_ITEM_LINE = re.compile(r"^- \[ \] (?=\S)")  # what cadenced writes as a checklist item
_UNSET_GLYPH = (None, "", "GLYPH_TYPE_UNSPECIFIED")
_HEADING_LINE = re.compile(r"^(#{1,6})[ \t]")
_COMMENT_LINE = re.compile(r"^[ \t]*<!--.*-->[ \t]*$")
_HEADING_STYLE = re.compile(r"^HEADING_([1-6])$")
_TEXT_STYLE_FIELDS = ("bold,italic,underline,strikethrough,smallCaps,baselineOffset,"
                      "backgroundColor,foregroundColor,fontSize,weightedFontFamily,link")
_GREY = {"color": {"rgbColor": {"red": 0.6, "green": 0.6, "blue": 0.6}}}


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


def _utf16(text: str) -> int:
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
        if _LIST_MARKER.match(text):
            return ""
        marker = "  " * max(0, int(bullet.get("nestingLevel") or 0)) + "- "
        if is_checklist(bullet, lists) and not _BOX.match(text):
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


# ---------------------------------------------------------------- writing a Doc


def normalize(text: str) -> str:
    """``text`` as a Doc can hold it: ``\\n`` line ends, without the characters Docs
    strips from inserted text, ending with a newline."""
    text = _STRIPPED.sub("", text.replace("\r\n", "\n"))
    return text if text.endswith("\n") else text + "\n"


def _lines(text: str) -> list[str]:
    """``text`` cut after each ``\\n`` (not at the other breaks ``splitlines`` knows)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _align(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    """Opcodes (as difflib's, all "replace") turning lines ``a`` into ``b``, changing
    few lines in few places: a changed line costs 1, each run of them :data:`RUN_COST` more.

    Plain LCS diffs (difflib too) cannot tell which of two lines moved: for a topic
    moved from Next time into a new section above the older ones, "keep the topic,
    re-create the lines around it" changes as few lines as "delete the topic, insert
    the section". Charging every run of inserted or deleted lines (an affine gap
    cost, Gotoh's alignment) picks the second: one block inserted, one line deleted.
    Quadratic, so for large differences difflib's matcher does it instead.
    """
    n, m = len(a), len(b)
    if n * m > MAX_ALIGN_CELLS:
        matcher = difflib.SequenceMatcher(None, list(a), list(b), autojunk=False)
        return [op for op in matcher.get_opcodes() if op[0] != "equal"]
    inf = float("inf")
    opened = RUN_COST + 1
    # best cost of a[:i] -> b[:j] ending with a kept line (same), a deleted one, an inserted one
    same = [[inf] * (m + 1) for _ in range(n + 1)]
    gone = [[inf] * (m + 1) for _ in range(n + 1)]
    came = [[inf] * (m + 1) for _ in range(n + 1)]
    same[0][0] = 0
    for i in range(n + 1):
        row_same, row_gone, row_came = same[i], gone[i], came[i]
        for j in range(m + 1):
            if i and j and a[i - 1] == b[j - 1]:
                row_same[j] = min(same[i - 1][j - 1], gone[i - 1][j - 1], came[i - 1][j - 1])
            if i:
                row_gone[j] = min(same[i - 1][j] + opened, gone[i - 1][j] + 1,
                                  came[i - 1][j] + opened)
            if j:
                row_came[j] = min(row_same[j - 1] + opened, row_came[j - 1] + 1,
                                  row_gone[j - 1] + opened)
    steps: list[str] = []
    i, j = n, m
    tables = {"same": same, "gone": gone, "came": came}
    state = min(tables, key=lambda s: (tables[s][n][m], s != "same"))
    transitions = {  # the cost of reaching each state from each state before it
        "same": {"same": 0, "gone": 0, "came": 0},
        "gone": {"same": opened, "gone": 1, "came": opened},
        "came": {"same": opened, "gone": opened, "came": 1},
    }
    while i or j:
        steps.append(state)
        value = tables[state][i][j]
        i, j = (i - 1, j - 1) if state == "same" else (i - 1, j) if state == "gone" else (i, j - 1)
        if not (i or j):
            break
        costs = transitions[state]
        # the state before: one that gives this cost (keep the run going when it can)
        state = min((s for s in tables if tables[s][i][j] + costs[s] == value),
                    key=lambda s, now=state: s != now)
    steps.reverse()
    opcodes: list[tuple[str, int, int, int, int]] = []
    i = j = 0
    for step in steps:
        if step == "same":
            i, j = i + 1, j + 1
            continue
        if not opcodes or opcodes[-1][2] != i or opcodes[-1][4] != j:
            opcodes.append(("replace", i, i, j, j))
        tag, i1, _, j1, _ = opcodes[-1]
        i, j = i + (step == "gone"), j + (step == "came")
        opcodes[-1] = (tag, i1, i, j1, j)
    return opcodes


def _edits(old: str, new: str) -> list[tuple[int, int, str]]:
    """(start, end, replacement) in ``old``, whole lines, ascending, not overlapping."""
    a, b = _lines(old), _lines(new)
    head = 0
    while head < len(a) and head < len(b) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < len(a) - head and tail < len(b) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    a_mid, b_mid = a[head:len(a) - tail], b[head:len(b) - tail]
    offsets = [0]
    for line in a:
        offsets.append(offsets[-1] + len(line))
    return [(offsets[head + i1], offsets[head + i2], "".join(b_mid[j1:j2]))
            for _, i1, i2, j1, j2 in _align(a_mid, b_mid)]


def _runs(snap: Snapshot, lo: int, hi: int) -> list[tuple[int, int]]:
    """The Doc ranges text ``[lo, hi)`` covers, contiguous ones merged."""
    runs: list[tuple[int, int]] = []
    for k in range(lo, hi):
        width = snap.widths[k]
        if not width:
            continue
        start = snap.starts[k]
        if runs and runs[-1][1] == start:
            runs[-1] = (runs[-1][0], start + width)
        else:
            runs.append((start, start + width))
    return runs


def _range(start: int, end: int) -> dict[str, int]:
    return {"startIndex": start, "endIndex": end}


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _in_doc(chunk: str) -> tuple[str, tuple[bool, ...]]:
    """``chunk`` as it goes into the Doc, and which of its lines are checklist items.

    An open action item written from the line's start with text after its box
    (``- [ ] what``, what cadenced writes for a carried item) goes in as ``what``, to
    be made a checklist item, whose box reads back as the ``- [ ] `` (see ``_prefix``).
    Text that would read back otherwise (a list marker or a box of its own) stays as
    written; so do ticked items, since the API cannot tick a box.
    """
    lines: list[str] = []
    boxes: list[bool] = []
    for line in _lines(chunk):
        found = _OPEN_ITEM_LINE.match(line)
        rest = line[found.end():] if found else ""
        box = bool(rest.strip()) and not _LIST_MARKER.match(rest) and not _BOX.match(rest)
        lines.append(rest if box else line)
        boxes.append(box)
    return "".join(lines), tuple(boxes)


def _style_inserted(at: int, chunk: str, boxes: Sequence[bool], *, bulleted: bool,
                    style: bool) -> list[dict[str, Any]]:
    """Requests that make the lines of ``chunk`` (as ``_in_doc`` gives it), inserted at
    ``at``, plain Markdown paragraphs, and checklist items where ``boxes`` says: Docs
    gives new paragraphs the style (and bullet) of the one they were inserted into,
    which would read back as different text."""
    whole = _range(at, at + _utf16(chunk))
    requests: list[dict[str, Any]] = []
    if bulleted:
        requests.append({"deleteParagraphBullets": {"range": whole}})
    if style:
        requests.append({"updateParagraphStyle": {
            "range": whole, "paragraphStyle": {"namedStyleType": "NORMAL_TEXT"},
            "fields": "namedStyleType"}})
        if bulleted:  # Docs keeps a removed bullet's indentation
            requests.append({"updateParagraphStyle": {
                "range": whole, "paragraphStyle": {}, "fields": "indentStart,indentFirstLine"}})
        requests.append({"updateTextStyle": {
            "range": whole, "textStyle": {}, "fields": _TEXT_STYLE_FIELDS}})
    elif any(boxes):  # struck-through text around them would read as ticked
        requests.append({"updateTextStyle": {
            "range": whole, "textStyle": {}, "fields": "strikethrough"}})
    pos = at
    run: tuple[int, int] | None = None  # the checklist items in a row so far
    for line, box in zip(_lines(chunk), boxes, strict=True):
        width = _utf16(line)
        content = line.rstrip("\n")
        if box:
            run = (run[0] if run else pos, pos + max(1, width - 1))
            pos += width
            continue
        if run:
            requests.append(_checklist(run))
            run = None
        heading = _HEADING_LINE.match(content) if style else None
        if heading:
            requests.append({"updateParagraphStyle": {
                "range": _range(pos, pos + max(1, width - 1)),
                "paragraphStyle": {"namedStyleType": f"HEADING_{len(heading.group(1))}"},
                "fields": "namedStyleType"}})
        elif style and _COMMENT_LINE.match(content):
            requests.append({"updateTextStyle": {
                "range": _range(pos, pos + _utf16(content)),
                "textStyle": {"fontSize": {"magnitude": 8, "unit": "PT"},
                              "foregroundColor": _GREY},
                "fields": "fontSize,foregroundColor"}})
        pos += width
    if run:
        requests.append(_checklist(run))
    return requests


def _checklist(run: tuple[int, int]) -> dict[str, Any]:
    """Make the paragraphs of ``run`` a checklist's items (they have no leading tab,
    which Docs would take for a nesting level and remove)."""
    return {"createParagraphBullets": {"range": _range(*run), "bulletPreset": "BULLET_CHECKBOX"}}


def _edit_requests(snap: Snapshot, start: int, end: int, chunk: str, *, style: bool,
                   boxed: set[int]) -> list[dict[str, Any]]:
    """Replace text ``[start, end)`` (whole lines) by ``chunk`` (whole lines).

    ``boxed``: the offsets where an edit after this one (planned, and applied, before
    it) starts with a checklist item; a line inserted right before one would join it.
    This edit's start is added when its first line is one."""
    text, size = snap.text, len(snap.text)
    requests: list[dict[str, Any]] = []
    written, boxes = _in_doc(chunk)

    def delete(lo: int, hi: int) -> int:
        runs = _runs(snap, lo, hi)
        for run_start, run_end in reversed(runs):
            requests.append({"deleteContentRange": {"range": _range(run_start, run_end)}})
        return sum(run_end - run_start for run_start, run_end in runs)

    if end > start and end - 1 in snap.pinned:
        # The last line's newline must stay (the body's last one, or one before a
        # table): keep it, and let the replacement's last newline be it.
        if chunk:
            deleted = delete(start, end - 1)
            at = snap.starts[end - 1] - deleted
            insert, region = written[:-1], at
        elif start:
            # Only lines go: deleting the newline before them instead would merge the
            # line before into the last paragraph, taking its style; write it anew.
            before = _line_start(text, start - 1)
            return _edit_requests(snap, before, end, text[before:start], style=style,
                                  boxed=boxed)
        else:
            delete(0, end - 1)
            return requests
        source = _line_start(text, end - 1)
    elif start == end == size:
        # After the last line: before the final newline, as a line break and the text.
        at = snap.starts[size - 1]
        insert, region = "\n" + written[:-1], at + 1
        source = _line_start(text, size - 1)
    else:
        deleted = delete(start, end) if end > start else 0
        at = snap.starts[end] - deleted
        insert, region = written, at
        source = end
    if insert:
        requests.append({"insertText": {"location": {"index": at}, "text": insert}})
    if chunk:
        requests += _style_inserted(region, written, boxes, style=style,
                                    bulleted=source in snap.bulleted or source in boxed)
        if boxes[0]:
            boxed.add(start)
    return requests


def plan_requests(snap: Snapshot, new_text: str, *, style: bool = True) -> list[dict[str, Any]]:
    """The ``batchUpdate`` requests that turn the Doc read as ``snap`` into
    ``normalize(new_text)``, touching only the lines that differ, last first."""
    new = normalize(new_text)
    if new == snap.text:
        return []
    # An empty Doc (blank lines at most) gets the whole text in one insert.
    edits = [(0, len(snap.text), new)] if snap.empty else _edits(snap.text, new)
    requests: list[dict[str, Any]] = []
    boxed: set[int] = set()
    for start, end, chunk in reversed(edits):
        requests += _edit_requests(snap, start, end, chunk, style=style, boxed=boxed)
    return requests


# ---------------------------------------------------------------- the store


def _person(person: str) -> str:
    return plain_address(person)


def person_tag(email: str) -> str:
    """The ``cadencedPerson`` value of ``email``'s Doc (a hash when too long for Drive)."""
    if len(PERSON_KEY.encode()) + len(email.encode()) <= APP_PROPERTY_BYTES:
        return email
    return "sha256:" + hashlib.sha256(email.encode()).hexdigest()


def _quote(value: str) -> str:
    """``value`` as a string literal of a Drive query."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def query(email: str) -> str:
    """The Drive query that finds ``email``'s Doc."""
    return (f"appProperties has {{ key={_quote(PERSON_KEY)} and value={_quote(person_tag(email))}"
            f" }} and mimeType = {_quote(DOC_MIME)} and trashed = false")


def _title(text: str, owner_name: str, email: str) -> str:
    first = text.split("\n", 1)[0].strip()
    if first.startswith("# ") and first[2:].strip():
        return first[2:].strip()
    return f"1:1 — {owner_name.strip() or 'me'} & {email}"


@dataclass
class _File:
    id: str
    shared: bool


class GoogleDocsAgendaStore:
    """Agendas as Google Docs (see the module's docstring).

    ``services`` returns the (Drive v3, Docs v1) clients, built from fresh
    credentials; it is called for every operation, so it should cache them.
    ``source`` names the Google source whose sign-in is used (in messages).
    """

    def __init__(self, services: Callable[[], tuple[Any, Any]], *, source: str,
                 owner_name: str, share: bool = True, notify: bool = False) -> None:
        self.services = services
        self.source = source
        self.owner_name = owner_name
        self.share = share
        self.notify = notify
        self._lock = threading.RLock()  # one API call at a time: clients are not thread-safe
        self._files: dict[str, _File] = {}  # person -> their Doc
        self._snapshots: dict[str, Snapshot] = {}  # person -> the Doc as last read

    # --- AgendaStore ----------------------------------------------------------------

    def read(self, person: str) -> Revision | None:
        email = _person(person)
        with self._lock:
            drive, docs = self.services()
            found = self._find(drive, email)
            if found is None:
                return None
            try:
                document = self._get(docs, found.id, email)
            except GoogleApiError as exc:
                if exc.status != 404:
                    raise
                self._files.pop(email, None)  # deleted for good: look again
                found = self._find(drive, email)
                if found is None:
                    return None
                document = self._get(docs, found.id, email)
            snap = extract(document)
            self._snapshots[email] = snap
            if snap.empty:
                return None
            return Revision(snap.text, snap.revision)

    def write(self, person: str, text: str, *, expected: str | None) -> str:
        email = _person(person)
        with self._lock:
            drive, docs = self.services()
            if expected is None:
                return self._create_or_fill(drive, docs, email, text)
            found = self._find(drive, email)
            if found is None:
                raise self._gone(email)
            snap = self._snapshots.get(email)
            if snap is None or snap.document_id != found.id or snap.revision != expected:
                snap = extract(self._get(docs, found.id, email, during_write=True))
                if snap.revision != expected:
                    raise self._conflict(email, found.id)
            requests = plan_requests(snap, text)
            revision = self._batch(docs, found.id, email, requests, expected) \
                if requests else expected
            self._ensure_shared(drive, found, email)
            return revision

    def url(self, person: str) -> str | None:
        """Where the person opens their Doc; None when there is none (or it cannot
        be looked up now)."""
        doc_id = self.document_id(person)
        return EDIT_URL.format(doc_id) if doc_id else None

    def document_id(self, person: str) -> str | None:
        """The id of the person's Doc; None when there is none (or it cannot be looked
        up now, which is logged)."""
        try:
            email = _person(person)
            with self._lock:
                cached = self._files.get(email)
                if cached is not None:
                    return cached.id
                found = self._find(self.services()[0], email)
                return found.id if found else None
        except (NeedsSignIn, GoogleApiError, InvalidPerson) as exc:
            log.info("agenda Doc of %s: cannot look it up: %s", person, exc)
            return None

    # --- internals --------------------------------------------------------------------

    def _find(self, drive: Any, email: str) -> _File | None:
        """The person's Doc: remembered, else looked up in Drive."""
        cached = self._files.get(email)
        if cached is not None:
            return cached
        files: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            reply = execute(
                drive.files().list(q=query(email), spaces="drive", pageSize=100,
                                   pageToken=token,
                                   fields="nextPageToken,files(id,name,createdTime,appProperties)"),
                source=self.source, what=f"looking up the agenda Doc of {email}")
            files += [f for f in reply.get("files") or [] if f.get("id")]
            token = reply.get("nextPageToken")
            if not token:
                break
        if not files:
            return None
        files.sort(key=lambda f: (str(f.get("createdTime") or ""), str(f["id"])))
        if len(files) > 1:
            log.warning("agenda: %d Google Docs for %s; using the oldest, %s (%s); the "
                        "others can be deleted", len(files), email, files[0]["id"],
                        EDIT_URL.format(files[0]["id"]))
        found = _File(str(files[0]["id"]),
                      (files[0].get("appProperties") or {}).get(SHARED_KEY) == "1")
        self._files[email] = found
        return found

    def _get(self, docs: Any, doc_id: str, email: str, *,
             during_write: bool = False) -> dict[str, Any]:
        try:
            return dict(execute(docs.documents().get(documentId=doc_id),
                                source=self.source, what=f"reading the agenda Doc of {email}"))
        except GoogleApiError as exc:
            if exc.status == 404:
                self._files.pop(email, None)
                self._snapshots.pop(email, None)
                if during_write:
                    raise self._gone(email) from None
            raise

    def _gone(self, email: str) -> AgendaStoreError:
        return AgendaStoreError(
            f"the agenda Doc of {email} disappeared while cadenced was updating it",
            hint="it was deleted in Drive; cadenced creates a new one at its next change "
            "(restore the old one from Drive's trash to keep it instead)")

    def _conflict(self, email: str, doc_id: str) -> Conflict:
        return Conflict(f"the agenda Doc of {email} changed since cadenced read it",
                        path=EDIT_URL.format(doc_id), hint="read it again and re-apply the change")

    def _create_or_fill(self, drive: Any, docs: Any, email: str, text: str) -> str:
        """A new Doc for ``email`` with ``text`` (or an empty one filled)."""
        found = self._find(drive, email)
        if found is None:
            reply = execute(
                drive.files().create(
                    body={"name": _title(text, self.owner_name, email), "mimeType": DOC_MIME,
                          "appProperties": {PERSON_KEY: person_tag(email),
                                            VERSION_KEY: FORMAT_VERSION}},
                    fields="id,createdTime,appProperties"),
                source=self.source, what=f"creating the agenda Doc of {email}",
                idempotent=False)
            found = _File(str(reply["id"]), False)
            self._files[email] = found
            log.info("agenda: created the Google Doc of %s: %s", email, EDIT_URL.format(found.id))
        snap = extract(self._get(docs, found.id, email, during_write=True))
        if not snap.empty:
            raise Conflict(f"the agenda Doc of {email} was created by someone else meanwhile",
                           path=EDIT_URL.format(found.id),
                           hint="read it again and re-apply the change")
        requests = plan_requests(snap, text)
        revision = self._batch(docs, found.id, email, requests, snap.revision) \
            if requests else snap.revision
        self._ensure_shared(drive, found, email)
        return revision

    def _batch(self, docs: Any, doc_id: str, email: str, requests: Sequence[dict[str, Any]],
               expected: str) -> str:
        """Send ``requests`` in one batchUpdate, only onto revision ``expected``."""
        what = f"updating the agenda Doc of {email}"
        body = {"requests": list(requests), "writeControl": {"requiredRevisionId": expected}}
        self._snapshots.pop(email, None)
        try:
            # Retrying is safe: once applied, the revision guard refuses the repeat.
            reply = execute(docs.documents().batchUpdate(documentId=doc_id, body=body),
                            source=self.source, what=what)
        except GoogleApiError as exc:
            if exc.status == 404:
                self._files.pop(email, None)
                raise self._gone(email) from None
            if exc.status == 400 and (
                    "revision" in exc.reason[len(what):].lower()
                    or self._moved(docs, doc_id, email, expected)):
                raise self._conflict(email, doc_id) from None
            raise
        revision = (reply.get("writeControl") or {}).get("requiredRevisionId")
        if not revision:
            revision = self._get(docs, doc_id, email, during_write=True).get("revisionId")
        return str(revision)

    def _moved(self, docs: Any, doc_id: str, email: str, expected: str) -> bool:
        """Whether the Doc's revision is no longer ``expected`` (after a refusal)."""
        current = self._get(docs, doc_id, email, during_write=True)
        return str(current.get("revisionId") or "") != expected

    def _ensure_shared(self, drive: Any, found: _File, email: str) -> None:
        """Share the Doc with the person as a writer, once; a failure is logged and
        the share tried again at the next write."""
        if not self.share or found.shared:
            return
        try:
            execute(drive.permissions().create(
                fileId=found.id, sendNotificationEmail=self.notify, fields="id",
                body={"type": "user", "role": "writer", "emailAddress": email}),
                source=self.source, what=f"sharing the agenda Doc with {email}",
                idempotent=not self.notify)  # a repeat could send a second e-mail
            execute(drive.files().update(fileId=found.id, fields="id",
                                         body={"appProperties": {SHARED_KEY: "1"}}),
                    source=self.source, what=f"marking the agenda Doc of {email} shared")
        except GoogleApiError as exc:
            hint = exc.hint or (
                "Google invites an address without a Google account only with an e-mail: "
                "set notify = true under [agenda]" if not self.notify and exc.status == 400
                else "cadenced tries again at its next change")
            log.warning("agenda: could not share the Doc of %s: %s (%s)", email, exc, hint)
            return
        found.shared = True
        log.info("agenda: shared the Doc with %s%s", email,
                 " (Google e-mailed them)" if self.notify else "")
