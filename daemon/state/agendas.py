"""The local agenda store: the :class:`~connectors.base.AgendaStore` contract kept in
files on this machine.

:class:`LocalAgendaStore` keeps them as ``<directory>/<email>.md`` (0600 files in
a 0700 directory), which the owner may also edit by hand. Its compare-and-swap is
as safe as a local file system allows:

* two cadenced writers cannot interleave: read-compare-replace happens under an
  exclusive ``fcntl.flock`` on ``<directory>/.lock``;
* a person's editor saving the file between cadenced's read and its write is
  caught by the version check (the SHA-256 of the bytes), and the caller re-reads
  and re-applies its change (:func:`with_retry`). An editor saving in the few
  milliseconds between the check and the atomic rename is the one window a file
  system without mandatory locks leaves open; the rename itself is atomic, so the
  file is always one whole version or the other.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from connectors.base import AgendaStoreError, Conflict, InvalidPerson, Revision, plain_address
from daemon.config import Config
from daemon.state.files import atomic_write

__all__ = ["LocalAgendaStore", "agenda_dir", "local_store"]

LOCK_FILE = ".lock"
SUFFIX = ".md"
LOCK_TIMEOUT = 10.0  # seconds to wait for another cadenced writer


def version_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalAgendaStore:
    """Markdown files ``<directory>/<email>.md``.

    ``base_url`` is the agenda server's secret base (``http://127.0.0.1:8765/<secret>``);
    with it, :meth:`url` points at the rendered document. It may be set later (after
    the server has picked its port).
    """

    def __init__(self, directory: Path, *, base_url: str | None = None) -> None:
        self.directory = Path(directory)
        self.base_url = base_url.rstrip("/") if base_url else None

    def path(self, person: str) -> Path:
        """The file of ``person``'s document; refuses anything but a plain address."""
        return self.directory / f"{plain_address(person)}{SUFFIX}"

    def people(self) -> list[str]:
        """The addresses that have a document, sorted."""
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            if name.endswith(SUFFIX) and not name.startswith("."):
                with contextlib.suppress(InvalidPerson):
                    found.append(plain_address(name[: -len(SUFFIX)]))
        return sorted(found)

    def read(self, person: str) -> Revision | None:
        path = self.path(person)
        data = self._read_bytes(path)
        if data is None:
            return None
        return Revision(text=self._decode(data, path), version=version_of(data))

    def write(self, person: str, text: str, *, expected: str | None) -> str:
        path = self.path(person)
        data = text.encode("utf-8")
        self._ensure_directory()
        with self._locked():
            current = self._read_bytes(path)
            found = None if current is None else version_of(current)
            if found != expected:
                if expected is None:
                    what = "was created by someone else"
                elif current is None:
                    what = "was removed"
                else:
                    what = "was changed"
                raise Conflict(
                    f"the agenda {path} {what} since cadenced read it",
                    path=str(path),
                    hint="read it again and re-apply the change",
                )
            if current != data:
                atomic_write(path, data, 0o600)
        return version_of(data)

    def url(self, person: str) -> str | None:
        if self.base_url is None:
            return None
        return f"{self.base_url}/agenda/{quote(plain_address(person), safe='@')}"

    # --- internals --------------------------------------------------------------

    @staticmethod
    def _read_bytes(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AgendaStoreError(f"cannot read the agenda {path}: {exc.strerror}",
                                   hint="check the file's permissions") from None

    @staticmethod
    def _decode(data: bytes, path: Path) -> str:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise AgendaStoreError(
                f"the agenda {path} is not UTF-8 text (byte {exc.start})",
                hint="save it as UTF-8 in your editor",
            ) from None

    def _ensure_directory(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)
        except OSError as exc:
            raise AgendaStoreError(
                f"cannot create the agenda directory {self.directory}: {exc.strerror}",
                hint="check its permissions",
            ) from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the exclusive lock on ``<directory>/.lock`` (waits for another writer,
        at most :data:`LOCK_TIMEOUT` seconds)."""
        lock_path = self.directory / LOCK_FILE
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise AgendaStoreError(
                            f"cannot lock {lock_path}: {exc.strerror}") from None
                    if time.monotonic() >= deadline:
                        raise AgendaStoreError(
                            f"another cadenced has held {lock_path} for {LOCK_TIMEOUT:.0f}s",
                            hint="try again; if it persists, find the stuck cadenced process",
                        ) from None
                    time.sleep(0.01)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def agenda_dir(config: Config, data_dir: Path) -> Path:
    """``[agenda] dir``, else ``agendas/`` in the data directory."""
    return Path(config.agenda.dir) if config.agenda.dir else data_dir / "agendas"


def local_store(config: Config, data_dir: Path, base_url: str | None = None) -> LocalAgendaStore:
    return LocalAgendaStore(agenda_dir(config, data_dir), base_url=base_url)
