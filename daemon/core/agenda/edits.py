"""Changing the document: a new one, a meeting's section added (carrying open items
and the queued topics), a section updated when its meeting moved or was cancelled.
Pure: text in, text out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, tzinfo

from daemon.core.agenda.doc import PLACEHOLDER, Topic, parse
from daemon.core.agenda.headings import CANCELLED, STAMP, heading_text, marker_line, stamp
from daemon.core.agenda.items import render_carried, render_item
from daemon.core.agenda.model import ActionItem, Meeting, SectionPlan

NEXT_MARKER = "<!-- cadenced:next -->"
ITEM_HINT = (
    '<!-- Action items look like "- [ ] Owner: what (due 2026-12-01)"; tick [x] when done. '
    "Open items are carried into the next meeting until someone ticks or deletes them. -->"
)


# ---------------------------------------------------------------- writing


def new_document(person_name: str, owner_name: str) -> str:
    """A fresh 1:1 document: the title, an empty Next-time list and the action-item hint."""
    return "\n".join((
        f"# 1:1 — {owner_name.strip()} & {person_name.strip()}",
        "",
        "## Next time",
        NEXT_MARKER,
        PLACEHOLDER,
        "",
        ITEM_HINT,
        "",
    ))


def render_section(plan: SectionPlan, topics: Sequence[str] = (), *, tz: tzinfo,
                   today: date | None = None, newline: str = "\n") -> str:
    """A new meeting section, ending with a blank line. ``topics``: list-item lines."""
    today = today or plan.meeting.start.astimezone(tz).date()
    out = [f"## {heading_text(plan.meeting, tz=tz)}", marker_line(plan.meeting.key)]
    if plan.context:
        out.append(f"_{plan.context.strip()}_")
    if plan.carried:
        out += ["", "### Carried over"]
        for c in plan.carried:
            line = render_item(ActionItem(False, c.item.text, c.item.owner, c.item.due))
            out.append(f"{line} — {render_carried(c, today=today)}")
    out += ["", "### Topics"]
    for topic in topics:
        out += topic.rstrip("\r\n").replace("\r\n", "\n").split("\n")
    out += ["", f"### Prompts (theme: {plan.theme})"]
    out += [f"- {prompt}" for prompt in plan.prompts]
    out += ["", "### Notes", "", "### Takeaways", "", "### Action items", "", ""]
    return newline.join(out)


def add_section(text: str, plan: SectionPlan, *, tz: tzinfo, today: date | None = None) -> str:
    """Insert the section for ``plan.meeting`` unless there is one already.

    It goes right after the Next-time block, above the newest section (or above the
    topmost section, when people moved the Next-time block below it), and takes the
    block's queued topics with it, leaving the placeholder. With no Next-time block it
    goes after the title part (or at the very top) and takes no topics. Nothing else
    changes. ``today`` dates the "open N weeks" notes (default: the meeting's day).
    """
    doc = parse(text, tz=tz)
    if doc.section(plan.meeting.key) is not None:
        return text
    nl = doc.newline
    topics: tuple[Topic, ...] = ()
    if doc.next_time is not None:
        at = doc.next_time.end
        topics = doc.next_time.topics
        if doc.sections and doc.sections[0].start < doc.next_time.start:
            at = doc.sections[0].start
    else:
        at = doc.title_end if doc.title_end is not None else 0
    section = render_section(plan, [t.text for t in topics], tz=tz, today=today, newline=nl)
    cut = _cut_ranges(text, topics)
    head, tail = _without(text, 0, at, cut), _without(text, at, len(text), cut)
    if head and not head.endswith("\n"):
        head += nl
    if head and not head.endswith(("\n\n", "\n\r\n")):
        head += nl
    return head + section + tail


def _cut_ranges(text: str, topics: Sequence[Topic]) -> list[tuple[int, int]]:
    """The topics' lines, with the blank lines between two of them."""
    ranges: list[tuple[int, int]] = []
    for topic in topics:
        if ranges and not text[ranges[-1][1]:topic.start].strip():
            ranges[-1] = (ranges[-1][0], topic.end)
        else:
            ranges.append((topic.start, topic.end))
    return ranges


def _without(text: str, lo: int, hi: int, cut: Sequence[tuple[int, int]]) -> str:
    """``text[lo:hi]`` without the ``cut`` ranges."""
    kept: list[str] = []
    pos = lo
    for start, end in cut:
        start, end = max(start, lo), min(end, hi)
        if start >= end:
            continue
        kept.append(text[pos:start])
        pos = end
    kept.append(text[pos:hi])
    return "".join(kept)


def update_section(text: str, meeting: Meeting, *, tz: tzinfo) -> str:
    """Bring the heading of ``meeting``'s section up to date; nothing else changes.

    A moved meeting gets its new day, time and length in place of the old ones (the
    words people added around them stay); a heading with no cadenced date in it is
    the humans' and keeps its words. Cancelled adds `` — cancelled`` at the end,
    un-cancelled removes it. The section is never deleted. Idempotent.
    """
    section = parse(text, tz=tz).section(meeting.key)
    if section is None or section.heading_start is None or section.heading_end is None:
        return text
    line = text[section.heading_start:section.heading_end]
    found = STAMP.search(line)
    new = line
    if found:
        new = line[:found.start()] + stamp(meeting, tz) + line[found.end():]
    if meeting.cancelled and not new.rstrip().endswith(CANCELLED.strip()):
        new = new.rstrip() + CANCELLED
    elif not meeting.cancelled and new.rstrip().endswith(CANCELLED):
        new = new.rstrip()[: -len(CANCELLED)]
    if new == line:
        return text
    return text[:section.heading_start] + new + text[section.heading_end:]
