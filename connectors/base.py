"""The contracts every connector fills, one per kind, and their errors.

- :class:`CalendarSource`: a calendar cadenced reads (ICS feed or file, Google, ...).
- :class:`InviteWriter`: a calendar source that can link an agenda from the invites
  the owner organizes.
- :class:`AgendaStore`: where the living agenda documents live (local files,
  Google Docs), with compare-and-swap writes; :func:`with_retry` is how callers
  use it.
- :class:`Mailer`: what sends the weekly report (SMTP).

The service and the CLI see connectors only through these; ``connectors.registry``
builds them from the config. This module imports nothing of cadenced but the core.

Glossary: a *source* is one configured calendar (an ICS feed, or a Google
calendar read through its API). Reading it yields the core's
:class:`~daemon.core.model.Event` objects; nothing of the source's own format
(icalendar components, Google dicts) leaves the connector.

Contract of :meth:`CalendarSource.read`:

- returns a :class:`ReadResult` with every event that *could* be a 1:1 (the
  ``interest`` predicate decides; ``None`` asks for all events);
- raises :class:`~daemon.core.errors.SourceError` when the source cannot be read as a
  whole (network, HTTP status, HTML instead of a calendar, truncation). A failed
  read never looks like an empty calendar;
- skips a malformed event and reports it in ``warnings`` (naming source and UID);
  the rest of the source is still read;
- may reuse the previous result when the source has not changed
  (``changed=False``) and the interest and time zone are the same;
- reports in ``uids`` the UID of every event the source holds, parsed or not,
  so that an event that left the source can be told from one that was skipped;
- when it is an export without explicit deletions (ICS), treats a source that
  comes back with no event that could be a 1:1, after having had some, as failed
  (an emptied export is far likelier than a manager who deleted every 1:1 at
  once), and keeps its last good copy. An API that reports deletions one by one
  (Google's sync) is taken at its word.

Contract of :meth:`CalendarSource.last_good`: the events of the last good read
(kept across restarts where the source has a cache directory), or ``None`` when
there never was one. The sync uses it while the source is failing.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from daemon.core.booking import AgendaLink, Booking
from daemon.core.detection import Sketch
from daemon.core.errors import CadencedError
from daemon.core.model import Event
from daemon.core.suggest import TheirBusy

if TYPE_CHECKING:
    from email.message import EmailMessage  # the type only: a scan sends no mail


class Interest(Protocol):
    """Decides from a cheap sketch whether an event is worth parsing."""

    def could_be_one_on_one(self, sketch: Sketch) -> bool: ...


@dataclass(frozen=True)
class ReadResult:
    events: tuple[Event, ...]
    total: int  # events the source holds, parsed or not
    warnings: tuple[str, ...] = ()
    changed: bool = True
    uids: frozenset[str] = frozenset()  # every event's UID, parsed or not
    refresh: timedelta | None = None  # the source asks not to be read more often


class CalendarSource(Protocol):
    name: str

    def read(self, *, tz: ZoneInfo, interest: Interest | None) -> ReadResult:
        """Read the source. ``tz`` resolves floating times. Raises SourceError."""
        ...

    def last_good(self, *, tz: ZoneInfo, interest: Interest | None) -> ReadResult | None:
        """The last good read, or None. Does no network I/O."""
        ...

    def checkpoint(self) -> dict[str, str | None]:
        """What to keep between runs (validators, sync tokens), JSON-ready; handed
        back to the source's constructor after a restart."""
        ...


def file_name(source: str) -> str:
    """A file name for a source's own files (cache, token): readable, and unique
    through a short hash of the name."""
    readable = "".join(c if c.isalnum() or c in "-_" else "_" for c in source)[:40]
    return f"{readable}-{hashlib.sha256(source.encode()).hexdigest()[:8]}"


# --- the link in the invite --------------------------------------------------------


class InviteChange(Protocol):
    """One change made (or, in a dry run, that would be made) to one event."""

    def describe(self) -> str: ...


@runtime_checkable
class InviteWriter(Protocol):
    """A calendar source that can put the agenda link into the invites.

    :meth:`link_agenda` links ``link`` from the events with ``uid`` that the owner
    organizes (the series master, or the one-off), and only those. It is idempotent
    (a second call changes nothing), writes against the version it read (a
    concurrent edit is re-read and planned again), keeps everything of the event it
    does not own, and does not put back a link the owner removed. One event that
    cannot be written is logged and skipped; a source that cannot be written at all
    raises :class:`~daemon.core.errors.SourceError` (e.g. ``NeedsSignIn``).
    """

    name: str

    @property
    def can_write(self) -> bool:
        """Whether the sign-in allows writing (checked before each step)."""
        ...

    def link_agenda(self, uid: str, link: AgendaLink, *, dry_run: bool = False
                    ) -> list[InviteChange]:
        ...


# --- booking a 1:1 -----------------------------------------------------------------


@runtime_checkable
class Availability(Protocol):
    """A calendar service that can tell when other people in the owner's organisation
    are busy (Google's free/busy), for make-up slots that suit both.

    :meth:`busy_of` answers for every address asked: its busy blocks within
    ``[start, end)``, or ``unseen`` saying why that calendar could not be seen (not
    in the organisation, not shared, the sign-in does not allow it, the service
    failed). It never raises for one address, nor for the whole question."""

    name: str

    def busy_of(self, addresses: Sequence[str], start: datetime, end: datetime
                ) -> dict[str, TheirBusy]: ...


@runtime_checkable
class EventBooker(Protocol):
    """A calendar source that can create a 1:1 and invite the person.

    :meth:`book` is idempotent by ``Booking.key``: a second call (after a timeout, or
    on purpose) finds the event the first made instead of making another. It returns
    a line saying what it made (or, with ``dry_run``, would make)."""

    name: str

    @property
    def can_write(self) -> bool: ...

    def book(self, booking: Booking, *, dry_run: bool = False) -> str: ...


# --- agenda documents --------------------------------------------------------------


class AgendaStoreError(CadencedError):
    """A document cannot be read or written (bad person, unreadable file, ...)."""


class InvalidPerson(AgendaStoreError, ValueError):
    """The person is not a plain e-mail address, so it cannot name a document."""


class Conflict(CadencedError):
    """The document changed between read and write."""

    def __init__(self, message: str, *, path: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


@dataclass(frozen=True)
class Revision:
    """A document as read: its text and the version to write against."""

    text: str
    version: str  # opaque; changes whenever the document changes


def plain_address(person: str) -> str:
    """``person`` lowercased, if it is a plain e-mail address that can name a document
    (a file name, a Doc's property); every store refuses anything else the same way."""
    email = person.strip().lower()
    local, at, domain = email.partition("@")
    if (
        not at
        or not local
        or not domain
        or "@" in domain
        or len(email) > 254
        or ".." in email
        or email.startswith(".")
        or any(c in email for c in "/\\\x00")
        or any(ord(c) < 0x20 or ord(c) == 0x7F or c.isspace() for c in email)
    ):
        raise InvalidPerson(
            f"{person!r} is not a plain e-mail address; cannot name an agenda after it"
        )
    return email


class AgendaStore(Protocol):
    """One Markdown document per person: read it with a version, write it back only if
    nobody changed it in between (compare-and-swap), and say where a person opens it.
    Writes are the caller's whole new text; a store that cannot replace a document
    whole (Google Docs) turns the difference into edits and leaves the rest alone."""

    def read(self, person: str) -> Revision | None:
        """The person's document, or None when there is none yet."""
        ...

    def write(self, person: str, text: str, *, expected: str | None) -> str:
        """Replace the document if its version is still ``expected`` (None: it must
        not exist yet); raise :class:`Conflict` otherwise. Returns the new version."""
        ...

    def url(self, person: str) -> str | None:
        """Where a person opens the document (None when the store has no URL)."""
        ...


def with_retry(
    store: AgendaStore,
    person: str,
    change: Callable[[str | None], str | None],
    *,
    attempts: int = 5,
) -> str | None:
    """Read, apply ``change`` to the text (None: no document yet), write it back
    against the version read; on :class:`Conflict` re-read and re-apply.

    ``change`` returns the new text, or None for nothing to write. It may be called
    several times and must not have side effects beyond computing the text.
    Returns the document's version afterwards, or None when ``change`` returned
    None. Raises :class:`Conflict`, naming the file, after ``attempts`` conflicts.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(attempts):
        if attempt:
            time.sleep(min(0.02 * attempt, 0.1))  # let an editor finish its save
        revision = store.read(person)
        new = change(revision.text if revision else None)
        if new is None:
            return None
        if revision is not None and new == revision.text:
            return revision.version
        try:
            return store.write(person, new, expected=revision.version if revision else None)
        except Conflict:
            continue
    where = _describe(store, person)
    raise Conflict(
        f"the agenda {where} kept changing while cadenced was updating it "
        f"({attempts} attempts)",
        path=where,
        hint="it is being edited right now; cadenced tries again on its next cycle",
    )


def _describe(store: AgendaStore, person: str) -> str:
    path = getattr(store, "path", None)
    if callable(path):
        with contextlib.suppress(Exception):
            return str(path(person))
    return person


# --- mail ------------------------------------------------------------------------


class MailError(CadencedError):
    """The report could not be sent (or its password not read).

    ``transient``: True when trying again later may work by itself (network errors,
    timeouts, 4xx replies); False when the user must change something first
    (authentication, 5xx rejections, TLS verification, configuration). ``code`` is
    the SMTP reply code when the server gave one.
    """

    def __init__(
        self, message: str, *, transient: bool, hint: str | None = None, code: int | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.transient = transient
        self.code = code


@dataclass(frozen=True)
class Outgoing:
    """A message and its envelope: ``sender`` (MAIL FROM) and ``recipients`` (RCPT TO)."""

    message: EmailMessage
    sender: str
    recipients: tuple[str, ...]


class Mailer(Protocol):
    """Sends a message through the owner's own mail server."""

    def send(self, outgoing: Outgoing) -> str:
        """Hand ``outgoing`` to the server; return its final reply once it accepted the
        message. Raises :class:`MailError` (with ``transient``) otherwise."""
        ...


__all__ = [
    "AgendaLink", "AgendaStore", "AgendaStoreError", "Booking", "CalendarSource", "Conflict",
    "EventBooker",
    "Interest", "InvalidPerson", "InviteChange", "InviteWriter", "MailError", "Mailer",
    "Outgoing", "ReadResult", "Revision", "file_name", "plain_address", "with_retry",
]
