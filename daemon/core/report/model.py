"""What the weekly report says, before it is rendered.

Built by :mod:`daemon.core.report.content` from an analysis; rendered to HTML and
plain text by :mod:`daemon.render.report`. Every string here may come from a
calendar (names, titles, error texts) and is escaped by the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

# One cell per week in a relationship's strip, oldest first.
CELL_KINDS = ("held", "moved", "shortened", "cancelled", "missed", "none")
LEGEND = (
    ("held", "held as planned"),
    ("moved", "held, but moved"),
    ("shortened", "held, but cut short"),
    ("cancelled", "cancelled or declined"),
    ("missed", "expected, nothing held"),
    ("none", "none expected"),
)


@dataclass(frozen=True)
class Cell:
    week_start: date  # the Monday of the week
    kind: str  # one of CELL_KINDS; the worst thing that happened that week
    label: str  # a short description for a tooltip and the text part
    held: int = 0  # meetings held that week (by their actual start)


@dataclass(frozen=True)
class Attention:
    """A relationship that needs care, with the reason and the next step."""

    person: str  # email
    name: str
    urgency: int  # higher first
    reasons: tuple[str, ...]  # plain words, most important first
    next_step: str
    slot: tuple[datetime, datetime] | None = None  # the first make-up slot, if one is due


@dataclass(frozen=True)
class Row:
    """One relationship in the overview table."""

    person: str
    name: str
    cadence: str  # "weekly", "every 2 weeks"
    last_held_days: int | None  # days ago; None: never held
    next_scheduled: datetime | None  # in the owner's zone
    next_agenda_url: str | None
    strip: tuple[Cell, ...]  # 12 complete weeks, oldest first
    # Over the strip's weeks, from the same meetings (report.content.Period):
    held: int  # held meetings
    expected: int | None  # meetings the series or the cadence planned; None: no cadence
    minutes_held: int  # actual minutes of the held meetings
    minutes_planned: int  # planned minutes of the expected meetings
    trend: str  # "better" | "worse" | "steady" | "new"
    trend_text: str  # "3 held in the last 4 weeks, 1 in the 4 before"
    needs_attention: bool


@dataclass(frozen=True)
class Overdue:
    """A relationship's open action items past their due date."""

    person: str
    name: str
    count: int
    oldest: str  # "Ada: send the packet, due 13 Nov"


@dataclass(frozen=True)
class Upcoming:
    """A 1:1 in the report's week."""

    name: str
    title: str
    start: datetime  # in the owner's zone
    end: datetime
    agenda_url: str | None


@dataclass(frozen=True)
class SourceProblem:
    name: str
    kind: str  # "failing" | "sign-in"
    since: datetime | None
    reason: str
    fix: str


@dataclass(frozen=True)
class Report:
    subject: str  # "1:1s: 3 need attention, 11 on track (week 47)"
    year: int
    week: int  # ISO week the report is for
    generated: datetime  # in the owner's zone
    owner_name: str
    lookback_days: int
    attention: tuple[Attention, ...]  # most urgent first
    on_track: int  # known relationships that need no attention
    rows: tuple[Row, ...]  # every known relationship, needing attention first, then by name
    this_week: tuple[Upcoming, ...]  # by start
    sources: tuple[SourceProblem, ...]
    overdue: tuple[Overdue, ...] = ()  # most items first
    unknown: tuple[str, ...] = ()  # names of relationships no read source can tell of
    unknown_reason: str = ""  # "work has not been read (HTTP 404)"
    legend: tuple[tuple[str, str], ...] = LEGEND
