"""An ICS feed as a :class:`~connectors.base.CalendarSource`."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from connectors.base import Interest, ReadResult, file_name
from connectors.ics.fetch import fetch_feed
from connectors.ics.parse import parse_calendar
from connectors.ics.validators import Validators, content_hash
from daemon.config import IcsSource
from daemon.core.errors import SourceError
from daemon.core.redact import url_fingerprint
from daemon.state.files import atomic_write

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


class IcsCalendar:
    """Reads one ICS feed.

    Keeps the last good parse in memory, so an unchanged feed (HTTP 304, or the
    same content but for DTSTAMP lines) is not parsed again. With ``cache_dir``
    the last good body is also kept on disk (0600), so that after a restart an
    unchanged feed is not downloaded again and a failing feed still has its last
    good events.
    """

    def __init__(self, config: IcsSource, *, client: httpx.Client | None = None,
                 validators: Validators | None = None, cache_dir: Path | None = None,
                 persist: bool = True) -> None:
        self.name = config.name
        self.config = config
        self.client = client
        self.validators = validators
        self.cache_file = (cache_dir / f"{file_name(config.name)}.ics") if cache_dir else None
        self.persist = persist  # False (a dry run): the cached copy is read, never written
        self._body: bytes | None = None
        self._parsed: tuple[object, ReadResult] | None = None
        self.parses = 0  # how many times the feed was parsed: for tests and benchmarks

    # --- the last good body -----------------------------------------------------

    def _good_body(self) -> bytes | None:
        if self._body is None and self.cache_file is not None:
            try:
                self._body = self.cache_file.read_bytes()
            except FileNotFoundError:
                return None
            except OSError as exc:
                log.warning("source %r: cannot read its cached copy: %s", self.name, exc.strerror)
                return None
            if self.validators and self.validators.content_hash != content_hash(self._body):
                self.validators = None  # they describe another body: download in full
        return self._body

    def _parse(self, body: bytes, tz: ZoneInfo, interest: Interest | None,
               changed: bool) -> ReadResult:
        parsed = parse_calendar(body, source=self.name, tz=tz, interest=interest,
                                max_events=self.config.max_events)
        self.parses += 1
        return ReadResult(parsed.events, parsed.total, parsed.warnings, changed=changed,
                          uids=parsed.uids, refresh=parsed.refresh)

    def last_good(self, *, tz: ZoneInfo, interest: Interest | None) -> ReadResult | None:
        key = (tz.key, interest)
        if self._parsed is not None and self._parsed[0] == key:
            return self._parsed[1]
        body = self._good_body()
        if body is None:
            return None
        try:
            result = self._parse(body, tz, interest, changed=False)
        except SourceError as exc:  # a copy kept before max_events was lowered
            log.warning("%s (the last good copy)", exc)
            return None
        self._parsed = (key, result)
        return result

    def checkpoint(self) -> dict[str, str | None]:
        v = self.validators or Validators()
        return {"etag": v.etag, "last_modified": v.last_modified,
                "content_hash": v.content_hash, "raw_hash": v.raw_hash}

    @staticmethod
    def validators_from(checkpoint: dict[str, str | None] | None) -> Validators | None:
        if not checkpoint:
            return None
        return Validators(etag=checkpoint.get("etag"),
                          last_modified=checkpoint.get("last_modified"),
                          content_hash=checkpoint.get("content_hash"),
                          raw_hash=checkpoint.get("raw_hash"))

    # --- reading --------------------------------------------------------------------

    def read(self, *, tz: ZoneInfo, interest: Interest | None) -> ReadResult:
        key = (tz.key, interest)
        body = self._good_body()
        fetched = fetch_feed(
            self.config.url,
            source=self.name,
            previous=self.validators if body is not None else None,
            timeout=self.config.timeout_seconds,
            max_bytes=self.config.max_bytes,
            user_agent=self.config.user_agent,
            client=self.client,
        )
        if fetched.not_modified and body is not None:
            log.debug("source %r unchanged (%s)", self.name, url_fingerprint(self.config.url))
            self.validators = fetched.validators
            if self._parsed is not None and self._parsed[0] == key:
                previous = self._parsed[1]
                return replace(previous, changed=False)
            result = self._parse(body, tz, interest, changed=False)
            self._parsed = (key, result)
            return result
        assert fetched.content is not None
        result = self._parse(fetched.content, tz, interest, changed=True)
        before = self.last_good(tz=tz, interest=interest)
        if not result.events and before is not None and before.events:
            raise SourceError(
                self.name,
                f"the feed came back without any possible 1:1 (it had {len(before.events)}); "
                "kept the last good copy",
                hint="if the export was emptied by mistake, it recovers by itself; if you "
                "really removed every 1:1, check the url of the source",
            )
        self.validators = fetched.validators
        self._body = fetched.content
        self._parsed = (key, result)
        if self.cache_file is not None and self.persist:
            try:
                atomic_write(self.cache_file, fetched.content)
            except OSError as exc:
                log.warning("source %r: cannot keep a cached copy: %s", self.name, exc.strerror)
        return result

