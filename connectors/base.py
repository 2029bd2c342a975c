"""The one interface every calendar source implements.

Glossary: a *source* is one configured calendar (an ICS feed, later a Google
calendar). Reading it yields the core's :class:`~daemon.model.Event` objects;
nothing of the source's own format (icalendar components, Google dicts) leaves
the connector.

Contract of :meth:`CalendarSource.read`:

- returns a :class:`ReadResult` with every event that *could* be a 1:1 (the
  ``interest`` predicate decides; ``None`` asks for all events);
- raises :class:`~daemon.errors.SourceError` when the source cannot be read as a
  whole (network, HTTP status, HTML instead of a calendar, truncation). A failed
  read never looks like an empty calendar;
- skips a malformed event and reports it in ``warnings`` (naming source and UID);
  the rest of the source is still read;
- may reuse the previous result when the source has not changed
  (``changed=False``) and the interest and time zone are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from daemon.detection import Sketch
from daemon.model import Event


class Interest(Protocol):
    """Decides from a cheap sketch whether an event is worth parsing."""

    def could_be_one_on_one(self, sketch: Sketch) -> bool: ...


@dataclass(frozen=True)
class ReadResult:
    events: tuple[Event, ...]
    total: int  # events the source holds, parsed or not
    warnings: tuple[str, ...] = ()
    changed: bool = True


class CalendarSource(Protocol):
    name: str

    def read(self, *, tz: ZoneInfo, interest: Interest | None) -> ReadResult:
        """Read the source. ``tz`` resolves floating times. Raises SourceError."""
        ...
