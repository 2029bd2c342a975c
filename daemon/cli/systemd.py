"""``cadenced service install|uninstall``: run ``cadenced run`` as a systemd user service.

The unit is the packaged template ``daemon/systemd/cadenced.service`` (the same file as
``systemd/cadenced.service`` at the top of the repository) with its ``ExecStart=`` line
filled in for this installation. It is written to
``$XDG_CONFIG_HOME/systemd/user/cadenced.service`` and handed to the user's service
manager with ``systemctl --user``. Every ``systemctl`` call goes through
:func:`run_systemctl`, so a failure becomes one message with the exact commands to run
by hand.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import click

from daemon.cli.commands import group, handle_errors
from daemon.core.errors import CadencedError
from daemon.state import paths

UNIT_NAME = "cadenced.service"
PLACEHOLDER_LINE = "ExecStart=@EXEC_START@"
UNIT_MODE = 0o644
# `enable --now` waits until the service reports READY=1 or fails; systemd gives up on
# a start after TimeoutStartSec (90 s by default), so wait a little longer than that.
SYSTEMCTL_TIMEOUT = 120.0

INSTALL_STEPS: tuple[list[str], ...] = (
    ["--user", "daemon-reload"],
    ["--user", "enable", "--now", UNIT_NAME],
)
RESTART_STEP = ["--user", "try-restart", UNIT_NAME]
DISABLE_STEP = ["--user", "disable", "--now", UNIT_NAME]
RELOAD_STEP = ["--user", "daemon-reload"]

LINGER_HINT = (
    "The service runs while you are logged in. To keep it running after you log out,\n"
    "and to start it at boot, let your user manager linger:\n"
    "    loginctl enable-linger $USER\n"
    "Status and logs: systemctl --user status cadenced.service; "
    "journalctl --user -u cadenced.service"
)
# PrivateTmp=yes gives the service its own empty /tmp and /var/tmp.
_PRIVATE_TMP = (Path("/tmp"), Path("/var/tmp"))  # noqa: S108
_NEEDS_QUOTES = re.compile(r'[\s"\'\\;]')



class SystemctlFailed(Exception):
    """``systemctl`` is missing, failed or timed out; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def run_systemctl(args: list[str]) -> None:
    """Run ``systemctl ARGS`` (ARGS starts with ``--user``); raise :class:`SystemctlFailed`."""
    exe = shutil.which("systemctl")
    if exe is None:
        raise SystemctlFailed("systemctl was not found on PATH")
    import subprocess  # only when systemctl runs

    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [exe, *args], capture_output=True, text=True, timeout=SYSTEMCTL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SystemctlFailed(f"`{_command(args)}` did not finish within "
                              f"{SYSTEMCTL_TIMEOUT:.0f} s") from None
    except OSError as exc:
        raise SystemctlFailed(f"cannot run systemctl: {exc.strerror or exc}") from None
    if done.returncode != 0:
        output = " ".join((done.stderr or done.stdout).split())
        if len(output) > 300:
            output = output[:299] + "…"
        detail = f": {output}" if output else ""
        raise SystemctlFailed(f"`{_command(args)}` failed (exit status {done.returncode})"
                              f"{detail}")


def _command(args: Sequence[str]) -> str:
    return shlex.join(["systemctl", *args])


# -- the unit ---------------------------------------------------------------------------


def unit_path(env: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_CONFIG_HOME/systemd/user/cadenced.service`` (default under ``~/.config``)."""
    config_home = paths.config_file(env).parents[1]
    return config_home / "systemd" / "user" / UNIT_NAME


def template() -> str:
    """The packaged unit template, with its ``ExecStart=@EXEC_START@`` line."""
    return (resources.files("daemon") / "systemd" / UNIT_NAME).read_text(encoding="utf-8")


def exec_argv(config_path: str | None) -> list[str]:
    """The command the service runs: this installation's ``cadenced``, then ``run``.

    The console script next to this interpreter if there is one, else
    ``python -m daemon``. A global ``--config`` goes before ``run``, as an absolute path.
    """
    if not sys.executable:
        raise CadencedError("cannot tell which Python runs cadenced",
                            hint="run `cadenced service install` from the installed command")
    python = Path(os.path.abspath(sys.executable))  # not resolved: keep the venv's bin/
    script = python.parent / "cadenced"
    if script.is_file() and os.access(script, os.X_OK):
        argv = [str(script)]
    else:
        argv = [str(python), "-m", "daemon"]
    if config_path:
        argv += ["--config", os.path.abspath(os.path.expanduser(config_path))]
    argv.append("run")
    return argv


def systemd_quote(arg: str) -> str:
    """One word of an ``ExecStart=`` line, read back by systemd as exactly ``arg``."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in arg):
        raise CadencedError(f"{arg!r} contains a control character and cannot be "
                            "written into a systemd unit")
    # %-specifiers and $VARIABLE expansion are systemd's, not ours.
    word = arg.replace("%", "%%").replace("$", "$$")
    if word and not _NEEDS_QUOTES.search(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(argv: Sequence[str]) -> str:
    """The unit for this installation: the template with ``ExecStart=`` filled in."""
    lines = template().splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.rstrip("\n") == PLACEHOLDER_LINE]
    if len(hits) != 1:
        raise CadencedError(f"the packaged {UNIT_NAME} template has no single "
                            f"{PLACEHOLDER_LINE!r} line", hint="reinstall cadenced")
    lines[hits[0]] = "ExecStart=" + " ".join(systemd_quote(a) for a in argv) + "\n"
    header = ("# Written by `cadenced service install`; a new install overwrites it.\n"
              "# Local changes belong in a drop-in: systemctl --user edit cadenced.service\n")
    return header + "".join(lines)


def _private_tmp_warnings(argv: Sequence[str]) -> list[str]:
    warnings = []
    for arg in argv:
        hidden = next((tmp for tmp in _PRIVATE_TMP
                       if os.path.isabs(arg) and Path(arg).is_relative_to(tmp)), None)
        if hidden is not None:
            warnings.append(f"{arg} is under {hidden}, which the service cannot see (it gets "
                            "an empty one of its own: PrivateTmp=yes), so it would fail to "
                            "start; keep cadenced and its config elsewhere "
                            "(e.g. `pipx install .`)")
    return warnings


def _manual(steps: Sequence[Sequence[str]]) -> str:
    commands = "\n".join(f"    {_command(step)}" for step in steps)
    return ("finish by hand, in a login session of your own user (not under sudo or su):\n"
            + commands)


def _run_steps(steps: Sequence[list[str]], *, done_so_far: str,
               after: Sequence[Sequence[str]] = ()) -> None:
    """Run the ``systemctl`` steps in order; on a failure list what is left to do."""
    for index, step in enumerate(steps):
        try:
            run_systemctl(step)
        except SystemctlFailed as exc:
            left = [*steps[index:], *after]
            hint = _manual(left)
            if "enable" in step or "try-restart" in step:
                hint += ("\n  then see why it did not start: "
                         "systemctl --user status cadenced.service; "
                         "journalctl --user -u cadenced.service")
            raise CadencedError(f"{done_so_far}, but {exc.reason}", hint=hint) from None


# -- commands ---------------------------------------------------------------------------


def _config_path(ctx: click.Context) -> str | None:
    """``--config`` as given (before or after the subcommand), or None."""
    obj = ctx.find_root().obj
    return obj.get("config_path") if isinstance(obj, dict) else None


@group()
def service() -> None:
    """Run cadenced in the background as a systemd user service."""


@service.command()
@click.option("--print", "print_only", is_flag=True,
              help="Print the unit and the commands; write and run nothing.")
@click.pass_context
@handle_errors
def install(ctx: click.Context, print_only: bool) -> None:
    """Install, enable and start cadenced.service for your user.

    Writes ~/.config/systemd/user/cadenced.service (under $XDG_CONFIG_HOME if set)
    with this installation's command and the global --config if given, then runs
    `systemctl --user daemon-reload` and `systemctl --user enable --now cadenced.service`.
    """
    config_path = _config_path(ctx)
    argv = exec_argv(config_path)
    unit = render(argv)
    target = unit_path()
    for warning in _private_tmp_warnings(argv):
        click.echo(f"cadenced: warning: {warning}", err=True)
    config_file = Path(argv[argv.index("--config") + 1]) if config_path else paths.config_file()
    if not config_file.is_file():
        click.echo(f"cadenced: note: {config_file} does not exist yet; the service reads it "
                   "at start (copy config.example.toml there)", err=True)

    if print_only:
        steps = "\n".join(f"#     {_command(step)}" for step in INSTALL_STEPS)
        click.echo(f"# To be written to {target}, then:\n{steps}\n"
                   "#     loginctl enable-linger $USER   "
                   "(optional: run without a login session, start at boot)\n")
        click.echo(unit, nl=False)
        return

    from daemon.state.files import atomic_write

    previous = target.read_text(encoding="utf-8") if target.is_file() else None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, unit.encode(), UNIT_MODE)
    except OSError as exc:
        raise CadencedError(f"cannot write {target}: {exc.strerror or exc}") from None
    # A running service keeps its old definition until restarted; restart it only if
    # the unit changed (try-restart leaves a stopped service stopped).
    steps = [INSTALL_STEPS[0]]
    if previous is not None and previous != unit:
        steps.append(RESTART_STEP)
    steps.append(INSTALL_STEPS[1])
    _run_steps(steps, done_so_far=f"{target} is written")
    click.echo(f"Installed and started {UNIT_NAME} ({target}).")
    click.echo(LINGER_HINT)


@service.command()
@click.option("--print", "print_only", is_flag=True,
              help="Print the commands; change nothing.")
@handle_errors
def uninstall(print_only: bool) -> None:
    """Stop and disable cadenced.service and remove its unit file."""
    target = unit_path()
    if print_only:
        click.echo("\n".join([_command(DISABLE_STEP), shlex.join(["rm", str(target)]),
                              _command(RELOAD_STEP)]))
        return
    if not target.is_file():
        click.echo(f"{UNIT_NAME} is not installed (there is no {target}); nothing to do.")
        return
    remove = ["rm", str(target)]
    try:
        run_systemctl(DISABLE_STEP)
    except SystemctlFailed as exc:
        hint = ("finish by hand, in a login session of your own user:\n"
                f"    {_command(DISABLE_STEP)}\n    {shlex.join(remove)}\n"
                f"    {_command(RELOAD_STEP)}")
        raise CadencedError(f"nothing was changed: {exc.reason}", hint=hint) from None
    try:
        target.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise CadencedError(f"{UNIT_NAME} is stopped and disabled, but {target} cannot be "
                            f"removed: {exc.strerror or exc}") from None
    _run_steps([RELOAD_STEP], done_so_far=f"{UNIT_NAME} is stopped, disabled and removed")
    click.echo(f"Stopped and disabled {UNIT_NAME}; removed {target}.")
