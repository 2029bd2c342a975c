"""``cadenced status``: the people, the sources and the service, from the state.

Reads the state without locking it (the service may hold it) and the runtime file
the running service publishes. Only the sources of the current configuration are
listed; what the state keeps of a removed source stays there, unlisted.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from daemon.cli.commands import Command, config_path, handle_errors, load
from daemon.cli.common import json_option
from daemon.core.errors import CadencedError, ConfigError
from daemon.state import paths


def show_status(ctx: click.Context, as_json: bool) -> None:
    from daemon.state.store import STATE_FILE, Store

    state_dir = paths.state_dir()
    has_state = (state_dir / STATE_FILE).exists()
    if not has_state and not as_json:
        raise CadencedError(f"no state yet in {state_dir}",
                            hint="run `cadenced sync` once, or start the service")
    try:
        config: Any = load(ctx).config
    except ConfigError:
        config = None  # the state is readable without a config: show all it has
    runtime = _runtime(paths.runtime_dir())
    if not has_state:
        click.echo(json.dumps(_without_state(ctx, config, state_dir, runtime), indent=2,
                              ensure_ascii=False))
        return
    with Store.open(state_dir, lock=False) as store:
        document: dict[str, Any] = {
            "config": str(config_path(ctx)) if config is not None else None,
            "state": str(state_dir),
            "people": sorted(store.documents("people"), key=lambda d: d["name"].lower()),
            "sources": [vars(s) for s in store.sources()],
            "findings": len(store.documents("findings")),
            "recovered": _recent(store.recovered),
        }
        slots = _fresh_slots(store.document("meta", "suggestions"))
        for person in document["people"]:
            person["make_up"] = slots.get(person["person"])
    if config is not None:
        configured = [s.name for s in config.sources]
        kept = {s["name"]: s for s in document["sources"]}
        document["sources"] = [kept.get(name) or _never_read(name) for name in configured]
    document["service"] = runtime
    for source in document["sources"]:  # the running service knows the latest success
        live = (runtime or {}).get("last_success", {}).get(source["name"])
        if live and (source["last_success"] is None or live > source["last_success"]):
            source["last_success"] = live
    if as_json:
        for person in document["people"]:
            person.pop("key", None)
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    from rich.console import Console

    from daemon.cli.output import print_status

    print_status(document, Console(), config.owner.tz if config is not None else None)


RECOVERY_SHOWN = timedelta(days=14)
SLOTS_SHOWN = timedelta(days=1)


def _fresh_slots(found: dict[str, Any] | None) -> dict[str, str]:
    """The first make-up slot per person found by the last `suggest` or report, while
    it is fresh (a day) and still ahead."""
    if not found or not found.get("at"):
        return {}
    now = datetime.now(UTC)
    if now - datetime.fromisoformat(found["at"]) > SLOTS_SHOWN:
        return {}
    return {person: start for person, start in (found.get("first") or {}).items()
            if datetime.fromisoformat(start) > now}


def _recent(recovered: dict[str, Any] | None) -> dict[str, Any] | None:
    """The state's last fall-back to its previous generation, while it is news (two
    weeks from when the corrupt file was written; always when that is unknown)."""
    if not recovered:
        return None
    at = recovered.get("at")
    if at and datetime.now(UTC) - datetime.fromisoformat(at) > RECOVERY_SHOWN:
        return None
    return {"message": recovered["message"], "at": at}


def _never_read(name: str) -> dict[str, Any]:
    """A configured source the state knows nothing of yet."""
    from dataclasses import asdict

    from daemon.state.store import SourceState

    return {**asdict(SourceState(name=name)), "never_read": True}


def _without_state(ctx: click.Context, config: Any, state_dir: Path,
                   runtime: dict[str, Any] | None) -> dict[str, Any]:
    """`status --json` before the first sync: what is configured, and no state."""
    return {
        "config": str(config_path(ctx)) if config is not None else None,
        "state": None,
        "state_dir": str(state_dir),
        "people": [],
        "sources": [_never_read(s.name) for s in (config.sources if config else ())],
        "findings": 0,
        "recovered": None,
        "service": runtime,
        "hint": "no state yet: run `cadenced sync` once, or start the service",
    }


def _runtime(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / paths.RUNTIME_FILE).read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(int(data["pid"]), 0)
    except (ProcessLookupError, KeyError, ValueError, TypeError):
        return None  # left behind by a service that is gone
    except PermissionError:
        pass
    return data


@click.command(cls=Command)
@json_option
@click.pass_context
@handle_errors
def status(ctx: click.Context, as_json: bool) -> None:
    """People at a glance, the sources, and the service's next jobs."""
    show_status(ctx, as_json)
