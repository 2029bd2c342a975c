"""Private files, written so that a crash leaves the old version or the new one.

The one way cadenced writes anything that must survive: the state, the source caches,
the token files, the local agendas, the unit file. Connectors use it too (their caches
and tokens); it imports nothing of cadenced.

- :func:`atomic_write`: a temp file in the same directory, fsync, ``os.replace``,
  fsync of the directory. With ``keep_previous``, the file being replaced is kept as
  ``<name>.1`` first (a copy; the file itself is never missing), the one
  previous generation the state falls back to when its file is found corrupt.
- :func:`write_private`: :func:`atomic_write` at 0600, making missing folders 0700.
- :func:`tighten`: a file or folder found readable by others is made private again,
  with a warning that names it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

GENERATION_SUFFIX = ".1"


def previous_generation(path: Path) -> Path:
    """Where the generation before ``path`` is kept (``state.json`` -> ``state.json.1``)."""
    return path.with_name(path.name + GENERATION_SUFFIX)


def atomic_write(path: Path, data: bytes, mode: int = 0o600, *,
                 keep_previous: bool = False) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file.
    With ``keep_previous`` the current file (if any) becomes ``<name>.1`` first."""
    if keep_previous:
        keep_generation(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _sync_directory(path.parent)


def keep_generation(path: Path) -> None:
    """Make ``<name>.1`` a copy of the current ``path`` (nothing when there is none),
    written atomically. A copy, not a hard link: a file truncated in place
    (``: > state.json``) must not take its generation with it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    atomic_write(previous_generation(path), data, 0o600)


def write_private(path: Path, data: bytes) -> None:
    """``data`` into ``path`` atomically, 0600; missing directories are made 0700."""
    missing = []
    for parent in path.parents:
        if parent.exists():
            break
        missing.append(parent)
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
    atomic_write(path, data, 0o600)


def tighten(path: Path, mode: int) -> bool:
    """Make ``path`` no wider than ``mode`` (0600 for a file, 0700 for a folder) when
    group or others may read, write or enter it; warns, naming it. True when it did."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    if current & ~mode & 0o077 == 0:
        return False
    os.chmod(path, current & mode)
    log.warning("%s was open to other users (mode %04o); made it %04o", path, current,
                current & mode)
    return True


def _sync_directory(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
