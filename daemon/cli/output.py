"""Renders a scan: the JSON document and the readable table."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from daemon.core.attention import for_analysis, short_words
from daemon.core.model import Occurrence
from daemon.core.rules import (
    CadenceReduced,
    Flag,
    MissedCadence,
    NoSeries,
    NoUpcoming,
    OccurrenceFlag,
    Relationship,
    finding_key,
)
from daemon.core.timefmt import days_between, relationship_cadence
from daemon.service.scan import ScanResult

if TYPE_CHECKING:  # rich loads only for the tables, not for --json
    from rich.console import Console


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _minutes(delta: timedelta) -> int:
    return round(delta / timedelta(minutes=1))


def _days(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def flag_json(flag: Flag) -> dict[str, Any]:
    if isinstance(flag, OccurrenceFlag):
        occ = flag.occurrence
        return {
            "kind": flag.kind,
            "original_start": _iso(occ.original_start),
            "start": _iso(occ.start),
            "end": _iso(occ.end),
            "planned_minutes": _minutes(occ.planned),
            "actual_minutes": _minutes(occ.actual),
            "source": occ.source,
            "uid": occ.uid,
        }
    if isinstance(flag, MissedCadence):
        return {
            "kind": flag.kind,
            "since": _iso(flag.since),
            "until": _iso(flag.until),
            "gap_days": flag.gap_days,
            "expected_interval_days": _days(flag.expected_interval_days),
        }
    if isinstance(flag, CadenceReduced):
        return {
            "kind": flag.kind,
            "from_days": _days(flag.from_days),
            "to_days": _days(flag.to_days),
            "effective": _iso(flag.effective),
            "source": flag.source,
            "uid": flag.uid,
        }
    if isinstance(flag, NoSeries):
        return {"kind": flag.kind, "expected_interval_days": _days(flag.expected_interval_days)}
    return {
        "kind": flag.kind,
        "expected_interval_days": _days(flag.expected_interval_days),
        "horizon": _iso(flag.horizon),
    }


def _next(occ: Occurrence | None) -> str | None:
    return _iso(occ.start) if occ else None


def to_json(result: ScanResult, first_seen: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The document ``cadenced scan --json`` prints.

    With ``first_seen`` (from `sync`), each flag also says when it was first seen.
    """
    analysis = result.analysis
    attention = for_analysis(analysis)

    def flags(rel: Relationship) -> list[dict[str, Any]]:
        out = []
        for flag in rel.flags:
            data = flag_json(flag)
            if first_seen is not None:
                data["first_seen"] = first_seen.get(finding_key(rel.person, flag))
            out.append(data)
        return out

    return {
        "now": _iso(analysis.now),
        "window": {"start": _iso(analysis.window_start), "end": _iso(analysis.window_end)},
        "sources": [
            {"name": s.name, "ok": s.ok, "error": s.error, "events": s.events}
            for s in result.sources
        ],
        "relationships": [
            {
                "person": rel.person,
                "name": rel.name,
                "expected_interval_days": _days(rel.expected_interval_days),
                "cadence": rel.cadence,
                "inferred_from": rel.inferred_from or None,
                "unknown": rel.unknown,
                "last_held": _iso(rel.last_held),
                "next_scheduled": _next(rel.next_scheduled),
                "counts": rel.counts,
                "needs_attention": rel.person in attention,
                "attention": [r.kind for r in attention.get(rel.person, ())],
                "flags": flags(rel),
            }
            for rel in analysis.relationships
        ],
    }


# --- the table ---------------------------------------------------------------


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    days = days_between(moment, now)
    return "today" if days == 0 else "yesterday" if days == 1 else f"{days}d ago"


def _ahead(occ: Occurrence | None, now: datetime) -> str:
    if occ is None:
        return "nothing booked"
    local = occ.start.astimezone(now.tzinfo)
    days = (occ.start - now) / timedelta(days=1)
    when = "today" if local.date() == now.date() else f"in {max(1, round(days))}d"
    return f"{when}, {local:%a %d %b %H:%M}"


def flag_words(rel: Relationship, rel_now: datetime) -> list[str]:
    if rel.unknown:
        return [f"unknown: {rel.unknown}"]
    words = []
    for flag in rel.flags:
        if isinstance(flag, NoSeries):
            words.append("no 1:1 series found")
        elif isinstance(flag, MissedCadence):
            if flag.since is None:
                words.append("no 1:1 held yet")
            elif flag.until is None:
                words.append(f"no 1:1 for {days_between(flag.since, rel_now)}d "
                             f"(cadence {flag.expected_interval_days:g}d)")
            else:
                words.append(f"missed: {days_between(flag.since, flag.until)}d gap "
                             f"before {flag.until:%d %b}")
        elif isinstance(flag, CadenceReduced):
            words.append(f"cadence reduced {flag.from_days:g}d → {flag.to_days:g}d "
                         f"from {flag.effective:%d %b}")
        elif isinstance(flag, NoUpcoming):
            words.append("nothing booked")
    for kind in ("rescheduled", "shortened", "cancelled", "declined"):
        count = sum(1 for f in rel.flags if isinstance(f, OccurrenceFlag) and f.kind == kind)
        if count:
            words.append(f"{count}× {kind}")
    return words


def print_table(result: ScanResult, console: Console) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    analysis = result.analysis
    now = analysis.now
    table = Table(box=box.SIMPLE_HEAD, title=f"1:1 cadence on {now:%a %d %b %Y %H:%M}",
                  title_justify="left")
    table.add_column("Person")
    table.add_column("Cadence")
    table.add_column("Last held")
    table.add_column("Next")
    table.add_column("Flags")
    attention = for_analysis(analysis)
    for rel in analysis.relationships:
        words = flag_words(rel, now)
        marked = rel.person in attention
        table.add_row(
            Text(f"* {rel.name}" if marked else f"  {rel.name}",
                 style="bold" if marked else ""),
            relationship_cadence(rel.expected_interval_days, rel.cadence, rel.inferred_from,
                                 bool(rel.unknown)),
            "unknown" if rel.unknown else _ago(rel.last_held, now),
            "unknown" if rel.unknown else _ahead(rel.next_scheduled, now),
            Text("; ".join(words), style="yellow") if words else Text("on track", style="green"),
        )
    if analysis.relationships:
        console.print(table)
        if attention:
            console.print(Text(f"* needs attention ({len(attention)}): "
                               + "; ".join(f"{rel.name}: "
                                           + ", ".join(short_words(r)
                                                       for r in attention[rel.person])
                                           for rel in analysis.relationships
                                           if rel.person in attention)))
    else:
        console.print(Text("No 1:1 relationships found. Check [[people]] and owner.email "
                           "in the config."))
    for source in result.sources:
        if not source.ok:
            console.print(Text(f"source {source.name!r} failed: {source.error}", style="red"))
            if source.hint:
                console.print(Text(f"  hint: {source.hint}"))


# --- status --------------------------------------------------------------------------


def _local(iso: str | None, tz: Any = None) -> str:
    if not iso:
        return "never"
    moment = datetime.fromisoformat(iso)
    return f"{moment.astimezone(tz):%a %d %b %H:%M}"


def print_status(document: dict[str, Any], console: Console, tz: Any = None) -> None:
    """`cadenced status`: people, sources, the service's next jobs."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    people = Table(box=box.SIMPLE_HEAD, title="People", title_justify="left")
    for column in ("Person", "Cadence", "Last held", "Next", "Needs attention"):
        people.add_column(column)
    for person in document["people"]:
        cadence = relationship_cadence(person["expected_interval_days"],
                                       person.get("cadence", "series"),
                                       person.get("inferred_from") or 0,
                                       bool(person.get("unknown")))
        if person.get("unknown"):
            people.add_row(Text(person["name"]), cadence, "unknown", "unknown",
                           Text(f"unknown: {person['unknown']}", style="yellow"))
            continue
        words = "; ".join(person.get("attention", ()))
        if words and person.get("make_up"):
            words += f"; free: {_local(person['make_up'], tz)}"
        people.add_row(Text(person["name"]), cadence,
                       _local(person["last_held"], tz), _local(person["next_scheduled"], tz)
                       if person["next_scheduled"] else "nothing booked",
                       Text(words, style="yellow") if words else Text("no", style="green"))
    console.print(people)
    sources = Table(box=box.SIMPLE_HEAD, title="Sources", title_justify="left")
    for column in ("Source", "State", "Content last changed", "Last success"):
        sources.add_column(column)
    for source in document["sources"]:
        if source.get("needs_sign_in"):
            state = Text(f"needs sign-in since {_local(source['failing_since'], tz)}: "
                         f"{source['hint'] or source['error']}", style="red")
        elif source.get("never_read"):
            state = Text("not read yet", style="yellow")
        elif source["error"]:
            state = Text(f"failing since {_local(source['failing_since'], tz)}: "
                         f"{source['error']}", style="red")
        else:
            state = Text("ok", style="green")
        sources.add_row(Text(source["name"]), state, _local(source["last_change"], tz),
                        _local(source["last_success"], tz))
    console.print(sources)
    recovered = document.get("recovered")
    if recovered:
        console.print(Text(f"State recovered: {recovered['message']}.", style="yellow"))
    service = document.get("service")
    if service is None:
        console.print(Text("The service is not running (start it with "
                           "`systemctl --user start cadenced`, or `cadenced run`)."))
        return
    runs = ", ".join(f"{job} {_local(at, tz)}" for job, at in sorted(service["next_runs"].items())
                     if at)
    console.print(Text(f"Service running (pid {service['pid']}); "
                       + (f"next: {runs}" if runs else "its first sync is running")))
