"""What the commands share beyond the command classes: ``--now`` and ``--json``, the
exit status of a failed source, and how a scan's result is printed."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from daemon.core.errors import ConfigError

if TYPE_CHECKING:
    from daemon.config import LoadedConfig
    from daemon.service.scan import ScanResult

EXIT_SOURCES_FAILED = 3

now_option = click.option(
    "--now", "now_text", metavar="ISO-8601",
    help="Pretend it is this moment (reproducible runs). Default: the clock.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


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


def print_result(result: ScanResult, as_json: bool,
                  first_seen: dict[str, str] | None = None, *,
                  exit_on_failure: bool = True) -> None:
    from daemon.cli.output import print_table, to_json

    if as_json:
        click.echo(json.dumps(to_json(result, first_seen), indent=2, ensure_ascii=False))
        say_failed(result)
    else:
        from rich.console import Console

        print_table(result, Console())
    if exit_on_failure and not result.all_sources_ok:
        sys.exit(EXIT_SOURCES_FAILED)


def say_failed(result: ScanResult) -> None:
    """One line on stderr per source that could not be read (the table has its own)."""
    for source in result.sources:
        if not source.ok:
            hint = f" ({source.hint})" if source.hint else ""
            click.echo(f"source {source.name!r} failed: {source.error}{hint}", err=True)


def scan_and_print(loaded: LoadedConfig, now_text: str | None, as_json: bool) -> None:
    from connectors.registry import build_sources
    from daemon.service.scan import scan as run_scan

    config = loaded.config
    now = parse_now(now_text, config.owner.tz)
    print_result(run_scan(config, build_sources(config), now), as_json)


def where(store: Any, person: str) -> str:
    """A document's place for messages: its file, or its address."""
    path = getattr(store, "path", None)
    return str(path(person)) if callable(path) else (store.url(person) or person)
