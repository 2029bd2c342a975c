"""What the weekly report says: built from an analysis, pure.

Which relationships need care and why, in plain words with a next step; a row per
relationship with a 12-week strip, held versus expected, minutes, and the trend;
this week's 1:1s; the sources that need a look. No I/O: the caller passes the
analysis, the configuration, ``now`` and the state of the sources.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from daemon.agenda.model import Carried
from daemon.config import Config
from daemon.timefmt import cadence_words, days_between
from daemon.report.model import Attention, Cell, Report, Row, SourceProblem, Upcoming
from daemon.rules import (
    Analysis,
    CadenceReduced,
    MissedCadence,
    NoUpcoming,
    Relationship,
    is_booked,
    is_held,
    moved_or_cut_short,
)

STRIP_WEEKS = 12
REPEATED = (3, 6)  # 3 or more of the last 6 meetings moved or cut short
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


def attention_for(rel: Relationship, config: Config, now: datetime,
                  overdue: Sequence[Carried] = ()) -> Attention | None:
    """Why a relationship needs care and what to do next, or None when it is fine.

    ``overdue`` are the relationship's open action items past their due date.
    """
    tz = now.tzinfo
    first = _first_name(rel)
    reasons: list[tuple[float, str, str]] = []  # (urgency, reason, next step)
    booked = rel.next_scheduled
    for flag in rel.flags:
        if isinstance(flag, MissedCadence) and flag.until is None:
            cadence = _interval_text(flag.expected_interval_days)
            if flag.since is None:
                reasons.append((30.0, f"No 1:1 held yet (expected {cadence})",
                                f"Book a first 1:1 with {first}."))
                continue
            gap = flag.gap_days or 0.0
            step = (f"Keep the 1:1 on {_day_text(booked.start, tz)}: it closes the gap."
                    if booked else f"Book a 1:1 with {first} this week.")
            reasons.append((10.0 + 10 * gap / flag.expected_interval_days,
                            f"No 1:1 for {_days(gap)} (cadence: "
                            f"{_interval_text(flag.expected_interval_days)})", step))
        elif isinstance(flag, NoUpcoming):
            horizon = _days((flag.horizon - now) / timedelta(days=1))
            reasons.append((15.0, f"Nothing booked in the next {horizon}",
                            f"Book the next 1:1 with {first}, or restore the recurring "
                            "series if it was ended by mistake."))
        elif isinstance(flag, CadenceReduced):
            reasons.append((12.0, f"The recurring 1:1 went from "
                                  f"{_interval_text(flag.from_days)} to "
                                  f"{_interval_text(flag.to_days)} on "
                                  f"{_day_text(flag.effective, tz)}",
                            f"If you and {first} did not decide that together, "
                            "bring the old rhythm back."))
    shortened = timedelta(minutes=config.cadence.shortened_minutes)
    recent = [o for o in rel.occurrences if o.original_start <= now][-REPEATED[1]:]
    eroded = sum(1 for o in recent if moved_or_cut_short(o, shortened))
    if eroded >= REPEATED[0]:
        reasons.append((8.0 + eroded, f"{eroded} of the last {len(recent)} 1:1s were moved "
                                      "or cut short",
                        f"Protect the slot: find a time that both of you can keep, "
                        f"and give {first} the full length."))
    if overdue:
        oldest = min(overdue, key=lambda c: (c.item.due or now.date(), c.first_seen))
        owner = f"{oldest.item.owner}: " if oldest.item.owner else ""
        due = f", due {oldest.item.due:%d %b}" if oldest.item.due else ""
        count = len(overdue)
        reasons.append((6.0 + count,
                        f"{count} action item{'s' if count != 1 else ''} overdue "
                        f"(oldest: {owner}{oldest.item.text}{due})",
                        "Go through the open action items together: finish, re-date or drop "
                        "each one."))
    if not reasons:
        return None
    reasons.sort(key=lambda r: -r[0])
    steps: list[str] = []
    for _, _, step in reasons:
        if step not in steps:
            steps.append(step)
    return Attention(
        person=rel.person,
        name=rel.name,
        urgency=math.floor(sum(r[0] for r in reasons)),
        reasons=tuple(r[1] for r in reasons),
        next_step=" ".join(steps[:2]),
    )


def strip(rel: Relationship, now: datetime, *, shortened: timedelta,
          weeks: int = STRIP_WEEKS) -> tuple[Cell, ...]:
    """The last ``weeks`` complete weeks, oldest first, one cell per week. A meeting
    at least ``shortened`` shorter than planned counts as cut short, as in the rules."""
    tz = now.tzinfo
    this_week = week_start(now)
    interval = timedelta(days=rel.expected_interval_days)
    started = min([s.first_start for s in rel.series] +
                  [o.original_start for o in rel.occurrences[:1]] or [now])
    held = [o for o in rel.occurrences if is_held(o, now)]
    cells = []
    for back in range(weeks, 0, -1):
        monday = this_week - timedelta(weeks=back)
        begin = datetime.combine(monday, datetime.min.time(), tzinfo=tz)
        end = begin + timedelta(weeks=1)
        inside = [o for o in rel.occurrences
                  if begin <= o.start < end or begin <= o.original_start < end]
        worst = None
        for occ in inside:
            if occ.cancelled or occ.declined:
                kind = "cancelled"
            elif occ.start > now:
                continue
            elif occ.planned - occ.actual >= shortened:
                kind = "shortened"
            elif occ.start != occ.original_start:
                kind = "moved"
            else:
                kind = "held"
            if worst is None or _SEVERITY[kind] > _SEVERITY[worst]:
                worst = kind
        if worst == "cancelled" and any(begin <= o.start < end for o in held):
            worst = "held"  # one was cancelled, another held: the week had its 1:1
        if worst is None:
            before = [o for o in held if o.start < end]
            due = end - (before[-1].start if before else started) > interval + timedelta(days=1)
            worst = "missed" if end > started and due else "none"
        label = {
            "held": "held as planned", "moved": "held, moved", "shortened": "held, cut short",
            "cancelled": "cancelled or declined", "missed": "no 1:1 though one was due",
            "none": "none expected",
        }[worst]
        cells.append(Cell(monday, worst, f"week of {monday:%d %b}: {label}"))
    return tuple(cells)


def _held_between(rel: Relationship, begin: datetime, end: datetime, now: datetime) -> int:
    return sum(1 for o in rel.occurrences if is_held(o, now) and begin <= o.start < end)


def row_for(rel: Relationship, analysis: Analysis, config: Config, now: datetime,
            needs_attention: bool, agenda_links: Mapping[tuple[str, datetime], str]) -> Row:
    start = analysis.window_start
    first_start = min([s.first_start for s in rel.series] +
                      [o.original_start for o in rel.occurrences[:1]] or [start])
    planned_slots = [o for o in rel.occurrences if o.recurring and start <= o.original_start <= now]
    if rel.series and not any(p.cadence_days for p in config.people if p.email == rel.person):
        expected = len(planned_slots)  # what the series planned, cancelled slots included
    else:
        span_days = (now - max(start, first_start)) / timedelta(days=1)
        expected = max(0, math.floor(span_days / rel.expected_interval_days + 1e-9))
    held = [o for o in rel.occurrences if is_held(o, now) and start <= o.start <= now]
    planned = [o for o in rel.occurrences if start <= o.original_start <= now]
    last4 = _held_between(rel, now - timedelta(weeks=4), now, now)
    prev4 = _held_between(rel, now - timedelta(weeks=8), now - timedelta(weeks=4), now)
    if first_start > now - timedelta(weeks=8):
        trend = "new"
    else:
        trend = "better" if last4 > prev4 else "worse" if last4 < prev4 else "steady"
    nxt = rel.next_scheduled
    last = rel.last_held
    return Row(
        person=rel.person,
        name=rel.name,
        cadence=cadence_words(rel.expected_interval_days),
        last_held_days=days_between(last, now) if last else None,
        next_scheduled=nxt.start.astimezone(now.tzinfo) if nxt else None,
        next_agenda_url=agenda_links.get(nxt.key) if nxt else None,
        strip=strip(rel, now, shortened=timedelta(minutes=config.cadence.shortened_minutes)),
        held=len(held),
        expected=expected,
        minutes_held=round(sum(o.actual / timedelta(minutes=1) for o in held)),
        minutes_planned=round(sum(o.planned / timedelta(minutes=1) for o in planned)),
        trend=trend,
        trend_text=f"{last4} held in the last 4 weeks, {prev4} in the 4 weeks before",
        needs_attention=needs_attention,
    )


def build_report(analysis: Analysis, config: Config, now: datetime,
                 sources: Sequence[SourceStatus] = (),
                 agenda_links: Mapping[tuple[str, datetime], str] | None = None,
                 overdue: Mapping[str, Sequence[Carried]] | None = None) -> Report:
    """The report for the ISO week ``now`` is in. ``now`` should be in the owner's zone.

    ``overdue`` maps a person to their open action items past due (from the agendas).
    """
    agenda_links = agenda_links or {}
    overdue = overdue or {}
    attention = []
    for rel in analysis.relationships:
        found = attention_for(rel, config, now, overdue.get(rel.person, ()))
        if found is not None:
            attention.append(found)
    attention.sort(key=lambda a: (-a.urgency, a.name.lower()))
    needing = {a.person for a in attention}
    rows = sorted(
        (row_for(rel, analysis, config, now, rel.person in needing, agenda_links)
         for rel in analysis.relationships),
        key=lambda r: (not r.needs_attention, r.name.lower()))
    monday = week_start(now)
    begin = datetime.combine(monday, datetime.min.time(), tzinfo=now.tzinfo)
    end = begin + timedelta(weeks=1)
    this_week = sorted(
        (Upcoming(rel.name, occ.summary, occ.start.astimezone(now.tzinfo),
                  occ.end.astimezone(now.tzinfo), agenda_links.get(occ.key))
         for rel in analysis.relationships for occ in rel.occurrences
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
    on_track = len(analysis.relationships) - len(attention)
    if attention:
        need = f"{len(attention)} need{'s' if len(attention) == 1 else ''} attention"
        subject = f"1:1s: {need}, {on_track} on track (week {week})"
    else:
        subject = f"1:1s: all {on_track} on track (week {week})"
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
    )
