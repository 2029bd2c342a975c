"""``cadenced report``: print this week's report, preview its HTML, or send it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from daemon.cli.commands import Command, handle_errors, load, usage_error
from daemon.cli.common import (
    now_option,
    parse_now,
    say_failed,
)
from daemon.core.errors import CadencedError, ConfigError, InputError
from daemon.state import paths


@click.command(cls=Command)
@now_option
@click.option("--preview", "preview", type=click.Path(dir_okay=False), metavar="FILE.html",
              help="Write the report's HTML to this file.")
@click.option("--send", "send", is_flag=True,
              help="Email it now (at most once per ISO week).")
@click.option("--force", is_flag=True, help="With --send: send again this week.")
@click.pass_context
@handle_errors
def report(ctx: click.Context, now_text: str | None, preview: str | None, send: bool,
           force: bool) -> None:
    """The weekly cadence-health report: print it, preview it, or send it.

    Runs one sync first (like the service), so the report is current. Without
    --preview or --send it prints the plain-text version.
    """
    from connectors.registry import build_agenda_store, build_sources
    from daemon.service.invites import agenda_steps
    from daemon.service.report import report_for, send_report, week_key
    from daemon.service.scan import scan as run_scan
    from daemon.service.sync import Syncer
    from daemon.state.store import StateError, Store

    if force and not send:
        raise usage_error("--force only goes with --send (it sends this week's report again)")
    config = load(ctx).config
    now = parse_now(now_text, config.owner.tz)
    if send and config.smtp is None:
        raise ConfigError("there is no [smtp] section to send the report with",
                          hint="add [smtp] (see config.example.toml), or use --preview")
    if preview:
        _check_writable(Path(preview))
    try:
        store = Store.open(paths.state_dir())
    except StateError as exc:
        if send or "another cadenced" not in exc.message:
            raise
        # The service holds the state: show the report from a fresh read, without history.
        with Store.open(paths.state_dir(), lock=False) as reader:
            weekly = report_for(run_scan(config, build_sources(config), now).analysis,
                                config, reader, now)
        _show_report(weekly, preview)
        return
    with store:
        syncer = Syncer(config, store)
        agendas = build_agenda_store(config, syncer.sources, paths.data_dir())
        result = syncer.sync(now, steps=agenda_steps(config, agendas, store, syncer.sources,
                                                         nudges=False))
        say_failed(result.scan)
        weekly = report_for(result.scan.analysis, config, store, now, agendas,
                            syncer.sources)
        if preview or not send:
            _show_report(weekly, preview)
        if send:
            key = week_key(now)
            marker = store.document("reports", key) or {}
            if marker.get("sent_at") and not force:
                click.echo(f"the report for {key} was already sent at {marker['sent_at']} "
                           "(--force sends it again)", err=True)
                return
            sent = send_report(weekly, config, store, now)
            click.echo(f"sent the report for {sent.week}: {weekly.subject}", err=True)


def _check_writable(path: Path) -> None:
    """Refuse a preview file cadenced could not write, before doing any work."""
    folder = path.expanduser().parent
    if not folder.is_dir():
        raise InputError(f"cannot write the preview to {path}: there is no folder {folder}",
                         hint="create the folder first, or name a file in an existing one")


def _show_report(weekly: Any, preview: str | None) -> None:
    from daemon.render.report import render_html, render_text

    if preview:
        target = Path(preview).expanduser()
        try:
            target.write_text(render_html(weekly), encoding="utf-8")
        except OSError as exc:
            raise CadencedError(f"cannot write the preview to {preview}: "
                                f"{exc.strerror or exc}",
                                hint="name a file in a folder you may write to") from None
        click.echo(f"wrote {preview}", err=True)
    else:
        click.echo(render_text(weekly))
