"""The state that survives restarts: TinyDB made safe.

TinyDB's own JSON storage rewrites its file in place, so a crash mid-write
loses the database. :class:`AtomicStorage` keeps every write in memory and
:meth:`Store.commit` writes the whole document once per cycle: a temp file in
the same directory, fsync, ``os.replace``, fsync of the directory. A crash
leaves either the old file or the new one, never half of each. Nothing is
written when nothing changed.

Before each replace, the file being replaced is kept as ``state.json.1``: one
previous generation. A state file found corrupt (empty, only white space, not
UTF-8, not JSON, or not the shape cadenced writes) is never read as a new state:
cadenced falls back to the generation with a warning naming both files, and
records that it did (``status`` shows it). When both are bad it refuses to run,
with the command that moves them aside. Markers that must never be lost (a report
sent) are committed ``durable``: into both files.

The file is 0600 in a 0700 directory (a wider one is tightened, with a warning).
A lock file keeps a second cadenced process off the same state. ``schema`` records
the layout version; opening an older state migrates it, opening a newer one is
refused.

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

import errno
import fcntl
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB
from tinydb.storages import Storage

from daemon.core.errors import CadencedError
from daemon.state.files import atomic_write, keep_generation, previous_generation, tighten

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
STATE_FILE = "state.json"
LOCK_FILE = "lock"


class StateError(CadencedError):
    """The state directory cannot be used (locked, unreadable, from a newer version)."""


class Corrupt(ValueError):
    """A state file that cannot be the state cadenced wrote; the reason in words."""


def decode_state(raw: bytes) -> dict[str, Any] | None:
    """The document in ``raw``, or None for no file; raises :class:`Corrupt`.

    A 0-byte or white-space file, bytes that are not UTF-8, text that is not JSON,
    and JSON that is not TinyDB's shape (an object of tables, each an object of
    documents, each an object; ``sources`` documents as :class:`SourceState` has
    them) are all corrupt: cadenced never writes any of them."""
    if not raw.strip():
        raise Corrupt("it is empty" if not raw else "it holds only white space")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Corrupt(f"it is not UTF-8 text (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Corrupt(f"it is not valid JSON: {exc.msg.lower()} at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise Corrupt(f"it holds a JSON {type(data).__name__}, not cadenced's tables")
    known = {f.name for f in fields(SourceState)}
    for name, table in data.items():
        if not isinstance(table, dict) or not all(isinstance(d, dict) for d in table.values()):
            raise Corrupt(f"its table {name!r} is not a set of documents")
        if name == "sources":
            for doc in table.values():
                if not isinstance(doc.get("name"), str) or not set(doc) <= known:
                    raise Corrupt("a source in it is not one cadenced wrote")
    return data


class AtomicStorage(Storage):
    """A TinyDB storage that reads a JSON file and writes it only on :meth:`commit`.

    ``fallback`` says, after :meth:`load`, why the previous generation was read
    instead of the file (None when the file itself was good or missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, Any] | None = None
        self._written = b""
        self._main_good = True  # the file on disk is good: keep it as the generation
        self.fallback: str | None = None
        self.commits = 0  # how many times the file was written: for tests and benchmarks

    def load(self) -> None:
        self.fallback, self._main_good = None, True
        try:
            self._data = decode_state(self.path.read_bytes())
        except FileNotFoundError:
            self._data, self._written = None, b""
            return
        except Corrupt as bad:
            self._data = self._fall_back(str(bad))
            self._main_good = False
        self._written = self._encode(self._data) if self._data is not None else b""

    def _fall_back(self, reason: str) -> dict[str, Any]:
        generation = previous_generation(self.path)
        try:
            data = decode_state(generation.read_bytes())
        except FileNotFoundError:
            raise StateError(
                f"the state file {self.path} is corrupt ({reason}), and there is no "
                "previous generation to fall back to",
                hint=f"move it aside to start with a fresh state (history, sent markers and "
                f"the agenda server's secret start anew): mv {self.path} {self.path}.bad",
            ) from None
        except Corrupt as bad:
            why = f"its previous generation {generation} is corrupt too ({bad})"
        else:
            if data is not None:
                self.fallback = (f"the state file {self.path} was corrupt ({reason}); "
                                 f"read its previous generation {generation} instead")
                log.warning("%s", self.fallback)
                return data
            why = "its previous generation is empty"  # pragma: no cover - decode refuses
        raise StateError(
            f"the state file {self.path} is corrupt ({reason}), and {why}",
            hint=f"move both aside to start with a fresh state (history, sent markers and "
            f"the agenda server's secret start anew): mv {self.path} {self.path}.bad; "
            f"mv {generation} {generation}.bad",
        )

    def read(self) -> dict[str, dict[str, Any]] | None:
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self._data = data

    @staticmethod
    def _encode(data: Any) -> bytes:
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()

    def dirty(self) -> bool:
        """True when something changed since the last commit (or load)."""
        return self._data is not None and (self._encode(self._data) != self._written
                                           or not self._main_good)

    def rollback(self) -> None:
        """Forget every change since the last commit (or load)."""
        self._data = json.loads(self._written) if self._written else None

    def commit(self, *, durable: bool = False) -> bool:
        """Write the document if it changed; True when a write happened. The file it
        replaces becomes the previous generation (unless it was the corrupt one). With
        ``durable`` the generation gets the new document too, so that what was just
        written survives even a corrupt file."""
        if self._data is None:
            return False
        encoded = self._encode(self._data)
        if encoded == self._written and self._main_good:
            return False
        atomic_write(self.path, encoded, keep_previous=self._main_good)
        if durable:
            keep_generation(self.path)
        self._written, self._main_good = encoded, True
        self.commits += 1
        return True


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
            tighten(directory, 0o700)
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
            store._note_fallback()
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
        store._note_fallback()
        return store

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def commit(self, *, durable: bool = False) -> bool:
        """Write what changed since the last commit, atomically. True if it wrote.
        ``durable``: into the previous generation as well (markers that must never be
        lost, such as a report sent). A read-only store writes nothing and says False."""
        if self.read_only:
            return False
        return self.storage.commit(durable=durable)

    @property
    def recovered(self) -> dict[str, Any] | None:
        """The last time the state was read from its previous generation: ``{"message",
        "at"}`` (``at``: when the corrupt file was last written, ISO UTC), or None."""
        return self.document("meta", "recovered")

    def _note_fallback(self) -> None:
        if self.storage.fallback is None:
            return
        from datetime import UTC, datetime

        try:
            written = datetime.fromtimestamp(self.storage.path.stat().st_mtime, UTC)
        except OSError:
            written = None
        self.save_document("meta", "recovered", {
            "message": self.storage.fallback,
            "at": written.isoformat(timespec="seconds") if written else None})

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

    def remove_document(self, table: str, key: str) -> None:
        """Remove the document ``key`` from ``table`` (nothing when it is not there)."""
        self.db.table(table).remove(Query().key == key)

    def remove_documents_where(self, table: str, drop: Callable[[dict[str, Any]], bool]
                               ) -> int:
        """Remove every document of ``table`` for which ``drop`` says so; how many."""
        ids = [d.doc_id for d in self.db.table(table).all() if drop(dict(d))]
        if ids:
            self.db.table(table).remove(doc_ids=ids)
        return len(ids)

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
