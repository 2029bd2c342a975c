"""The ``cadenced`` command line.

Loads and validates the config once, reads the clock once (or takes ``--now``),
and turns every :class:`~daemon.errors.CadencedError` into a one-line message in
one place (:func:`handle_errors`). Tracebacks only with ``--verbose``.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click
from rich.console import Console

from connectors.registry import build_sources
from daemon import paths
from daemon.config import LoadedConfig, load_config
from daemon.errors import CadencedError, ConfigError
from daemon.output import print_table, to_json
from daemon.scan import scan as run_scan

EXIT_SOURCES_FAILED = 3
DEMO_NOW = "2026-11-20T09:00:00+01:00"

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("cadenced")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )


def report(error: CadencedError) -> None:
    """The one place an error becomes what the user reads."""
    lines = [f"cadenced: {error.message}"]
    if isinstance(error, ConfigError):
        if error.path:
            lines[0] += f" ({error.path})"
        lines += [f"  {key}: {problem}" for key, problem in error.problems]
    if error.hint:
        lines.append(f"  hint: {error.hint}")
    click.echo("\n".join(lines), err=True)


def handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CadencedError as exc:
            report(exc)
            sys.exit(exc.exit_code)
        except Exception:
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                raise
            click.echo("cadenced: internal error (run with --verbose for details; "
                       "please report it)", err=True)
            sys.exit(1)
    return wrapper  # type: ignore[return-value]


def parse_now(value: str | None, tz: ZoneInfo) -> datetime:
    """``--now``: ISO 8601; a value without offset is in the owner's zone.

    The moment is expressed in the owner's zone, so day arithmetic (the
    window, "90 days ago") follows local wall time across DST changes.
    """
    if value is None:
        return datetime.now(tz)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--now {value!r} is not an ISO 8601 date-time",
                          hint="for example --now 2026-11-20T09:00+01:00") from None
    return moment.astimezone(tz) if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _load(ctx: click.Context) -> LoadedConfig:
    path = ctx.obj["config_path"] or paths.config_file()
    loaded = load_config(Path(path))
    for warning in loaded.warnings:
        log.warning("%s: %s", loaded.path, warning)
    return loaded


def _scan_and_print(loaded: LoadedConfig, now_text: str | None, as_json: bool) -> None:
    config = loaded.config
    now = parse_now(now_text, config.owner.tz)
    result = run_scan(config, build_sources(config), now)
    if as_json:
        click.echo(json.dumps(to_json(result), indent=2, ensure_ascii=False))
    else:
        print_table(result, Console())
    if not result.all_sources_ok:
        sys.exit(EXIT_SOURCES_FAILED)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Config file (default: $XDG_CONFIG_HOME/cadenced/config.toml).")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging and tracebacks.")
@click.version_option(package_name="cadenced")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Keep your one-on-ones healthy."""
    _setup_logging(verbose)
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path


_now_option = click.option(
    "--now", "now_text", metavar="ISO-8601",
    help="Pretend it is this moment (reproducible runs). Default: the clock.")
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@main.command()
@_now_option
@_json_option
@click.pass_context
@handle_errors
def scan(ctx: click.Context, now_text: str | None, as_json: bool) -> None:
    """Read the calendars once and show where the 1:1 habit erodes.

    Exit status: 0 all sources read, 3 some failed (output still printed),
    2 configuration error.
    """
    _scan_and_print(_load(ctx), now_text, as_json)


@main.command()
@click.option("--now", "now_text", metavar="ISO-8601", default=DEMO_NOW, show_default=True,
              help="The moment the demo is seen from.")
@_json_option
@handle_errors
def demo(now_text: str, as_json: bool) -> None:
    """Run on a bundled demo calendar: no account, no config needed."""
    with resources.as_file(resources.files("daemon") / "demo") as folder:
        loaded = load_config(folder / "config.toml")
        _scan_and_print(loaded, now_text, as_json)
