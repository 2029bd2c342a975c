"""``cadenced sync``: one cycle against the state, or a dry run that writes nothing."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from daemon.cli.commands import Command, handle_errors, load
from daemon.cli.common import (
    EXIT_SOURCES_FAILED,
    json_option,
    now_option,
    parse_now,
    print_result,
    where,
)
from daemon.state import paths

if TYPE_CHECKING:
    from daemon.config import Config


@click.command(cls=Command)
@now_option
@json_option
@click.option("--dry-run", is_flag=True,
              help="Show what would change (agendas, invites); write nothing.")
@click.pass_context
@handle_errors
def sync(ctx: click.Context, now_text: str | None, as_json: bool, dry_run: bool) -> None:
    """Run one sync cycle against the state, then exit.

    What the service runs on its schedule. Keeps what history shows (moved
    one-offs, cadence edits, vanished 1:1s), the last good copy of each source,
    and when each finding was first seen; prepares the agendas due and links them
    from the invites you organize (Google).
    Exit status as for `scan`.
    """
    from connectors.registry import build_agenda_store
    from daemon.service.invites import agenda_steps
    from daemon.service.sync import Syncer
    from daemon.state.store import Store

    config = load(ctx).config
    now = parse_now(now_text, config.owner.tz)
    if dry_run:
        _dry_run(config, now, as_json)
        return
    with Store.open(paths.state_dir()) as store:
        syncer = Syncer(config, store)
        agendas = build_agenda_store(config, syncer.sources, paths.data_dir())
        result = syncer.sync(now, steps=agenda_steps(config, agendas, store, syncer.sources))
    print_result(result.scan, as_json, result.first_seen)


def _dry_run(config: Config, now: datetime, as_json: bool) -> None:
    """`sync --dry-run`: the cycle on a read-only view of the state; nothing written."""
    from connectors.registry import build_agenda_store
    from daemon.core.agenda.doc import parse
    from daemon.service.agendas import prepare
    from daemon.service.invites import invite_step
    from daemon.service.sync import Syncer
    from daemon.state.store import Store

    prepared: list[Any] = []
    patches: list[Any] = []
    with Store.open_read_only(paths.state_dir()) as store:
        syncer = Syncer(config, store, read_only=True)
        agendas = build_agenda_store(config, syncer.sources, paths.data_dir())

        def preview(analysis: Any, moment: datetime) -> None:
            prepared.extend(prepare(analysis, config, agendas, store, moment, write=False))

        steps = [preview] if config.agenda.enabled else []
        steps += invite_step(config, syncer.sources, agendas, dry_run=True, collected=patches)
        result = syncer.sync(now, steps=steps, commit=False)
    print_result(result.scan, as_json, result.first_seen, exit_on_failure=False)
    out = click.echo if not as_json else (lambda text: click.echo(text, err=True))
    tz = config.owner.tz
    for done in prepared:
        if not (done.added or done.updated):
            continue
        out(f"would update the agenda of {done.person} ({where(agendas, done.person)}): "
            f"{len(done.added)} section(s) added, {len(done.updated)} updated")
        doc = parse(done.text or "", tz=tz)
        for key in done.added:
            section = doc.section(key)
            if section is not None:
                body = done.text[section.start:section.end].rstrip("\n")
                out("\n".join(f"  | {line}" for line in body.split("\n")))
    for patch in patches:
        out(f"would patch {patch.describe()}")
    if not any(p.added or p.updated for p in prepared) and not patches:
        click.echo("dry run: nothing to write", err=True)
    if not result.scan.all_sources_ok:
        sys.exit(EXIT_SOURCES_FAILED)
