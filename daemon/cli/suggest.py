"""``cadenced suggest``: make-up slots for the 1:1s that need one, or for one person."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from daemon.cli.agenda import _check_person, _known_person
from daemon.cli.commands import Command, handle_errors, load
from daemon.cli.common import json_option, now_option, parse_now
from daemon.state import paths


@click.command(cls=Command)
@click.argument("person", required=False, metavar="[PERSON]")
@now_option
@json_option
@click.pass_context
@handle_errors
def suggest(ctx: click.Context, person: str | None, now_text: str | None, as_json: bool) -> None:
    """Make-up slots for the 1:1s that need one (or for PERSON).

    Reads every event of every source for busy time; ranks slots as docs/suggest.md
    says. PERSON is an address from [[people]] or of an invite.
    """
    from connectors.registry import build_sources
    from daemon.core.rules import analyze
    from daemon.service.scan import read_sources
    from daemon.service.suggest import remember, suggestions, to_json
    from daemon.state.store import StateError, Store

    config = load(ctx).config
    now = parse_now(now_text, config.owner.tz)
    sources = build_sources(config)
    events, reports = read_sources(sources, config, prefilter=False)
    unread = {r.name: r.error or "failed" for r in reports if not r.ok}
    analysis = analyze(events, config, now, unread=unread)
    who = _known_person(config, person) if person else None
    if who is not None:
        _check_person(analysis, who)
    found = suggestions(analysis, events, config, now, people=(who,) if who else (),
                        calendars=sources)
    try:
        with Store.open(paths.state_dir()) as store:
            remember(store, found, now)
            store.commit()
    except StateError:
        pass  # the service holds the state: status shows its own, slightly older, slots
    if as_json:
        click.echo(json.dumps({"now": now.isoformat(), "suggestions": to_json(found, now)},
                              indent=2, ensure_ascii=False))
    else:
        _print(found, now)
    for report in reports:
        if not report.ok:
            click.echo(f"source {report.name!r} was not read ({report.error}): its meetings "
                       "could not count as busy", err=True)


def _print(found: list[Any], now: datetime) -> None:
    from daemon.service.suggest import seen_line

    if not found:
        click.echo("No 1:1 needs a make-up slot.")
        return
    for item in found:
        head = f"{item.name} ({item.minutes} min)"
        if item.reason:
            head += f": {item.reason}"
        click.echo(head)
        if not item.slots:
            click.echo("  no free slot in the next working days")
        for number, slot in enumerate(item.slots, 1):
            local = slot.start.astimezone(now.tzinfo)
            mark = "  (the usual day)" if slot.usual_day else ""
            click.echo(f"  {number}. {local:%a %d %b %H:%M}–"
                       f"{slot.end.astimezone(now.tzinfo):%H:%M}{mark}")
        if item.their_zone:
            click.echo(f"  within their hours in {item.their_zone}")
        if line := seen_line(item.their_calendar):
            click.echo(f"  {line}")
