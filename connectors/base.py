"""The one interface every calendar source implements.

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

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from daemon.core.detection import Sketch
from daemon.core.model import Event


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
