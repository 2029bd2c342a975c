"""What every ``cadenced`` command shares: the command classes, the global options,
the config loaded once, and the one place an error becomes the message a user reads.

``daemon.cli.main`` defines the commands; ``daemon.cli.systemd`` and ``daemon.cli.auth``
add command groups. All of them are made with :class:`Group` and :class:`Command`
and use :func:`handle_errors` and :func:`load` from here, so none has to import
``daemon.cli.main`` (which imports them).

The global options (``--config FILE``, ``-v/--verbose``) are defined once, in
:func:`global_options`, and every command and group carries them: they work before
or after the subcommand (``cadenced --config F scan`` and ``cadenced scan --config F``)
and each ``--help`` lists them.

This module is imported for every command, ``--help`` included, so it imports
nothing heavy at the top: the config models load when a command loads the config.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from daemon.core.errors import CadencedError, ConfigError
from daemon.state import paths

if TYPE_CHECKING:
    from daemon.config import LoadedConfig

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("cadenced")

EXIT_USAGE = 64  # a command line cadenced cannot read (sysexits' EX_USAGE)
CONTEXT = {"help_option_names": ["-h", "--help"]}


def report_error(error: CadencedError) -> None:
    """The one place an error becomes what the user reads."""
    message = error.message
    if isinstance(error, ConfigError) and error.path and error.path not in message:
        message = f"{error.path}: {message}"
    lines = [f"cadenced: {message}"]
    if isinstance(error, ConfigError):
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
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click shows these itself
        except Exception:
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                raise
            click.echo("cadenced: internal error (run with --verbose for details; "
                       "please report it)", err=True)
            sys.exit(1)
    return wrapper  # type: ignore[return-value]


# --- the global options ------------------------------------------------------------


def _root_obj(ctx: click.Context) -> dict[str, Any]:
    root = ctx.find_root()
    root.ensure_object(dict)
    return root.obj  # type: ignore[no-any-return]


def _remember_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        _root_obj(ctx)["config_path"] = value


def _remember_verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    obj = _root_obj(ctx)
    if value and not obj.get("verbose"):
        obj["verbose"] = True
        from daemon.service.logs import setup_logging

        setup_logging(verbose=True)


def global_options() -> list[click.Option]:
    """``--config FILE`` and ``-v/--verbose``: new objects for each command that takes
    them (click keeps options per command), from this one definition."""
    return [
        click.Option(["--config", "config"], type=click.Path(dir_okay=False), metavar="FILE",
                     expose_value=False, is_eager=True, callback=_remember_config,
                     help="Config file (default: $XDG_CONFIG_HOME/cadenced/config.toml)."),
        click.Option(["-v", "--verbose", "verbose"], is_flag=True, expose_value=False,
                     is_eager=True, callback=_remember_verbose,
                     help="Debug logging and tracebacks."),
    ]


def usage_error(message: str, ctx: click.Context | None = None) -> click.UsageError:
    """A usage error raised from inside a command, with cadenced's exit status."""
    error = click.UsageError(message, ctx=ctx)
    error.exit_code = EXIT_USAGE
    return error


def _usage(func: Callable[..., Any]) -> Callable[..., Any]:
    """Re-raise click's usage errors with cadenced's own exit status."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.UsageError as exc:
            exc.exit_code = EXIT_USAGE
            raise
    return wrapper


def _summary(command: click.Command) -> str:
    """The first line of a command's help, whole (click would cut it at the width)."""
    if command.short_help:
        return command.short_help
    return (command.help or "").strip().split("\n", 1)[0].strip()


class Command(click.Command):
    """A cadenced command: the global options, usage errors exit with EXIT_USAGE."""

    def __init__(self, *args: Any, global_opts: tuple[str, ...] = ("config", "verbose"),
                 **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", CONTEXT)
        super().__init__(*args, **kwargs)
        self.params.extend(o for o in global_options() if o.name in global_opts)

    parse_args = _usage(click.Command.parse_args)

    def get_short_help_str(self, limit: int = 45) -> str:
        return _summary(self)


class Group(click.Group):
    """A command group made like :class:`Command`; its commands and subgroups too."""

    command_class = Command
    group_class = type  # subgroups are Groups

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", CONTEXT)
        super().__init__(*args, **kwargs)
        self.params.extend(global_options())

    parse_args = _usage(click.Group.parse_args)
    resolve_command = _usage(click.Group.resolve_command)

    def get_short_help_str(self, limit: int = 45) -> str:
        return _summary(self)


def group(**kwargs: Any) -> Callable[[Callable[..., Any]], Group]:
    """``@click.group`` making a :class:`Group`."""
    return click.group(cls=Group, **kwargs)


# --- the config ------------------------------------------------------------------


def config_path(ctx: click.Context) -> Path:
    """The config file: ``--config`` (before or after the subcommand), else the XDG default."""
    obj = ctx.find_root().obj or {}
    return Path(obj.get("config_path") or paths.config_file())


def load(ctx: click.Context) -> LoadedConfig:
    """Load and validate the config of this invocation; warn about unknown keys."""
    from daemon.config import load_config

    loaded = load_config(config_path(ctx))
    for warning in loaded.warnings:
        log.warning("%s: %s", loaded.path, warning)
    return loaded
