"""What the weekly report says: built from an analysis, pure.

Which relationships need care and why (the reasons are :mod:`daemon.core.attention`'s),
in plain words with a next step; a row per relationship with a 12-week strip, held
versus expected, minutes and the trend, all counted over the strip's weeks; open
action items past due; this week's 1:1s; who is unknown because a source was never
read; the sources that need a look. No I/O: the caller passes the
analysis, the configuration, ``now`` and the state of the sources.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from daemon.config import Config
from daemon.core.agenda.model import Carried
from daemon.core.attention import Reason, reasons
from daemon.core.model import Occurrence
from daemon.core.report.model import (
    Attention,
    Cell,
    Overdue,
    Report,
    Row,
    SourceProblem,
    Upcoming,
)
from daemon.core.rules import (
    SERIES,
    Analysis,
    CadenceReduced,
    MissedCadence,
    NoUpcoming,
    Relationship,
    is_booked,
    is_held,
)
from daemon.core.timefmt import cadence_words, days_between, relationship_cadence

STRIP_WEEKS = 12
DEFAULT_MINUTES = 30  # a cadence's slot when no meeting says how long
_SEVERITY = {"held": 0, "moved": 1, "shortened": 2, "cancelled": 3}


@dataclass(frozen=True)
class SourceStatus:
    """A source as the report sees it: failing or not, since when, and the fix."""

    name: str
    error: str | None = None
    hint: str | None = None
    failing_since: datetime | None = None
    needs_sign_in: bool = False


def week_start(moment: datetime) -> date:
    """The Monday of the ISO week ``moment`` is in (its own zone)."""
    day = moment.date()
    return day - timedelta(days=day.weekday())


def _first_name(rel: Relationship) -> str:
    return rel.name.split()[0] if rel.name and "@" not in rel.name else rel.name


def _day_text(moment: datetime, tz: object) -> str:
    local = moment.astimezone(tz)  # type: ignore[arg-type]
    return f"{local:%a %d %b}"


def _days(gap: float) -> str:
    days = round(gap)
    return "1 day" if days == 1 else f"{days} days"


def _interval_text(days: float) -> str:
    words = cadence_words(days)
    return words if not words.startswith("every ") else words.removeprefix("every ")


def _wording(reason: Reason, rel: Relationship, now: datetime) -> tuple[str, str]:
    """The report's words for one reason (the reason set is daemon.core.attention's):
    what is wrong, and the next step."""
    tz = now.tzinfo
    first = _first_name(rel)
    flag = reason.flag
    booked = rel.next_scheduled
    if reason.kind == "no_series":
        return ("No 1:1 series found in your calendars",
                f"Set up a recurring 1:1 with {first}, or set cadence_days = 0 for them "
                "if none is expected.")
    if reason.kind == "not_held_yet" and isinstance(flag, MissedCadence):
        return (f"No 1:1 held yet (expected {_interval_text(flag.expected_interval_days)})",
                f"Book a first 1:1 with {first}.")
    if reason.kind == "missed_cadence" and isinstance(flag, MissedCadence):
        step = (f"Keep the 1:1 on {_day_text(booked.start, tz)}: it closes the gap."
                if booked else f"Book a 1:1 with {first} this week.")
        return (f"No 1:1 for {_days(flag.gap_days or 0.0)} (cadence: "
                f"{_interval_text(flag.expected_interval_days)})", step)
    if reason.kind == "no_upcoming" and isinstance(flag, NoUpcoming):
        horizon = _days((flag.horizon - now) / timedelta(days=1))
        return (f"Nothing booked in the next {horizon}",
                f"Book the next 1:1 with {first}, or restore the recurring series if it "
                "was ended by mistake.")
    if reason.kind == "cadence_reduced" and isinstance(flag, CadenceReduced):
        return (f"The recurring 1:1 went from {_interval_text(flag.from_days)} to "
                f"{_interval_text(flag.to_days)} on {_day_text(flag.effective, tz)}",
                f"If you and {first} did not decide that together, bring the old rhythm "
                "back.")
    return (f"{reason.eroded} of the last {reason.recent} 1:1s were moved or cut short",
            f"Protect the slot: find a time that both of you can keep, and give {first} "
            "the full length.")


def attention_for(rel: Relationship, now: datetime, shortened: timedelta) -> Attention | None:
    """Why a relationship needs care and what to do next, or None when it is fine.
    Which relationships need attention, and why, is :mod:`daemon.core.attention`'s to say."""
    found = reasons(rel, now, shortened)
    if not found:
        return None
    worded = [_wording(reason, rel, now) for reason in found]
    steps: list[str] = []
    for _, step in worded:
        if step.startswith("Book the next 1:1") and any(s.startswith("Book") for s in steps):
            step = "If the recurring series was ended by mistake, restore it."
        if step not in steps:
            steps.append(step)
    return Attention(
        person=rel.person,
        name=rel.name,
        urgency=math.floor(sum(r.urgency for r in found)),
        reasons=tuple(words for words, _ in worded),
        next_step=" ".join(steps[:2]),
    )


def overdue_for(rel: Relationship, items: Sequence[Carried], today: date) -> Overdue | None:
    """The relationship's open action items past due, as one line of the report."""
    if not items:
        return None
    oldest = min(items, key=lambda c: (c.item.due or today, c.first_seen))
    owner = f"{oldest.item.owner}: " if oldest.item.owner else ""
    due = f", due {oldest.item.due:%d %b}" if oldest.item.due else ""
    return Overdue(person=rel.person, name=rel.name, count=len(items),
                   oldest=f"{owner}{oldest.item.text}{due}")


@dataclass(frozen=True)
class Period:
    """The strip's complete weeks, and which of a relationship's meetings count in
    them. The strip, the held and expected counts, the minutes and the trend all
    come from these instances:

    - ``held``: held meetings whose actual start is in the period;
    - ``unheld``: cancelled or declined meetings whose planned start is in it;
    - ``expected``: the recurring slots the series planned in the period (cancelled
      ones included), or, when a cadence is configured or inferred, as many as the
      cadence fits between the first meeting (or the period's start) and its end;
      None when nothing says how often;
    - ``minutes_planned``: the planned length of the expected slots (a cadence's
      slots take the median planned length of the relationship's meetings).
    """

    begin: datetime
    end: datetime
    held: tuple[Occurrence, ...]
    unheld: tuple[Occurrence, ...]
    expected: int | None
    minutes_planned: int


def period_of(rel: Relationship, now: datetime, window_start: datetime,
              weeks: int = STRIP_WEEKS) -> Period:
    """The last ``weeks`` complete weeks before the week ``now`` is in."""
    end = datetime.combine(week_start(now), datetime.min.time(), tzinfo=now.tzinfo)
    begin = end - timedelta(weeks=weeks)
    held = tuple(o for o in rel.occurrences if is_held(o, now) and begin <= o.start < end)
    unheld = tuple(o for o in rel.occurrences
                   if not is_booked(o) and begin <= o.original_start < end)
    interval = rel.expected_interval_days
    if interval is None:
        return Period(begin, end, held, unheld, None, 0)
    if rel.cadence == SERIES and rel.series:
        slots = [o for o in rel.occurrences if o.recurring and begin <= o.original_start < end]
        minutes = sum(o.planned / timedelta(minutes=1) for o in slots)
        return Period(begin, end, held, unheld, len(slots), round(minutes))
    first = _first_start(rel, window_start)
    span = (end - max(begin, first)) / timedelta(days=1)
    expected = max(0, math.floor(span / interval + 1e-9))
    lengths = [o.planned / timedelta(minutes=1) for o in rel.occurrences]
    typical = statistics.median(lengths) if lengths else DEFAULT_MINUTES
    return Period(begin, end, held, unheld, expected, round(expected * typical))


def _first_start(rel: Relationship, default: datetime) -> datetime:
    return min([s.first_start for s in rel.series] +
               [o.original_start for o in rel.occurrences[:1]] or [default])


_LABELS = {
    "held": "held as planned", "moved": "held, moved", "shortened": "held, cut short",
    "cancelled": "cancelled or declined", "missed": "no 1:1 though one was due",
    "none": "none expected",
}


def strip(rel: Relationship, now: datetime, *, shortened: timedelta,
          window_start: datetime | None = None, weeks: int = STRIP_WEEKS,
          period: Period | None = None) -> tuple[Cell, ...]:
    """The period's weeks, oldest first, one cell per week: a held meeting in the
    week of its actual start, a cancelled or declined one in the week it was planned
    for. A meeting at least ``shortened`` shorter than planned counts as cut short,
    as in the rules."""
    if period is None:
        period = period_of(rel, now, window_start or now - timedelta(weeks=weeks), weeks)
    tz = now.tzinfo
    interval = rel.expected_interval_days
    started = _first_start(rel, now)
    all_held = [o for o in rel.occurrences if is_held(o, now)]
    cells = []
    for back in range(weeks):
        begin = period.begin + timedelta(weeks=back)
        end = begin + timedelta(weeks=1)
        monday = begin.astimezone(tz).date()
        held = [o for o in period.held if begin <= o.start < end]
        kind = None
        for occ in held:
            this = ("shortened" if occ.planned - occ.actual >= shortened else
                    "moved" if occ.start != occ.original_start else "held")
            if kind is None or _SEVERITY[this] > _SEVERITY[kind]:
                kind = this
        if kind is None and any(begin <= o.original_start < end for o in period.unheld):
            kind = "cancelled"
        if kind is None:
            before = [o for o in all_held if o.start < end]
            due = interval is not None and (
                end - (before[-1].start if before else started)
                > timedelta(days=interval) + timedelta(days=1))
            kind = "missed" if end > started and due else "none"
        cells.append(Cell(monday, kind, f"week of {monday:%d %b}: {_LABELS[kind]}",
                          held=len(held)))
    return tuple(cells)


def row_for(rel: Relationship, analysis: Analysis, now: datetime, needs_attention: bool,
            agenda_links: Mapping[tuple[str, datetime], str]) -> Row:
    period = period_of(rel, now, analysis.window_start)
    cells = strip(rel, now, shortened=analysis.shortened, period=period)
    last4 = sum(c.held for c in cells[-4:])
    prev4 = sum(c.held for c in cells[-8:-4])
    if _first_start(rel, analysis.window_start) > period.end - timedelta(weeks=8):
        trend = "new"
    else:
        trend = "better" if last4 > prev4 else "worse" if last4 < prev4 else "steady"
    nxt = rel.next_scheduled
    last = rel.last_held
    return Row(
        person=rel.person,
        name=rel.name,
        cadence=relationship_cadence(rel.expected_interval_days, rel.cadence,
                                     rel.inferred_from),
        last_held_days=days_between(last, now) if last else None,
        next_scheduled=nxt.start.astimezone(now.tzinfo) if nxt else None,
        next_agenda_url=agenda_links.get(nxt.key) if nxt else None,
        strip=cells,
        held=len(period.held),
        expected=period.expected,
        minutes_held=round(sum(o.actual / timedelta(minutes=1) for o in period.held)),
        minutes_planned=period.minutes_planned,
        trend=trend,
        trend_text=f"{last4} held in the last 4 weeks, {prev4} in the 4 weeks before",
        needs_attention=needs_attention,
    )


def build_report(analysis: Analysis, config: Config, now: datetime,
                 sources: Sequence[SourceStatus] = (),
                 agenda_links: Mapping[tuple[str, datetime], str] | None = None,
                 overdue: Mapping[str, Sequence[Carried]] | None = None,
                 slots: Mapping[str, tuple[datetime, datetime]] | None = None) -> Report:
    """The report for the ISO week ``now`` is in. ``now`` should be in the owner's zone.

    ``slots`` maps a person to the first make-up slot found for them
    (:mod:`daemon.service.suggest`); it is shown beside their next step.

    ``overdue`` maps a person to their open action items past due (from the agendas).
    A relationship that is unknown (its sources never read) gets no row and no
    ranking: the report names it in one line.
    """
    agenda_links = agenda_links or {}
    overdue = overdue or {}
    known = [rel for rel in analysis.relationships if not rel.unknown]
    unknown = [rel for rel in analysis.relationships if rel.unknown]
    attention = []
    for rel in known:
        found = attention_for(rel, now, analysis.shortened)
        if found is not None:
            slot = (slots or {}).get(rel.person)
            attention.append(replace(found, slot=slot) if slot else found)
    attention.sort(key=lambda a: (-a.urgency, a.name.lower()))
    needing = {a.person for a in attention}
    rows = sorted(
        (row_for(rel, analysis, now, rel.person in needing, agenda_links) for rel in known),
        key=lambda r: (not r.needs_attention, r.name.lower()))
    late = [found for rel in known
            if (found := overdue_for(rel, overdue.get(rel.person, ()), now.date()))]
    late.sort(key=lambda o: (-o.count, o.name.lower()))
    monday = week_start(now)
    begin = datetime.combine(monday, datetime.min.time(), tzinfo=now.tzinfo)
    end = begin + timedelta(weeks=1)
    this_week = sorted(
        (Upcoming(rel.name, occ.summary, occ.start.astimezone(now.tzinfo),
                  occ.end.astimezone(now.tzinfo), agenda_links.get(occ.key))
         for rel in known for occ in rel.occurrences
         if begin <= occ.start < end and is_booked(occ)),
        key=lambda u: u.start)
    problems = tuple(
        SourceProblem(
            name=s.name,
            kind="sign-in" if s.needs_sign_in else "failing",
            since=s.failing_since.astimezone(now.tzinfo) if s.failing_since else None,
            reason=s.error or "",
            fix=s.hint or "cadenced keeps using the last good copy and tries again at "
                          "every sync.",
        )
        for s in sources if s.error or s.needs_sign_in)
    year, week, _ = now.isocalendar()
    on_track = len(known) - len(attention)
    if attention:
        need = f"{len(attention)} need{'s' if len(attention) == 1 else ''} attention"
        subject = f"1:1s: {need}, {on_track} on track"
    else:
        subject = f"1:1s: all {on_track} on track"
    subject += f", {len(unknown)} unknown (week {week})" if unknown else f" (week {week})"
    return Report(
        subject=subject,
        year=year,
        week=week,
        generated=now,
        owner_name=config.owner.name or config.owner.email,
        lookback_days=config.cadence.lookback_days,
        attention=tuple(attention),
        on_track=on_track,
        rows=tuple(rows),
        this_week=tuple(this_week),
        sources=problems,
        overdue=tuple(late),
        unknown=tuple(rel.name for rel in sorted(unknown, key=lambda r: r.name.lower())),
        unknown_reason=(unknown[0].unknown or "") if unknown else "",
    )
