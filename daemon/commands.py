"""What every ``cadenced`` command shares: the config loaded once, and the one
place an error becomes the message a user reads.

``daemon.cli`` defines the commands; ``daemon.service`` and ``daemon.auth_cli``
add command groups. All of them use :func:`handle_errors` and :func:`load` from
here, so none has to import ``daemon.cli`` (which imports them).
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from daemon import paths
from daemon.config import LoadedConfig, load_config
from daemon.errors import CadencedError, ConfigError

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("cadenced")


def report_error(error: CadencedError) -> None:
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
            report_error(exc)
            sys.exit(exc.exit_code)
        except Exception:
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                raise
            click.echo("cadenced: internal error (run with --verbose for details; "
                       "please report it)", err=True)
            sys.exit(1)
    return wrapper  # type: ignore[return-value]


def config_path(ctx: click.Context) -> Path:
    """The config file: ``--config``, else the XDG default."""
    obj = ctx.find_root().obj or {}
    return Path(obj.get("config_path") or paths.config_file())


def load(ctx: click.Context) -> LoadedConfig:
    """Load and validate the config of this invocation; warn about unknown keys."""
    loaded = load_config(config_path(ctx))
    for warning in loaded.warnings:
        log.warning("%s: %s", loaded.path, warning)
    return loaded
