"""The pages of ``cadenced serve``: the health page (the report's content, live), a
person's history with a plot of minutes held per month, and an agenda with its
forms. Jinja2 with autoescape on for every template; pure string work.

Every value from a calendar or a document is escaped by the templates (names and
titles are also cleaned of control and bidi characters, as in the report). The
agenda's own Markdown is rendered by :func:`daemon.render.agenda.render_markdown`
(raw HTML off, allowlist sanitizer) and passed in as safe markup. The plot is an
inline SVG drawn here: no script, no external resource, so the server's strict
Content-Security-Policy holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup, escape

from daemon.core.agenda.forms import TaskLine
from daemon.core.report.model import LEGEND, Report, Row
from daemon.core.report.person import Instance, Month
from daemon.render.agenda import render_markdown
from daemon.render.report import (
    CELL_COLOURS,
    NAME_LIMIT,
    TEXT_LIMIT,
    TITLE_LIMIT,
    cell_symbol,
    clip,
    held_text,
    last_held_text,
    minutes_text,
    source_since,
    span_text,
    trend_text,
    when_text,
)

__all__ = ["NotesForm", "agenda_page", "conflict_page", "health_page", "message_page",
           "person_page", "plot_svg"]

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class NotesForm:
    """A past section whose notes the page lets you edit."""

    key: str
    heading: str
    notes: str


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("daemon.render", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(clip=clip)
    env.globals.update(
        cell_symbol=cell_symbol, cell_colours=lambda kind: CELL_COLOURS.get(
            kind, ("#eceef1", "#5f6b7a", "#eceef1")),
        last_held_text=last_held_text, when_text=when_text, span_text=span_text,
        held_text=held_text, minutes_text=minutes_text, trend_text=trend_text,
        source_since=source_since, legend=LEGEND,
        NAME_LIMIT=NAME_LIMIT, TITLE_LIMIT=TITLE_LIMIT, TEXT_LIMIT=TEXT_LIMIT,
    )
    return env


def _render(template: str, **context: Any) -> str:
    return _env().get_template(template).render(**context)


def _document(text: str) -> Markup:
    """The Markdown as HTML: raw HTML off, then the allowlist sanitizer."""
    return Markup(render_markdown(text))  # noqa: S704 - sanitized by render_markdown


def health_page(report: Report, *, base: str, person_href: dict[str, str],
                agenda_href: dict[str, str], synced: str | None) -> str:
    """The index: who needs care, every relationship with its strip, source health."""
    return _render("serve/health.html.j2", report=report, base=base, person_href=person_href,
                   agenda_href=agenda_href, synced=synced)


def person_page(*, name: str, email: str, row: Row | None, history: Sequence[Instance],
                months: Sequence[Month], base: str, agenda_href: str | None) -> str:
    """A person's page: the summary row, the plot and every meeting."""
    return _render("serve/person.html.j2", name=name, email=email, row=row, history=history,
                   plot=plot_svg(months), months=months, base=base, agenda_href=agenda_href)


def agenda_page(*, name: str, text: str, version: str, token: str, action: str, base: str,
                person_href: str | None, items: Sequence[TaskLine],
                notes: Sequence[NotesForm], topic_target: str, message: str | None = None,
                ) -> str:
    """The document with its forms: add a topic, tick an item, edit past notes."""
    return _render("serve/agenda.html.j2", name=name, document=_document(text),
                   version=version, token=token, action=action, base=base,
                   person_href=person_href, items=items, notes=notes,
                   topic_target=topic_target, message=message)


def conflict_page(*, name: str, text: str, version: str, token: str, action: str,
                  field: str, yours: str, extra: dict[str, str], agenda_href: str) -> str:
    """A save refused because the document changed meanwhile: the newer text, and
    what you typed, ready to be saved again against the newer version."""
    return _render("serve/conflict.html.j2", name=name, document=_document(text),
                   version=version, token=token, action=action, field=field, yours=yours,
                   extra=extra, agenda_href=agenda_href)


def message_page(title: str, message: str, *, back: str | None = None) -> str:
    return _render("serve/message.html.j2", title=title, message=message, back=back)


def plot_svg(months: Sequence[Month], *, width: int = 560, height: int = 180) -> Markup:
    """Minutes held per month as an SVG bar chart (with a text title and a table
    alternative in the page)."""
    if not months:
        return Markup("")
    top = max(m.minutes for m in months) or 60
    scale = (height - 40) / top
    slot = (width - 40) / len(months)
    bar = max(4.0, slot * 0.6)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="plot-title" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" class="plot">',
        '<title id="plot-title">Minutes held per month, the last '
        f"{len(months)} months</title>",
        f'<line x1="30" y1="{height - 24}" x2="{width - 6}" y2="{height - 24}" '
        'stroke="#5f6b7a" stroke-width="1"/>',
        f'<text x="2" y="14" font-size="11" fill="currentColor">{escape(top)} min</text>',
    ]
    for i, month in enumerate(months):
        x = 34 + i * slot
        h = month.minutes * scale
        y = height - 24 - h
        label = f"{MONTHS[month.first.month - 1]} {month.first.year}: {month.minutes} min"
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                     f'fill="#1f7a5c"><title>{escape(label)}</title></rect>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 8}" font-size="11" '
                     f'text-anchor="middle" fill="currentColor">'
                     f"{escape(MONTHS[month.first.month - 1])}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built here, every value escaped
