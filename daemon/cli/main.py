"""The ``cadenced`` command line.

Loads and validates the config once, reads the clock once (or takes ``--now``),
and turns every :class:`~daemon.core.errors.CadencedError` into a one-line message in
one place (:func:`daemon.cli.commands.handle_errors`). Tracebacks only with ``--verbose``.

Each command imports what it needs when it runs, so ``cadenced --help`` and a
scan of one ICS file do not load the Google client, the scheduler or the report.
"""

from __future__ import annotations

import click

from daemon.cli.agenda import agenda
from daemon.cli.auth import auth
from daemon.cli.book import book
from daemon.cli.commands import group, handle_errors, load
from daemon.cli.common import json_option, now_option, scan_and_print
from daemon.cli.report import report
from daemon.cli.run import run, serve
from daemon.cli.status import status
from daemon.cli.suggest import suggest
from daemon.cli.sync import sync
from daemon.cli.systemd import service

DEMO_NOW = "2026-11-20T09:00:00+01:00"


@group()
@click.version_option(package_name="cadenced")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Keep your one-on-ones healthy."""
    from daemon.service.logs import setup_logging

    ctx.ensure_object(dict)
    setup_logging(verbose=bool(ctx.obj.get("verbose")))


@main.command()
@now_option
@json_option
@click.pass_context
@handle_errors
def scan(ctx: click.Context, now_text: str | None, as_json: bool) -> None:
    """Read the calendars once and show where the 1:1 habit erodes.

    Exit status: 0 all sources read, 3 some failed (output still printed),
    2 configuration error.
    """
    scan_and_print(load(ctx), now_text, as_json)


@main.command(global_opts=("verbose",))
@click.option("--now", "now_text", metavar="ISO-8601", default=DEMO_NOW, show_default=True,
              help="The moment the demo is seen from.")
@json_option
@handle_errors
def demo(now_text: str, as_json: bool) -> None:
    """Run on a bundled demo calendar: no account, no config needed."""
    from importlib import resources

    from daemon.config import load_config

    with resources.as_file(resources.files("daemon") / "demo") as folder:
        loaded = load_config(folder / "config.toml")
        scan_and_print(loaded, now_text, as_json)


for command in (sync, status, run, agenda, serve, report, suggest, book, service, auth):
    main.add_command(command)
