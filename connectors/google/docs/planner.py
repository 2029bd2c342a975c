"""Writing a Doc without re-uploading it: the difference between the text read and
the new text, line by line, as ``documents.batchUpdate`` requests. Pure."""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Sequence
from typing import Any

from connectors.google.docs.snapshot import BOX, LIST_MARKER, Snapshot, utf16

log = logging.getLogger(__name__)


RUN_COST = 3  # what a place changed costs, on top of a line each (see _align)
MAX_ALIGN_CELLS = 250_000  # larger differences: difflib's (greedy) matcher

# What Docs strips from inserted text (tab, newline and vertical tab stay).
_STRIPPED = re.compile("[\x00-\x08\x0c-\x1f\ue000-\uf8ff]")
_OPEN_ITEM_LINE = re.compile(r"^- \[ \] (?=\S)")  # what cadenced writes as a checklist item
_HEADING_LINE = re.compile(r"^(#{1,6})[ \t]")
_COMMENT_LINE = re.compile(r"^[ \t]*<!--.*-->[ \t]*$")
_TEXT_STYLE_FIELDS = ("bold,italic,underline,strikethrough,smallCaps,baselineOffset,"
                      "backgroundColor,foregroundColor,fontSize,weightedFontFamily,link")
_GREY = {"color": {"rgbColor": {"red": 0.6, "green": 0.6, "blue": 0.6}}}


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
        box = bool(rest.strip()) and not LIST_MARKER.match(rest) and not BOX.match(rest)
        lines.append(rest if box else line)
        boxes.append(box)
    return "".join(lines), tuple(boxes)


def _style_inserted(at: int, chunk: str, boxes: Sequence[bool], *, bulleted: bool,
                    style: bool) -> list[dict[str, Any]]:
    """Requests that make the lines of ``chunk`` (as ``_in_doc`` gives it), inserted at
    ``at``, plain Markdown paragraphs, and checklist items where ``boxes`` says: Docs
    gives new paragraphs the style (and bullet) of the one they were inserted into,
    which would read back as different text."""
    whole = _range(at, at + utf16(chunk))
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
        width = utf16(line)
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
                "range": _range(pos, pos + utf16(content)),
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
