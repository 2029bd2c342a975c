"""The weekly report's rendering: HTML for email clients, plain text, the message.

Reports are built here directly (no calendar, no analysis). Every value a calendar
can provide gets hostile input: markup, header injection, bidi overrides, length.
"""

from __future__ import annotations

import email
import html as html_lib
import importlib.util
import re
import shutil
import struct
import subprocess
import tempfile
from dataclasses import replace
from datetime import date, datetime, timedelta
from email import policy
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.core.report.model import (
    LEGEND,
    Attention,
    Cell,
    Overdue,
    Report,
    Row,
    SourceProblem,
    Upcoming,
)
from daemon.render.report import (
    SYMBOLS,
    build_message,
    header_safe,
    link_target,
    ltr_line,
    render_html,
    render_text,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=BERLIN)
KINDS = ("held", "moved", "shortened", "cancelled", "missed", "none")
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
RTL = "\u202eדנה כהן عمر"
CRLF = "Eve\r\nBcc: victim@example.com\r\n\r\n<b>body</b>"
LONG = "L" * 5000

# What the templates themselves produce; anything else came from a value.
ALLOWED_TAGS = {"html", "head", "meta", "title", "body", "div", "table", "tr", "td", "h1",
                "h2", "p", "span", "a", "br"}
ALLOWED_ATTRS = {"lang", "charset", "name", "content", "style", "role", "width", "height",
                 "cellpadding", "cellspacing", "border", "bgcolor", "align", "valign", "title",
                 "dir", "href"}


# -- a small factory ----------------------------------------------------------------------

def strip_for(name: str, pattern: str = "HMSCX-HHHHHH") -> tuple[Cell, ...]:
    codes = dict(zip("HMSCX-", KINDS, strict=True))
    monday = date(2026, 8, 24)
    return tuple(Cell(monday + timedelta(weeks=i), codes[code], f"{name} w{i}: {codes[code]}")
                 for i, code in enumerate(pattern))


def make_row(name: str, *, attention: bool = False, url: str | None = None,
             pattern: str = "HMSCX-HHHHHH", trend: str = "steady",
             next_scheduled: datetime | None = NOW + timedelta(days=3)) -> Row:
    return Row(person=f"{name.split()[0].lower()}@example.com", name=name, cadence="weekly",
               last_held_days=12, next_scheduled=next_scheduled, next_agenda_url=url,
               strip=strip_for(name, pattern), held=7, expected=8, minutes_held=190,
               minutes_planned=240, trend=trend, trend_text=f"{name} trend text",
               needs_attention=attention)


def make_attention(name: str, urgency: int, reason: str = "No 1:1 for 23 days",
                   step: str = "Book a 1:1 this week.") -> Attention:
    return Attention(person=f"{name[:3].lower()}@example.com", name=name,
                     urgency=urgency, reasons=(reason, "Nothing booked in the next 10 days"),
                     next_step=step)


def make_report(**changes) -> Report:
    report = Report(
        subject="1:1s: 2 need attention, 2 on track (week 47)",
        year=2026,
        week=47,
        generated=NOW,
        owner_name="Maya Chen",
        lookback_days=90,
        attention=(make_attention("Tom Becker", 80), make_attention("Ana Silva", 40)),
        on_track=2,
        rows=(
            make_row("Ana Silva", attention=True, next_scheduled=None, trend="worse"),
            make_row("Tom Becker", attention=True, trend="better",
                     url="https://notes.example.com/tom"),
            make_row("Jonas Weber", url="mailto:jonas@example.com?subject=Agenda"),
            make_row("Priya Raman", trend="new"),
        ),
        this_week=(
            Upcoming("Jonas Weber", "1:1 Jonas / Maya", NOW - timedelta(days=2),
                     NOW - timedelta(days=2) + timedelta(minutes=30),
                     "https://notes.example.com/jonas"),
            Upcoming("Priya Raman", "Priya weekly", NOW + timedelta(hours=3),
                     NOW + timedelta(hours=3, minutes=30), None),
        ),
        sources=(
            SourceProblem("work", "failing", NOW - timedelta(days=2), "HTTP 401 Unauthorized",
                          "Publish the calendar again and update its url."),
            SourceProblem("Google", "sign-in", None, "the sign-in expired", "Run cadenced login."),
        ),
    )
    return replace(report, **changes)


def hostile_report(payload: str) -> Report:
    """``payload`` in every value a calendar can provide."""
    return make_report(
        subject=f"1:1s: {payload} (week 47)",
        owner_name=payload,
        attention=(make_attention(payload, 90, reason=payload, step=payload),),
        rows=(Row(person="x@example.com", name=payload, cadence=payload, last_held_days=None,
                  next_scheduled=NOW, next_agenda_url=payload,
                  strip=tuple(Cell(date(2026, 8, 24) + timedelta(weeks=i), payload, payload)
                              for i in range(12)),
                  held=0, expected=1, minutes_held=0, minutes_planned=30, trend=payload,
                  trend_text=payload, needs_attention=True),),
        this_week=(Upcoming(payload, payload, NOW, NOW + timedelta(minutes=30), payload),),
        sources=(SourceProblem(payload, payload, NOW, payload, payload),),
        legend=((payload, payload),),
    )


def lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").split("\n")


def message_for(report: Report, **kwargs):
    args = {"sender": "cadenced <maya@example.com>", "recipients": ["maya@example.com"],
            "message_id": "<cadenced.2026-W47.abc@example.com>", "date": NOW}
    args.update(kwargs)
    return build_message(report, **args)


# -- an HTML walker -------------------------------------------------------------------------

class Tree(HTMLParser):
    """Elements with their attributes and text, and the text inside dir="auto"."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.cells: list[tuple[dict[str, str | None], str]] = []  # <td title=…> and text
        self.isolated: list[str] = []  # text inside <span dir="auto">
        self.comments: list[str] = []
        self._open_cell: list[tuple[dict[str, str | None], list[str]]] = []
        self._isolating = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if tag == "td":
            self._open_cell.append((attributes, []))
        if tag == "span" and attributes.get("dir") == "auto":
            self._isolating += 1
            self.isolated.append("")

    def handle_endtag(self, tag):
        if tag == "td" and self._open_cell:
            attributes, text = self._open_cell.pop()
            self.cells.append((attributes, "".join(text).strip()))
        if tag == "span" and self._isolating:
            self._isolating -= 1

    def handle_data(self, data):
        for _, text in self._open_cell:
            text.append(data)
        if self._isolating:
            self.isolated[-1] += data

    def handle_comment(self, data):
        self.comments.append(data)

    def tags(self) -> set[str]:
        return {tag for tag, _ in self.elements}

    def attribute_names(self) -> set[str]:
        return {name for _, attrs in self.elements for name in attrs}

    def hrefs(self) -> list[str]:
        return [attrs["href"] or "" for tag, attrs in self.elements if tag == "a"]


def section_positions(html: str) -> list[int]:
    titles = ["Needs attention", "Every relationship", "This week&#39;s 1:1s",
              "Source health"]
    return [html.index(f">{title}</h2>") for title in titles]


# -- HTML: structure ------------------------------------------------------------------------

def test_html_has_every_section_in_order():
    html = render_html(make_report())
    assert "Week 47 · 1:1 health" in html
    assert "2 of your 4 one-on-ones need attention this week." in html
    positions = section_positions(html)
    assert positions == sorted(positions)
    assert html.index("1:1 health") < positions[0]
    footer = html[positions[-1]:]
    assert "runs on your machine" in footer and "[report]" in footer
    assert "Fri 20 Nov 2026 at 09:00 (Europe/Berlin)" in footer
    assert "could not be read since Wed 18 Nov, 09:00" in html
    assert "needs you to sign in again" in html and "Run cadenced login." in html


def test_attention_most_urgent_first():
    report = make_report(attention=(make_attention("Low Urgency", 5),
                                    make_attention("High Urgency", 99),
                                    make_attention("Mid Urgency", 50)))
    html = render_html(report)
    start, end = section_positions(html)[:2]
    names = re.findall(r'<span dir="auto">(\w+ Urgency)</span>', html[start:end])
    assert names == ["High Urgency", "Mid Urgency", "Low Urgency"]
    text = render_text(report)
    assert text.index("1. High Urgency") < text.index("2. Mid Urgency") < text.index(
        "3. Low Urgency")


def test_attention_shows_reasons_and_next_step():
    html = render_html(make_report(attention=(make_attention(
        "Tom Becker", 80, reason="No 1:1 for 39 days", step="Book a 1:1 with Tom today."),)))
    start, end = section_positions(html)[:2]
    part = html[start:end]
    assert "No 1:1 for 39 days" in part and "Nothing booked in the next 10 days" in part
    assert "Next step:" in part and "Book a 1:1 with Tom today." in part
    assert "border-left:4px solid" in part  # visually set apart


def test_strip_has_twelve_cells_with_symbols_and_titles():
    report = make_report()
    tree = Tree(render_html(report))
    by_title = {attrs.get("title"): text for attrs, text in tree.cells if attrs.get("title")}
    for row in report.rows:
        assert len(row.strip) == 12
        for cell in row.strip:
            assert by_title[cell.label] == SYMBOLS[cell.kind]
        cells = [attrs for attrs, _ in tree.cells
                 if (attrs.get("title") or "").startswith(f"{row.name} w")]
        assert len(cells) == 12
        assert all(attrs.get("bgcolor") for attrs in cells)  # coloured, and a symbol
    assert set(SYMBOLS) == set(KINDS)
    assert len(set(SYMBOLS.values())) == len(KINDS)


def test_row_columns():
    html = render_html(make_report())
    assert "12 days ago" in html
    assert "7 of 8" in html and "190 of 240 min" in html
    assert "nothing booked" in html
    assert "Mon 23 Nov, 09:00" in html  # NOW + 3 days
    tree = Tree(html)
    trends = {attrs.get("title"): text for attrs, text in tree.cells}
    assert "↓" in trends["Ana Silva trend text"] and "worse" in trends["Ana Silva trend text"]
    assert "↑" in trends["Tom Becker trend text"]
    assert "→" in trends["Jonas Weber trend text"]
    assert "new" in trends["Priya Raman trend text"]


def test_last_held_wording():
    rows = (replace(make_row("A One"), last_held_days=None),
            replace(make_row("B Two"), last_held_days=0),
            replace(make_row("C Three"), last_held_days=1),
            replace(make_row("D Four"), last_held_days=12))
    html = render_html(make_report(rows=rows))
    for words in ("never", "today", "yesterday", "12 days ago"):
        assert f">{words}</td>" in html


def test_legend_comes_from_the_report():
    html = render_html(make_report())
    tree = Tree(html)
    swatches = {attrs.get("title"): text for attrs, text in tree.cells}
    for kind, meaning in LEGEND:
        assert swatches[meaning] == SYMBOLS[kind]
        assert f">{meaning}</td>" in html
    custom = render_html(make_report(legend=(("held", "a custom meaning"),)))
    assert "a custom meaning" in custom and "held as planned" not in custom


@pytest.mark.parametrize(("url", "linked"), [
    ("https://notes.example.com/1on1?a=1&b=2", True),
    ("HTTPS://notes.example.com/x", True),
    ("mailto:ana@example.com", True),
    ("http://notes.example.com/x", False),
    ("javascript:alert(1)", False),
    ("JaVaScRiPt:alert(1)", False),
    (" javascript:alert(1)", False),
    ("java\tscript:alert(1)", False),
    ("https://ok.example.com/\nx", False),
    ("data:text/html,<script>alert(1)</script>", False),
    ("vbscript:msgbox(1)", False),
    ("https:evil.example.com", False),
    ("https:\\\\evil.example.com", False),
    ("//evil.example.com/x", False),
    ("file:///etc/passwd", False),
    ("ftp://example.com/x", False),
    ("notes.example.com/x", False),
])
def test_only_https_and_mailto_become_links(url, linked):
    report = make_report(rows=(make_row("Ana Silva", url=url),),
                         this_week=(Upcoming("Ana Silva", "1:1", NOW, NOW, url),))
    hrefs = Tree(render_html(report)).hrefs()
    if linked:
        assert hrefs == [url, url]
        assert link_target(url) == url
    else:
        assert hrefs == []
        assert link_target(url) is None


def test_unsafe_url_is_shown_as_text_not_link():
    html = render_html(make_report(rows=(make_row("Ana Silva", url="javascript:alert(1)"),)))
    tree = Tree(html)
    assert "javascript:alert(1)" in "".join(tree.isolated)
    assert not any("javascript" in (value or "") for _, attrs in tree.elements
                   for value in attrs.values())


def test_no_external_resources():
    html = render_html(make_report())
    tree = Tree(html)
    lowered = html.lower()
    assert "<link" not in lowered and "<script" not in lowered and "<img" not in lowered
    assert "url(" not in lowered and "@import" not in lowered
    assert "src=" not in lowered
    assert "<style" not in lowered and "class=" not in lowered
    assert tree.hrefs() == ["https://notes.example.com/tom",
                            "mailto:jonas@example.com?subject=Agenda",
                            "https://notes.example.com/jonas"]
    assert tree.tags() <= ALLOWED_TAGS
    layout = [attrs for tag, attrs in tree.elements if tag == "table"]
    assert layout and all(attrs.get("role") == "presentation" for attrs in layout)
    assert "max-width:680px" in html


# -- hostile input --------------------------------------------------------------------------

@pytest.mark.parametrize("payload", [SCRIPT, IMG, RTL, CRLF, LONG,
                                     "</span></td></tr></table><h1>x</h1>",
                                     "{{ 7*7 }}{% raw %}", "&lt;script&gt;", "\x00\x1b[31m\x7f"])
def test_hostile_values_stay_text(payload):
    report = hostile_report(payload)
    html = render_html(report)
    tree = Tree(html)
    lowered = html.lower()
    assert "<script" not in lowered and "<img" not in lowered and "<b>" not in lowered
    assert tree.tags() <= ALLOWED_TAGS
    assert tree.attribute_names() <= ALLOWED_ATTRS
    assert "onerror" not in tree.attribute_names()
    assert tree.hrefs() == []
    assert all(comment.startswith(("[if mso]", "[endif]")) for comment in tree.comments)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", html)
    assert not any(char in html for char in BIDI_CONTROLS)
    assert "49" not in html  # no template evaluation of values
    assert len(html) < 120_000  # a 5,000-character value is clipped everywhere

    text = render_text(report)
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)
    assert not any(char in text for char in BIDI_CONTROLS)
    assert "\r" not in text
    assert max(len(line) for line in text.splitlines()) <= 340  # URLs: clipped to 300, kept whole

    message = message_for(report)
    raw = message.as_bytes()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    subject = parsed["Subject"]
    assert "\r" not in subject and "\n" not in subject
    assert subject == header_safe(report.subject)
    assert len(subject) <= 200
    assert parsed["Bcc"] is None
    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.iter_parts()] == [
        "text/plain", "text/html"]
    assert lines(parsed.get_body(("plain",)).get_content()) == lines(text)
    assert lines(parsed.get_body(("html",)).get_content()) == lines(html)


def test_crlf_in_subject_cannot_inject_headers():
    report = make_report(subject=f"1:1s for {CRLF}")
    parsed = email.message_from_bytes(message_for(report).as_bytes(), policy=policy.default)
    assert parsed["Subject"] == "1:1s for Eve Bcc: victim@example.com <b>body</b>"
    assert parsed["Bcc"] is None
    assert parsed.get_content_type() == "multipart/alternative"


def test_long_values_are_clipped():
    report = hostile_report(LONG)
    subject = message_for(report)["Subject"]
    assert len(subject) == 200 and subject.endswith("…")
    html = render_html(report)
    tree = Tree(html)
    assert max(len(text.replace("\u200b", "")) for text in tree.isolated) <= 400
    assert max(len(value or "") for _, attrs in tree.elements for value in attrs.values()
               ) <= 400
    row = replace(make_row(LONG), strip=strip_for("x"), trend_text="t")
    names = make_report(attention=(make_attention(LONG, 9),), rows=(row,),
                        this_week=(Upcoming(LONG, "1:1", NOW, NOW, None),), owner_name=LONG)
    html = render_html(names)
    assert "\u200b" in html  # long unbroken runs may wrap, even in Outlook
    html = html.replace("\u200b", "")
    assert LONG[:81] not in html and LONG[:79] + "…" in html
    text = render_text(names)
    assert LONG[:73] not in text and "L…" in text  # clipped, then wrapped at 72
    assert text.count("L") < 4 * 80 + 10


def test_rtl_text_is_isolated_and_overrides_removed():
    name = "\u202eדנה כהן\u202c"
    report = make_report(
        attention=(make_attention(name, 10, reason="\u2067عمر\u2069 reason"),),
        rows=(make_row(name, attention=True),),
        this_week=(Upcoming(name, "\u202dשיחה", NOW, NOW + timedelta(minutes=30), None),),
        sources=(SourceProblem("לוח\u202e", "failing", NOW, "x", "y"),))
    html = render_html(report)
    tree = Tree(html)
    assert "דנה כהן" in tree.isolated  # the name sits alone in its isolate
    assert "שיחה" in tree.isolated and "לוח" in tree.isolated
    assert "עמר reason" not in html and "عمر reason" in tree.isolated
    assert not any(char in html for char in BIDI_CONTROLS)
    text = render_text(report)
    assert "דנה כהן" in text and "שיחה" in text
    assert not any(char in text for char in BIDI_CONTROLS)
    # In the text part, left-to-right marks keep each line's columns in place.
    row_line = next(line for line in text.splitlines()
                    if "דנה כהן" in line and SYMBOLS["held"] in line)
    assert row_line.startswith("\u200e* ") and "דנה כהן\u200e " in row_line
    assert all(line.startswith("\u200e") for line in text.splitlines()
               if re.search("[\u0590-\u06ff]", line))
    subject = message_for(replace(report, subject=f"1:1s {name}"))["Subject"]
    assert not any(char in subject for char in BIDI_CONTROLS)


def test_ltr_line_marks_only_where_needed():
    assert ltr_line("plain line 12") == "plain line 12"
    assert ltr_line("1. שלום עולם 3 of 8") == "\u200e1. שלום עולם\u200e 3 of 8"
    assert ltr_line("a عمر b") == "\u200ea عمر\u200e b"


def test_every_calendar_name_and_title_is_isolated():
    report = make_report()
    isolated = set(Tree(render_html(report)).isolated)
    names = ({a.name for a in report.attention} | {r.name for r in report.rows}
             | {u.name for u in report.this_week} | {u.title for u in report.this_week}
             | {s.name for s in report.sources} | {s.reason for s in report.sources}
             | {report.owner_name})
    assert names <= isolated


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_any_value_renders_as_text(value):
    report = hostile_report(value)
    tree = Tree(render_html(report))
    assert tree.tags() <= ALLOWED_TAGS
    assert tree.attribute_names() <= ALLOWED_ATTRS
    assert tree.hrefs() == [] or tree.hrefs()[0] == value.strip()
    text = render_text(report)
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]", text)
    subject = message_for(report)["Subject"]
    assert "\n" not in subject and "\r" not in subject


# -- plain text -----------------------------------------------------------------------------

def test_text_part_has_the_sections_names_and_symbols():
    report = make_report()
    text = render_text(report)
    for heading in ("NEEDS ATTENTION", "EVERY RELATIONSHIP", "THIS WEEK'S 1:1S",
                    "SOURCE HEALTH"):
        assert f"\n{heading}\n" in text
    assert text.startswith("Week 47 · 1:1 health\n2 of your 4 one-on-ones need attention")
    for row in report.rows:
        assert row.name in text
        assert "".join(SYMBOLS[cell.kind] for cell in row.strip) in text
    for _, meaning in LEGEND:
        assert meaning in text
    assert "agenda: https://notes.example.com/tom" in text
    assert "agenda: https://notes.example.com/jonas" in text
    assert "7 of 8" in text and "190 of 240 min" in text and "↑ better" in text
    assert "Next step: Book a 1:1 this week." in text
    assert "work could not be read since Wed 18 Nov, 09:00." in text
    assert "\n-- \n" in text and "[report]" in text
    assert not re.search(r"<[a-zA-Z/!]", text)
    assert "&amp;" not in text and "&#" not in text


def test_text_columns_line_up():
    rows = (make_row("Ana Silva", attention=True), make_row("Jonas Weber"),
            make_row("Maximiliane Schwarzenberg-Ostrowski"), make_row("中文名字"))
    text = render_text(make_report(rows=rows))
    strip = "".join(SYMBOLS[cell.kind] for cell in rows[0].strip)
    lines = [line for line in text.splitlines() if strip in line]
    assert len(lines) == 4
    assert len({line.index(strip) for line in lines if "中文" not in line}) == 1
    assert "Maximiliane Schwarzenberg-Ostrowski" in text  # a long name gets its own line
    assert "* Ana Silva" in text and "  Jonas Weber" in text


def test_text_keeps_long_urls_whole():
    url = "https://notes.example.com/" + "a" * 120
    text = render_text(make_report(rows=(make_row("Ana Silva", url=url),)))
    assert any(line.strip() == url for line in text.splitlines())


def test_text_wraps_long_prose():
    report = make_report(attention=(make_attention("Ana Silva", 5, reason="word " * 60),))
    text = render_text(report)
    assert max(len(line) for line in text.splitlines()) <= 80


def test_empty_report_reads_calmly():
    report = make_report(subject="1:1s: all 0 on track (week 47)", attention=(), on_track=0,
                         rows=(), this_week=(), sources=())
    html, text = render_html(report), render_text(report)
    for part in (html, text):
        assert "All calendars were read." in part
        assert "No 1:1s are booked this week." in part
        assert "Nobody this week" in part
        assert "No one-on-ones found yet." in part
    calm = make_report(attention=(), on_track=4, sources=())
    assert "All 4 of your one-on-ones are on track this week." in render_html(calm)
    single = make_report(attention=(make_attention("Ana Silva", 3),), on_track=5)
    assert "1 of your 6 one-on-ones needs attention this week." in render_text(single)


# -- the message ----------------------------------------------------------------------------

def test_build_message_structure():
    report = make_report()
    message = message_for(report, recipients=["maya@example.com", "Lead <lead@example.org>"])
    parsed = email.message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    plain, html = parsed.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert plain.get_content_charset() == html.get_content_charset() == "utf-8"
    assert parsed["Subject"] == report.subject
    assert parsed["From"] == "cadenced <maya@example.com>"
    assert parsed["To"] == "maya@example.com, Lead <lead@example.org>"
    assert parsed["Date"] == "Fri, 20 Nov 2026 09:00:00 +0100"
    assert parsed["Message-ID"] == "<cadenced.2026-W47.abc@example.com>"
    assert parsed["MIME-Version"] == "1.0"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Auto-Response-Suppress"] == "All"
    assert "Tom Becker" in plain.get_content() and "Tom Becker" in html.get_content()
    assert b"\r\n" in message.as_bytes()  # SMTP line endings
    assert all(len(line) <= 998 for line in message.as_bytes().split(b"\r\n"))


def test_non_ascii_subject_and_names_are_encoded():
    report = make_report(subject="1:1s: Zoë und Jürgen (week 47)")
    message = message_for(report, recipients=["Jürgen Groß <juergen@example.com>"])
    raw = message.as_bytes()
    assert raw.isascii()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "1:1s: Zoë und Jürgen (week 47)"
    assert parsed["To"].addresses[0].display_name == "Jürgen Groß"


@pytest.mark.parametrize("address", [
    "not an address", "", "@example.com", "maya@", "maya@localhost", "maya@example..com",
    "maya@example.com\r\nBcc: victim@example.com", "maya@example.com Bcc: x@example.com",
    "maya@example.com, eve@example.com", "mäya@example.com",
])
def test_build_message_rejects_unusable_addresses(address):
    with pytest.raises(ValueError, match="address"):
        message_for(make_report(), recipients=[address])
    with pytest.raises(ValueError, match="address"):
        message_for(make_report(), sender=address)


def test_build_message_needs_a_recipient():
    with pytest.raises(ValueError, match="recipient"):
        message_for(make_report(), recipients=[])


def test_header_safe():
    assert header_safe("a\r\nb\tc\x00d\x1b[0m  e") == "a b c d [0m e"
    assert header_safe("  spaced   out  ") == "spaced out"
    assert header_safe("\u202eevil\u2066") == "evil"
    assert header_safe("x" * 300) == "x" * 199 + "…"
    assert len(header_safe("y" * 50, limit=10)) == 10
    assert header_safe("short", limit=10) == "short"
    assert header_safe("line\u2028break\u0085next") == "line break next"


# -- packaging and the screenshot ------------------------------------------------------------

def test_templates_ship_with_the_package():
    folder = resources.files("daemon.render") / "templates"
    assert (folder / "report.html.j2").is_file()
    assert (folder / "report.txt.j2").is_file()


def _docs_script():
    path = REPO / "docs" / "render_report.py"
    spec = importlib.util.spec_from_file_location("render_report_docs", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_sample_has_every_cell_kind():
    sample = _docs_script().sample_report()
    assert {cell.kind for row in sample.rows for cell in row.strip} == set(KINDS)
    assert sample.sources and sample.attention


@pytest.mark.timeout(30)
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_sample_renders_in_headless_chromium(tmp_path):
    html = tmp_path / "report.html"
    png = tmp_path / "report.png"
    html.write_text(render_html(_docs_script().sample_report()), encoding="utf-8")
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path))
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--hide-scrollbars",
               f"--user-data-dir={profile}", f"--screenshot={png}", "--window-size=900,1400",
               html.as_uri()]
    try:
        subprocess.run(command, capture_output=True, timeout=25, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert png.exists()
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (900, 1400)
    assert len(data) > 20_000  # not a blank page


# -- overdue action items and relationships nobody can tell of --------------------------

def test_overdue_items_and_the_unknown_line_render_in_text_and_html():
    report = make_report(
        overdue=(Overdue("ana@example.com", "Ana Silva", 2, "Ana: send the packet, due 13 Nov"),
                 Overdue("tom@example.com", SCRIPT, 1, f"Tom: {IMG}, due 01 Dec")),
        unknown=("Lena Fischer", "Sam Okafor"),
        unknown_reason="work has not been read (HTTP 404 Not Found)",
    )
    text = render_text(report)
    assert "ACTION ITEMS PAST DUE" in text
    assert "Ana Silva: 2 open action items past due (oldest: Ana: send the packet, due 13 Nov)" \
        in " ".join(text.split())
    assert "1 open action item past due" in text
    unknown = ("Not known yet: Lena Fischer, Sam Okafor (work has not been read (HTTP 404 "
               "Not Found)). They are left out until it is read.")
    assert unknown in " ".join(text.split())
    # Named once, and not ranked among the people who need attention.
    assert text.count("Lena Fischer") == 1

    html = render_html(report)
    visible = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    visible = html_lib.unescape(visible)
    assert "1 open action item past due" in visible and "Ana Silva" in visible
    assert "Not known yet: Lena Fischer, Sam Okafor" in visible
    # What a calendar or an agenda provided stays text.
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_no_overdue_section_and_no_unknown_line_when_there_is_nothing_to_say():
    text = render_text(make_report())
    html = render_html(make_report())
    for rendered in (text, html):
        assert "past due" not in rendered and "Not known yet" not in rendered
