"""``cadenced agenda``: prepare the agendas due now, or show them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from daemon.cli.commands import Command, handle_errors, load
from daemon.cli.common import (
    now_option,
    parse_now,
    say_failed,
    where,
)
from daemon.core.errors import InputError
from daemon.state import paths

if TYPE_CHECKING:
    from daemon.config import Config


@click.command(cls=Command)
@now_option
@click.option("--person", metavar="EMAIL", help="Only this person's agenda.")
@click.option("--print", "show", is_flag=True,
              help="Show the documents as they would be; write nothing.")
@click.pass_context
@handle_errors
def agenda(ctx: click.Context, now_text: str | None, person: str | None, show: bool) -> None:
    """Prepare the agendas of the 1:1s due now (or show them).

    Before each 1:1 (agenda.lead_hours ahead) its section is added to the
    person's living document: carried-over action items, queued topics, prompts.
    """
    from connectors.registry import build_agenda_store, build_sources
    from daemon.service.agendas import next_due, prepare
    from daemon.service.invites import invite_step
    from daemon.service.scan import scan as run_scan
    from daemon.service.sync import Syncer
    from daemon.state.store import Store

    config = load(ctx).config
    now = parse_now(now_text, config.owner.tz)
    who = _known_person(config, person) if person else None
    if show:
        with Store.open_read_only(paths.state_dir()) as reader:
            sources = build_sources(config)
            store = build_agenda_store(config, sources, paths.data_dir())
            analysis = run_scan(config, sources, now).analysis
            _check_person(analysis, who)
            shown = 0
            for prepared in prepare(analysis, config, store, reader, now, person=who,
                                    write=False):
                if prepared.text is not None and (who or prepared.added or prepared.updated):
                    click.echo(f"==> {where(store, prepared.person)}")
                    click.echo(prepared.text)
                    shown += 1
        if not shown:
            click.echo(_nothing_due(config, next_due(analysis, config, now, person=who), now),
                       err=True)
        return
    with Store.open(paths.state_dir()) as state:
        done: list[Any] = []
        syncer = Syncer(config, state)
        store = build_agenda_store(config, syncer.sources, paths.data_dir())
        seen: list[Any] = []

        def step(analysis: Any, moment: datetime) -> None:
            seen.append(analysis)
            done.extend(prepare(analysis, config, store, state, moment, person=who))

        # The person's agenda even if [agenda] is off; then its link in the invites.
        invites = invite_step(config, syncer.sources, store, state=state)
        result = syncer.sync(now, steps=[step, *invites])
    say_failed(result.scan)
    if seen:
        _check_person(seen[0], who)
    changed = [p for p in done if p.added or p.updated]
    for prepared in changed:
        click.echo(f"{where(store, prepared.person)}: {len(prepared.added)} section(s) added, "
                   f"{len(prepared.updated)} updated")
    if not changed:
        click.echo(_nothing_due(config, next_due(result.scan.analysis, config, now, person=who),
                                now), err=True)


def _known_person(config: Config, person: str) -> str:
    """The primary address of ``person`` (an address or alias in [[people]]), lowercase."""
    email = person.strip().lower()
    for entry in config.people:
        if email == entry.email or email in entry.alias_emails:
            return entry.email
    return email


def _check_person(analysis: Any, who: str | None) -> None:
    if who is not None and who not in {r.person for r in analysis.relationships}:
        raise _unknown_person(who, analysis)


def _unknown_person(person: str, analysis: Any) -> InputError:
    known = ", ".join(r.person for r in analysis.relationships) or "nobody yet"
    return InputError(f"no 1:1 relationship with {person}",
                      hint=f"cadenced knows: {known}")


def _nothing_due(config: Config, upcoming: Any, now: datetime) -> str:
    lead = config.agenda.lead_hours
    text = f"nothing due: no 1:1 in the next {lead:g} hours is without its section"
    if upcoming is None:
        return text + "; no 1:1 is booked after that"
    occ, name = upcoming
    local = occ.start.astimezone(now.tzinfo)
    from datetime import timedelta

    opens = (occ.start - timedelta(hours=lead)).astimezone(now.tzinfo)
    return (text + f"; the next is with {name} on {local:%a %d %b %H:%M}, its section is "
            f"added from {opens:%a %d %b %H:%M}")
