"""Renders the weekly report: an HTML part, a plain-text part, and the email.

Every string in a :class:`~daemon.core.report.model.Report` may come from a calendar,
so nothing is trusted:

- HTML is autoescaped (Jinja2), and every value printed is first stripped of
  control characters and bidi override/embedding/isolate controls and clipped to
  a sane length. Names and titles sit in ``<span dir="auto">``, so right-to-left
  text is isolated and cannot reorder the layout around it. Only ``https:`` and
  ``mailto:`` URLs become links.
- The text part is not escaped (it is plain text), but every value printed goes
  through the same cleaning, so a calendar value cannot add lines or reorder them.
- Headers take only :func:`header_safe` values; addresses are validated.

The HTML is for email clients (Gmail, Outlook, Apple Mail): layout tables with
inline styles, no classes, no scripts, nothing loaded from elsewhere.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from daemon.core.report.model import Overdue, Report, Row

# The strip's cells: a symbol (survives clients that drop colours, and readers
# who cannot tell the colours apart), a background, a foreground, a border.
SYMBOLS = {
    "held": "●",
    "moved": "◐",
    "shortened": "◔",
    "cancelled": "✕",
    "missed": "○",
    "none": "·",
}
CELL_COLOURS = {  # background, symbol, border
    "held": ("#1f7a5c", "#ffffff", "#1f7a5c"),
    "moved": ("#3f83c9", "#ffffff", "#3f83c9"),
    "shortened": ("#f2b544", "#4a3300", "#f2b544"),
    "cancelled": ("#c4421c", "#ffffff", "#c4421c"),
    "missed": ("#ffffff", "#c4421c", "#c4421c"),
    "none": ("#eceef1", "#7b8591", "#eceef1"),
}
UNKNOWN_CELL = ("?", ("#eceef1", "#7b8591", "#eceef1"))
TRENDS = {  # arrow, word, colour
    "better": ("↑", "better", "#1f7a5c"),
    "worse": ("↓", "worse", "#c4421c"),
    "steady": ("→", "steady", "#5f6b7a"),
    "new": ("", "new", "#3f83c9"),
}

# Lengths a calendar value is clipped to before it is shown.
NAME_LIMIT = 80
TITLE_LIMIT = 120
TEXT_LIMIT = 400
VALUE_LIMIT = 2048  # anything printed at all
URL_LIMIT = 2048

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Bidi embedding/override (U+202A-U+202E) and isolate (U+2066-U+2069) controls,
# and lone surrogates (which cannot be encoded).
_DROP = re.compile("[\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SPACE = re.compile(r"\s+")
_UNSAFE_URL = re.compile("[\x00-\x20\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def clean(value: object) -> str:
    """One line of text: no control characters, no bidi controls, single spaces."""
    text = _DROP.sub("", str(value))
    text = _CONTROL.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def clip(value: object, limit: int) -> str:
    """:func:`clean`, then cut to ``limit`` characters, ending with "…" when cut."""
    text = clean(value)
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def breakable(value: object, run: int = 20) -> str:
    """Text with a zero-width space every ``run`` characters inside longer unbroken runs,
    so that a long name or address wraps instead of widening the layout (also in
    clients that ignore CSS word breaking)."""
    def split(match: re.Match[str]) -> str:
        word = match.group(0)
        return "\u200b".join(word[i:i + run] for i in range(0, len(word), run))
    return re.sub(rf"\S{{{run + 1},}}", split, str(value))


def header_safe(value: str, limit: int = 200) -> str:
    """A value fit for a mail header: no CR/LF or other control characters, no bidi
    controls, whitespace collapsed, at most ``limit`` characters (cut with "…")."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return clip(value, limit)


def link_target(url: str | None) -> str | None:
    """``url`` when it may become a link (https: with a host, or mailto:), else None."""
    if not url:
        return None
    url = url.strip()
    if len(url) > URL_LIMIT or _UNSAFE_URL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme == "https" and parts.netloc and "\\" not in url:
        return url
    if scheme == "mailto" and parts.path:
        return url
    return None


# -- wording -------------------------------------------------------------------------------

def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def summary(report: Report) -> tuple[str, str]:
    """The headline sentence and the short paragraph under it."""
    need = len(report.attention)
    total = need + report.on_track
    if total == 0 and report.unknown:
        return ("Nothing can be told yet.",
                f"cadenced could not read your calendars yet ({report.unknown_reason}). "
                "Until it can, it says nothing of your 1:1s rather than guess.")
    if total == 0:
        return ("No one-on-ones found yet.",
                "cadenced found no 1:1s in your calendars. List the people you meet "
                "with under [[people]] in your config and they will show up here.")
    if need == 0:
        head = ("Your one-on-one is on track this week." if total == 1 else
                f"All {total} of your one-on-ones are on track this week.")
        return (head, "Nothing needs you this week. Regular 1:1s are where trust is built "
                      "and where people get clear direction and room to grow: keep "
                      "protecting them.")
    if total == 1:
        head = "Your one-on-one needs attention this week."
    else:
        head = (f"{need} of your {total} one-on-ones "
                f"{_plural(need, 'needs', 'need')} attention this week.")
    return (head, "When a 1:1 keeps slipping, someone loses their regular time to be "
                  "heard, to get clear direction and to talk about where they want to "
                  "grow. Each person below comes with one step that puts the "
                  "conversation back on track.")


def unknown_text(report: Report) -> str:
    """One line for the relationships nothing read can tell of."""
    names = ", ".join(clip(name, NAME_LIMIT) for name in report.unknown)
    return (f"Not known yet: {names} ({report.unknown_reason}). They are left out "
            "until it is read.")


def overdue_text(item: Overdue) -> str:
    items = "1 open action item" if item.count == 1 else f"{item.count} open action items"
    return f"{items} past due (oldest: {item.oldest})"


def last_held_text(days: int | None) -> str:
    if days is None:
        return "never"
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    return f"{days} days ago"


def when_text(moment: datetime) -> str:
    return f"{moment:%a %d %b}, {moment:%H:%M}"


def day_text(moment: datetime) -> str:
    return f"{moment:%a %d %b}"


def slot_text(slot: tuple[datetime, datetime], tz: Any) -> str:
    """A make-up slot in the report's zone, and where to see more."""
    start, end = (moment.astimezone(tz) for moment in slot)
    return f"First free slot for it: {span_text(start, end)} (more: cadenced suggest)"


def span_text(start: datetime, end: datetime) -> str:
    if start.date() == end.date():
        return f"{start:%a %d %b}, {start:%H:%M}–{end:%H:%M}"
    return f"{when_text(start)} – {when_text(end)}"


def generated_text(moment: datetime) -> str:
    zone = moment.tzname() or ""
    key = getattr(moment.tzinfo, "key", None)
    text = f"{moment:%a %d %b %Y} at {moment:%H:%M}"
    if key:
        return f"{text} ({key})"
    return f"{text} {zone}".rstrip()


def cell_symbol(kind: str) -> str:
    return SYMBOLS.get(kind, UNKNOWN_CELL[0])


def cell_colours(kind: str) -> tuple[str, str, str]:
    return CELL_COLOURS.get(kind, UNKNOWN_CELL[1])


def trend_parts(trend: str) -> tuple[str, str, str]:
    return TRENDS.get(trend, ("", clip(trend, 20), "#5f6b7a"))


def trend_text(trend: str) -> str:
    arrow, word, _ = trend_parts(trend)
    return f"{arrow} {word}".strip()


def held_text(row: Row) -> str:
    return f"{row.held} held" if row.expected is None else f"{row.held} of {row.expected}"


def minutes_text(row: Row) -> str:
    if row.expected is None:
        return f"{row.minutes_held} min"
    return f"{row.minutes_held} of {row.minutes_planned} min"


def source_since(since: datetime | None) -> str:
    return f"since {when_text(since)}" if since else ""


# -- plain text helpers ----------------------------------------------------------------------

class Text(str):
    """Text the text template lays out itself (already cleaned, may hold newlines)."""


def display_width(text: str) -> int:
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) == "Cf":
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def pad(value: object, width: int) -> Text:
    """Clean, clip to ``width`` columns, pad with spaces to ``width`` columns."""
    text = clean(value)
    if display_width(text) > width:
        while text and display_width(text) > width - 1:
            text = text[:-1]
        text = text.rstrip() + "…"
    return Text(text + " " * max(width - display_width(text), 0))


def fits(value: object, width: int) -> bool:
    return display_width(clean(value)) <= width


def wrap(value: object, width: int = 72, indent: str = "", first: str | None = None,
         limit: int = TEXT_LIMIT, url: bool = False) -> Text:
    """Clean, clip, and wrap to ``width`` columns, each line indented. With ``url``,
    long words (the URL) are kept whole, so that mail clients can still link them."""
    lead = indent if first is None else first
    return Text(textwrap.fill(clip(value, limit), width=width, initial_indent=lead,
                              subsequent_indent=indent, break_on_hyphens=False,
                              break_long_words=not url))


def underline(value: str) -> Text:
    return Text("─" * display_width(value))


def strip_symbols(row: Row) -> str:
    return "".join(cell_symbol(cell.kind) for cell in row.strip)


def legend_lines(legend: Sequence[tuple[str, str]], per_line: int = 2) -> Text:
    """The legend as lines of "symbol meaning" items, aligned in columns."""
    items = [f"{cell_symbol(kind)} {clip(meaning, 40)}" for kind, meaning in legend]
    lines = []
    for start in range(0, len(items), per_line):
        group = items[start:start + per_line]
        lead = "Legend: " if start == 0 else " " * 8
        lines.append(lead + "".join(pad(item, 26) for item in group[:-1]) + group[-1])
    return Text("\n".join(lines))


# -- rendering -----------------------------------------------------------------------------

@jinja2.pass_eval_context
def _finalize(eval_ctx: jinja2.nodes.EvalContext, value: Any) -> Any:
    """Every value a template prints passes here first: cleaned and clipped, unless
    the template built it itself (HTML from a macro, text laid out by a helper)."""
    if isinstance(value, Markup) and eval_ctx.autoescape:
        return value
    if isinstance(value, Text) and not eval_ctx.autoescape:
        return value
    return clip(value, VALUE_LIMIT)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("daemon.render", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",),
                                            disabled_extensions=("txt.j2",),
                                            default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(clip=clip, pad=pad, wrap=wrap, breakable=breakable)
    env.globals.update(
        link_target=link_target, last_held_text=last_held_text, when_text=when_text,
        day_text=day_text, span_text=span_text, slot_text=slot_text, cell_symbol=cell_symbol,
        cell_colours=cell_colours, trend_parts=trend_parts, trend_text=trend_text,
        held_text=held_text, minutes_text=minutes_text, unknown_text=unknown_text,
        overdue_text=overdue_text, source_since=source_since,
        fits=fits, underline=underline, Text=Text, strip_symbols=strip_symbols,
        legend_lines=legend_lines,
        NAME_LIMIT=NAME_LIMIT, TITLE_LIMIT=TITLE_LIMIT, TEXT_LIMIT=TEXT_LIMIT,
    )
    return env


def _context(report: Report) -> dict[str, Any]:
    headline, lead = summary(report)
    return {
        "report": report,
        # most urgent first (stable: the content's order breaks ties)
        "attention": sorted(report.attention, key=lambda item: -item.urgency),
        "subject": header_safe(report.subject),
        "headline": headline,
        "lead": lead,
        "rows_by_person": {row.person: row for row in report.rows},
        "weeks": len(report.rows[0].strip) if report.rows else 12,
        "generated": generated_text(report.generated),
    }


def render_html(report: Report) -> str:
    return environment().get_template("report.html.j2").render(_context(report))


def render_text(report: Report) -> str:
    text = environment().get_template("report.txt.j2").render(_context(report))
    return "\n".join(ltr_line(line) for line in text.split("\n"))


_LRM = "\u200e"


def ltr_line(line: str) -> str:
    """A line of the text part that stays left-to-right in a bidi-aware viewer.

    A right-to-left name would otherwise make its whole line right-to-left (the
    first strong character decides) and pull the neutral characters after it (the
    padding, the strip's symbols, numbers) into its run. A left-to-right mark at
    the start of the line and after each right-to-left stretch keeps the columns
    in place; the name itself still reads right to left."""
    if not any(unicodedata.bidirectional(char) in ("R", "AL") for char in line):
        return line
    out: list[str] = []
    following = None  # the next strong direction to the right
    for char in reversed(line):
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            if following != "R":
                out.append(_LRM)
            following = "R"
        elif kind == "L":
            following = "L"
        out.append(char)
    return _LRM + "".join(reversed(out))


# -- the message ---------------------------------------------------------------------------

_ADDR_SPEC = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")


def _mailbox(value: str) -> Address:
    """One address for From or To ("a@example.com" or "Name <a@example.com>"): parsed
    with :func:`email.utils.parseaddr` and validated; the display name made header-safe.
    Raises ValueError for anything else (several addresses, line breaks, no domain)."""
    shown = header_safe(value, limit=80)
    problem = ValueError(f"not a usable email address: {shown!r}")
    if _CONTROL.search(value) or _DROP.search(value):
        raise problem
    name, addr = parseaddr(value)
    if len(getaddresses([value])) != 1 or not _ADDR_SPEC.fullmatch(addr):
        raise problem
    try:
        return Address(display_name=header_safe(name, 100) if name else "", addr_spec=addr)
    except (ValueError, IndexError) as exc:
        raise problem from exc


def build_message(report: Report, *, sender: str, recipients: Sequence[str],
                  message_id: str, date: datetime) -> EmailMessage:
    """The report as a multipart/alternative email: plain text first, then HTML.

    Raises ValueError for an unusable sender or recipient address.
    """
    if isinstance(recipients, str):
        recipients = [recipients]
    if not recipients:
        raise ValueError("the report needs at least one recipient")
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = header_safe(report.subject)
    message["From"] = _mailbox(sender)
    message["To"] = [_mailbox(recipient) for recipient in recipients]
    message["Date"] = format_datetime(date)
    message["Message-ID"] = header_safe(message_id, limit=250)
    message["MIME-Version"] = "1.0"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(render_text(report), subtype="plain", charset="utf-8",
                        cte="quoted-printable")
    message.add_alternative(render_html(report), subtype="html", charset="utf-8",
                            cte="quoted-printable")
    return message
