"""``cadenced run`` (the service) and ``cadenced serve`` (its agenda server alone)."""

from __future__ import annotations

import sys

import click

from daemon.cli.commands import Command, config_path, handle_errors
from daemon.core.errors import ConfigError
from daemon.state import paths


@click.command(cls=Command)
@click.pass_context
@handle_errors
def run(ctx: click.Context) -> None:
    """Run as a service: sync on a schedule, talk to systemd (sd_notify)."""
    from daemon.service.runner import serve

    path = config_path(ctx)
    sys.exit(serve(path, paths.state_dir(), paths.runtime_dir(), paths.data_dir()))


@click.command(cls=Command)
@click.pass_context
@handle_errors
def serve(ctx: click.Context) -> None:
    """Serve the agendas and the overlay calendar feed (see [server])."""
    from daemon.config import load_config
    from daemon.service.runner import serve as run_service

    path = config_path(ctx)
    config = load_config(path).config
    if not config.server.enabled:
        raise ConfigError("the server is off", hint="set enabled = true under [server]; "
                          "`cadenced run` then serves too")
    sys.exit(run_service(path, paths.state_dir(), paths.runtime_dir(), paths.data_dir()))
