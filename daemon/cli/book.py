"""``cadenced book``: put a make-up 1:1 in the calendar, at a suggested slot or a time."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click

from daemon.cli.agenda import _check_person, _known_person
from daemon.cli.commands import Command, handle_errors, load, usage_error
from daemon.cli.common import now_option, parse_now
from daemon.core.errors import CadencedError, InputError
from daemon.state import paths


@click.command(cls=Command)
@click.argument("person", metavar="PERSON")
@click.option("--slot", type=click.IntRange(1, 3), help="The Nth slot `suggest` offers "
              "(default 1).")
@click.option("--at", "at_text", metavar="ISO-8601", help="This time instead of a slot.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Show what would be booked; write nothing.")
@click.option("--ics", "ics_file", type=click.Path(dir_okay=False), metavar="FILE.ics",
              help="Write an invitation file (for calendars cadenced cannot write to).")
@now_option
@click.pass_context
@handle_errors
def book(ctx: click.Context, person: str, slot: int | None, at_text: str | None, yes: bool,
         dry_run: bool, ics_file: str | None, now_text: str | None) -> None:
    """Book a make-up 1:1 and invite the person.

    Google sources create the event with the person invited (book_send_updates,
    default all); without a calendar cadenced can write to, it writes an invitation
    file (--ics) or mails the invitation through [smtp] to both of you.
    """
    from connectors.base import AgendaLink, EventBooker
    from connectors.registry import build_agenda_store, build_mailer, build_sources
    from daemon.core.rules import analyze
    from daemon.render.invite import invitation
    from daemon.service.booking import booking_for, invitation_mail
    from daemon.service.scan import read_sources
    from daemon.service.suggest import suggestions

    if slot is not None and at_text is not None:
        raise usage_error("--slot and --at are two ways to say when: give one")
    config = load(ctx).config
    now = parse_now(now_text, config.owner.tz)
    sources = build_sources(config)
    events, _reports = read_sources(sources, config, prefilter=False)
    analysis = analyze(events, config, now)
    who = _known_person(config, person)
    _check_person(analysis, who)
    [found] = suggestions(analysis, events, config, now, people=(who,), calendars=sources)
    if at_text is not None:
        start = parse_now(at_text, config.owner.tz)
        if start <= now:
            raise InputError(f"--at {at_text} is not in the future")
        end = start + timedelta(minutes=found.minutes)
    else:
        if not found.slots:
            raise InputError(f"no free slot for {found.name} in the next working days",
                             hint="give a time with --at, or widen [suggest]")
        index = (slot or 1) - 1
        if index >= len(found.slots):
            raise InputError(f"there are only {len(found.slots)} slot(s) for {found.name}")
        start, end = found.slots[index].start, found.slots[index].end
    agendas = build_agenda_store(config, sources, paths.data_dir())
    agenda = None
    document_id = getattr(agendas, "document_id", None)
    url = agendas.url(who) if agendas is not None else None
    if url and url.startswith("https://"):
        agenda = AgendaLink(url, f"1:1 agenda: {found.name}",
                            document_id=document_id(who) if callable(document_id) else None)
    booking = booking_for(config, who, found.name, start, end, agenda)
    local = start.astimezone(config.owner.tz)
    what = f"a {found.minutes}-minute 1:1 with {found.name} on {local:%a %d %b %H:%M}"
    writers = [s for s in sources if isinstance(s, EventBooker) and s.can_write]
    if not dry_run and not yes:
        if not sys.stdin.isatty():
            raise usage_error(f"book {what}? Not a terminal to ask on: pass --yes")
        click.confirm(f"Book {what}?", abort=True, err=True)
    if writers:
        click.echo(writers[0].book(booking, dry_run=dry_run))
        return
    ics = invitation(booking, stamp=now, organizer_name=config.owner.name or "")
    if ics_file:
        target = Path(ics_file).expanduser()
        if dry_run:
            click.echo(f"would write the invitation for {what} to {target}")
            return
        try:
            target.write_bytes(ics)
        except OSError as exc:
            raise InputError(f"cannot write {target}: {exc.strerror}") from None
        click.echo(f"wrote the invitation for {what} to {target}: import it, or send it to "
                   f"{who}")
        return
    if config.smtp is None:
        raise CadencedError("no source cadenced can write to, and no [smtp] to mail an "
                            "invitation", hint="pass --ics FILE.ics to write one to a file")
    sender = config.smtp.sender or config.owner.email
    if dry_run:
        click.echo(f"would mail the invitation for {what} to {who} and {config.owner.email}")
        return
    reply = build_mailer(config.smtp).send(invitation_mail(config, booking, ics, sender, now))
    click.echo(f"mailed the invitation for {what} to {who} and {config.owner.email} ({reply})")
