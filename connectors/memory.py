"""An in-memory calendar source: the reference implementation of the contract.

Core tests use it instead of a fake of the function next door; it honours the
same contract as the real sources, failure included (``error``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from zoneinfo import ZoneInfo

from connectors.base import Interest, ReadResult
from daemon.core.errors import SourceError
from daemon.core.model import Event


class MemoryCalendar:
    def __init__(self, name: str, events: Iterable[Event] = (), *,
                 error: str | None = None) -> None:
        self.name = name
        self.events = tuple(events)
        self.error = error
        self._good: ReadResult | None = None

    def read(self, *, tz: ZoneInfo, interest: Interest | None) -> ReadResult:
        if self.error is not None:
            raise SourceError(self.name, self.error)
        if not self.events and self._good is not None and self._good.events:
            raise SourceError(self.name, "the calendar came back empty after having had 1:1s")
        events = tuple(e if e.source == self.name else replace(e, source=self.name)
                       for e in self.events)
        changed = self._good is None or self._good.events != events
        self._good = ReadResult(events=events, total=len(events), changed=changed,
                                uids=frozenset(e.uid for e in events))
        return self._good

    def last_good(self, *, tz: ZoneInfo, interest: Interest | None) -> ReadResult | None:
        return self._good

    def checkpoint(self) -> dict[str, str | None]:
        return {}
