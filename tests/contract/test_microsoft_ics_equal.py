"""The same calendar read through Microsoft Graph and as an ICS export gives the same
analysis (responses aside: an Outlook ICS export has none): the same relationships,
occurrences (moved, shortened, cancelled) and flags, across a change of summer time."""

from __future__ import annotations

from datetime import timedelta

from backends import CALENDAR, MicrosoftBackend, to_ics

from connectors.ics.parse import parse_calendar
from daemon.core.rules import analyze

from conftest import at, config

NOW = at("2026-11-20T09:00")


def summary(analysis):
    out = []
    for rel in analysis.relationships:
        out.append((rel.person, rel.expected_interval_days, rel.cadence,
                    sorted(f.kind for f in rel.flags),
                    sorted((o.original_start, o.start, o.end, o.cancelled)
                           for o in rel.occurrences),
                    rel.next_scheduled.start if rel.next_scheduled else None))
    return sorted(out)


def test_graph_and_ics_give_the_same_analysis(graph, tmp_path):
    backend = MicrosoftBackend(graph, tmp_path)
    backend.publish(CALENDAR)
    from_graph = backend.source().read(tz=at("2026-01-01T00:00").tzinfo, interest=None)
    ics = parse_calendar(to_ics(CALENDAR), source="contract", tz=at("2026-01-01").tzinfo)
    settings = config(lookback_days=90)
    graph_analysis = analyze(list(from_graph.events), settings, NOW)
    ics_analysis = analyze(list(ics.events), settings, NOW)
    assert summary(graph_analysis) == summary(ics_analysis)
    kinds = {k for row in summary(graph_analysis) for k in row[3]}
    assert "cancelled" in kinds  # the cancelled occurrence came through cancelledOccurrences
    weekly = [row for row in summary(graph_analysis) if row[0] == "ada@example.com"]
    assert weekly and any(start - original == timedelta(days=1, hours=5)
                          for original, start, _, _ in weekly[0][4])
