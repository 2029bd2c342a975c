"""Where cadenced keeps its files (XDG base directories).

Only the CLI and the service call these, with the process environment; nothing
deeper reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

RUNTIME_FILE = "runtime.json"  # what the running service publishes, in runtime_dir()


def _base(env: Mapping[str, str], var: str, fallback: str) -> Path:
    value = env.get(var, "")
    # The XDG spec says relative paths are invalid and must be ignored.
    if value and Path(value).is_absolute():
        return Path(value)
    return Path(env.get("HOME") or Path.home()) / fallback


def config_file(env: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_CONFIG_HOME/cadenced/config.toml`` (default ``~/.config/...``)."""
    return _base(env, "XDG_CONFIG_HOME", ".config") / "cadenced" / "config.toml"


def state_dir(env: Mapping[str, str] = os.environ) -> Path:
    """``$STATE_DIRECTORY`` under systemd, else ``$XDG_STATE_HOME/cadenced``.

    systemd before version 254 puts a *user* unit's ``StateDirectory=`` under
    ``$XDG_CONFIG_HOME``. When the service keeps its state there and nothing is
    at the XDG place, commands run by hand use the service's state.
    """
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    xdg = _base(env, "XDG_STATE_HOME", ".local/state") / "cadenced"
    legacy = _base(env, "XDG_CONFIG_HOME", ".config") / "cadenced"
    if not (xdg / "state.json").exists() and (legacy / "state.json").exists():
        return legacy
    return xdg


def data_dir(env: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_DATA_HOME/cadenced`` (default ``~/.local/share/cadenced``)."""
    return _base(env, "XDG_DATA_HOME", ".local/share") / "cadenced"


def runtime_dir(env: Mapping[str, str] = os.environ) -> Path:
    """``$RUNTIME_DIRECTORY`` or ``$XDG_RUNTIME_DIR/cadenced``; else in the state directory.

    Holds what only the running service knows (next job times), for `status`.
    """
    if env.get("RUNTIME_DIRECTORY"):
        return Path(env["RUNTIME_DIRECTORY"].split(":")[0])
    value = env.get("XDG_RUNTIME_DIR", "")
    if value and Path(value).is_absolute():
        return Path(value) / "cadenced"
    return state_dir(env) / "run"
