"""An ICS feed as a :class:`~connectors.base.CalendarSource`."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

import httpx

from connectors.base import Interest, ReadResult
from connectors.ics.fetch import Validators, fetch_feed, url_fingerprint
from connectors.ics.parse import parse_calendar
from daemon.config import IcsSource

log = logging.getLogger(__name__)


class IcsCalendar:
    """Reads one ICS feed. Keeps the last parse in memory, so an unchanged feed
    (HTTP 304, or the same content but for DTSTAMP lines) is not parsed again."""

    def __init__(self, config: IcsSource, *, client: httpx.Client | None = None,
                 validators: Validators | None = None) -> None:
        self.name = config.name
        self.config = config
        self.client = client
        self.validators = validators
        self._cached: tuple[object, ReadResult] | None = None
        self.parses = 0  # how many times the feed was parsed: for tests and benchmarks

    def read(self, *, tz: ZoneInfo, interest: Interest | None) -> ReadResult:
        cache_key = (tz.key, interest)
        usable = self._cached is not None and self._cached[0] == cache_key
        fetched = fetch_feed(
            self.config.url,
            source=self.name,
            previous=self.validators if usable else None,
            timeout=self.config.timeout_seconds,
            max_bytes=self.config.max_bytes,
            user_agent=self.config.user_agent,
            client=self.client,
        )
        self.validators = fetched.validators
        if fetched.not_modified and usable and self._cached is not None:
            log.debug("source %r unchanged (%s)", self.name, url_fingerprint(self.config.url))
            previous = self._cached[1]
            return ReadResult(previous.events, previous.total, previous.warnings, changed=False)
        assert fetched.content is not None
        parsed = parse_calendar(fetched.content, source=self.name, tz=tz, interest=interest)
        self.parses += 1
        result = ReadResult(parsed.events, parsed.total, parsed.warnings, changed=True)
        self._cached = (cache_key, result)
        return result
