"""The state that survives restarts: TinyDB made safe.

TinyDB's own JSON storage rewrites its file in place, so a crash mid-write
loses the database. :class:`AtomicStorage` keeps every write in memory and
:meth:`Store.commit` writes the whole document once per cycle: a temp file in
the same directory, fsync, ``os.replace``, fsync of the directory. A crash
leaves either the old file or the new one, never half of each. Nothing is
written when nothing changed.

The file is 0600 in a 0700 directory. A lock file keeps a second cadenced
process off the same state. ``schema`` records the layout version; opening an
older state migrates it, opening a newer one is refused.

Tables:

``sources``
    one document per source name: its checkpoint (validators, content hash),
    when the content last changed, the last error and since when it has been
    failing.
``findings``
    one document per finding key: its kind, person and ``first_seen``.
``history``
    one document, ``{"key": "history", ...}``: what history adds to the rules
    (see :mod:`daemon.core.history`).
``reports``, ``agendas``
    markers written by the report and agenda features.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB
from tinydb.storages import Storage

from daemon.core.errors import CadencedError

SCHEMA_VERSION = 1
STATE_FILE = "state.json"
LOCK_FILE = "lock"


class StateError(CadencedError):
    """The state directory cannot be used (locked, unreadable, from a newer version)."""


class AtomicStorage(Storage):
    """A TinyDB storage that reads a JSON file and writes it only on :meth:`commit`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, Any] | None = None
        self._written = b""
        self.commits = 0  # how many times the file was written: for tests and benchmarks

    def load(self) -> None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            self._data, self._written = None, b""
            return
        try:
            self._data = json.loads(raw) if raw.strip() else None
        except json.JSONDecodeError as exc:
            raise StateError(
                f"the state file {self.path} is not valid JSON ({exc.msg})",
                hint="cadenced never writes a partial file; if you edited it, restore it, "
                "or move it away to start with a fresh state",
            ) from None
        self._written = self._encode(self._data) if self._data is not None else b""

    def read(self) -> dict[str, dict[str, Any]] | None:
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self._data = data

    @staticmethod
    def _encode(data: Any) -> bytes:
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()

    def dirty(self) -> bool:
        """True when something changed since the last commit (or load)."""
        return self._data is not None and self._encode(self._data) != self._written

    def rollback(self) -> None:
        """Forget every change since the last commit (or load)."""
        self._data = json.loads(self._written) if self._written else None

    def commit(self) -> bool:
        """Write the document if it changed; True when a write happened."""
        if self._data is None:
            return False
        encoded = self._encode(self._data)
        if encoded == self._written:
            return False
        atomic_write(self.path, encoded)
        self._written = encoded
        self.commits += 1
        return True


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file."""
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
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass
class SourceState:
    """What is kept of one source between runs."""

    name: str
    checkpoint: dict[str, str | None] = field(default_factory=dict)  # the source's own
    last_change: str | None = None  # ISO time the content last changed
    last_success: str | None = None  # last good read, as of the last state write
    error: str | None = None
    hint: str | None = None  # what to do about the error
    failing_since: str | None = None
    one_on_one_events: int = 0  # events that could be 1:1s in the last good read
    needs_sign_in: bool = False  # a Google source whose sign-in was revoked or expired


# A migration turns the document of version N into version N + 1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


class Store:
    """The state directory: the lock, the database, typed accessors, one commit per cycle."""

    def __init__(self, directory: Path, db: TinyDB, storage: AtomicStorage,
                 lock_fd: int | None, *, read_only: bool = False) -> None:
        self.directory = directory
        self.db = db
        self.storage = storage
        self._lock_fd = lock_fd
        self.read_only = read_only  # never writes: commit() keeps changes in memory only

    @classmethod
    def open(cls, directory: Path, *, lock: bool = True) -> Store:
        """Open (creating it 0700) the state in ``directory``.

        With ``lock`` the store is exclusive: a second process gets a
        :class:`StateError` naming the holder. Raises StateError when the state
        is unreadable or was written by a newer cadenced.
        """
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
        except OSError as exc:
            raise StateError(f"cannot create the state directory {directory}: {exc.strerror}",
                             hint="check its permissions, or set $XDG_STATE_HOME") from None
        lock_fd = _lock(directory) if lock else None
        try:
            db = TinyDB(directory / STATE_FILE, storage=AtomicStorage)
            storage: AtomicStorage = db.storage  # type: ignore[assignment]
            storage.load()
            store = cls(directory, db, storage, lock_fd)
            store._migrate()
        except BaseException:
            if lock_fd is not None:
                os.close(lock_fd)
            raise
        return store

    @classmethod
    def open_read_only(cls, directory: Path) -> Store:
        """The state in ``directory`` as it is, for a dry run or a read: no lock, no
        directory or file created, nothing ever written. A missing state reads as new."""
        db = TinyDB(directory / STATE_FILE, storage=AtomicStorage)
        storage: AtomicStorage = db.storage  # type: ignore[assignment]
        storage.load()
        store = cls(directory, db, storage, None, read_only=True)
        store._migrate()
        return store

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def commit(self) -> bool:
        """Write what changed since the last commit, atomically. True if it wrote.
        A read-only store writes nothing and says False."""
        if self.read_only:
            return False
        return self.storage.commit()

    def dirty(self) -> bool:
        """True when a commit now would write."""
        return self.storage.dirty()

    def rollback(self) -> None:
        """Drop what changed since the last commit."""
        self.storage.rollback()
        for name in self.db.tables():
            self.db.table(name).clear_cache()

    # --- schema -------------------------------------------------------------

    def _migrate(self) -> None:
        meta = self.db.table("meta")
        found = meta.get(Query().key == "schema")
        version = found["version"] if found else None
        if version is None:
            meta.insert({"key": "schema", "version": SCHEMA_VERSION})
            return
        if version > SCHEMA_VERSION:
            raise StateError(
                f"the state in {self.directory} was written by a newer cadenced "
                f"(schema {version}; this one reads up to {SCHEMA_VERSION})",
                hint="upgrade cadenced, or move the state directory away",
            )
        while version < SCHEMA_VERSION:
            document = self.storage.read() or {}
            self.storage.write(MIGRATIONS[version](document))
            version += 1
            meta.upsert({"key": "schema", "version": version}, Query().key == "schema")

    # --- sources ------------------------------------------------------------

    def source(self, name: str) -> SourceState:
        found = self.db.table("sources").get(Query().name == name)
        return SourceState(**found) if found else SourceState(name=name)

    def sources(self) -> list[SourceState]:
        return [SourceState(**doc) for doc in self.db.table("sources").all()]

    def save_source(self, state: SourceState) -> None:
        table = self.db.table("sources")
        data = asdict(state)
        if table.get(Query().name == state.name) != data:
            table.upsert(data, Query().name == state.name)

    # --- documents keyed by a string -----------------------------------------

    def document(self, table: str, key: str) -> dict[str, Any] | None:
        found = self.db.table(table).get(Query().key == key)
        return dict(found) if found else None

    def save_document(self, table: str, key: str, data: dict[str, Any]) -> None:
        document = {**data, "key": key}
        if self.db.table(table).get(Query().key == key) != document:
            self.db.table(table).upsert(document, Query().key == key)

    def documents(self, table: str) -> list[dict[str, Any]]:
        return [dict(d) for d in self.db.table(table).all()]

    def replace_documents(self, table: str, documents: list[dict[str, Any]]) -> None:
        """Make the table hold exactly these documents (no write when equal)."""
        current = sorted(json.dumps(d, sort_keys=True) for d in self.db.table(table).all())
        wanted = sorted(json.dumps(d, sort_keys=True) for d in documents)
        if current != wanted:
            self.db.table(table).truncate()
            self.db.table(table).insert_multiple(documents)


def _lock(directory: Path) -> int:
    path = directory / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            raise StateError(
                f"another cadenced (pid {holder}) is using the state in {directory}",
                hint="stop it first (systemctl --user stop cadenced), or wait for it to finish",
            ) from None
        raise StateError(f"cannot lock {path}: {exc.strerror}") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd
