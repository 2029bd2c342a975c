"""A CalDAV calendar as a :class:`~connectors.base.CalendarSource`, synced incrementally.

The first read finds the calendar (principal, calendar-home-set, the configured
name or path) and lists it with ``sync-collection`` (RFC 6578): every member's
href and etag, then the data of each in one ``calendar-multiget``. Later reads
send the sync token back and get only what changed: a no-change cycle is one
request. A server that answers the token with ``DAV:valid-sync-token`` forgot it:
a full listing again, reusing every resource whose etag did not change (history
lives in the state, not in the token). A server without sync-collection is read
by its collection tag (``CS:getctag``, one PROPFIND), and when that changed, by
comparing every member's etag (one PROPFIND) and fetching only the changed ones.

The resources as the server last sent them, their etags, the calendar's address
and the token (or ctag) are kept together in one file in the cache directory
(0600, written atomically), so a token always describes the resources beside it,
also across a crash. A failed or partial sync (an error, a cut-off answer, a
member that could not be fetched) changes nothing: the last good copy stays, and
nothing is taken as deleted. Deletions are believed only when the server reports
them one by one (sync-collection); a full listing that comes back with no
possible 1:1 after having some is treated as failed, as an emptied ICS export is.

Each resource is parsed by the ICS engine (:func:`connectors.ics.parse.parse_calendar`),
so recurrence and time zones are read exactly as in an ICS feed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import AgendaLink, Interest, InviteChange, ReadResult, file_name
from connectors.caldav.server import (
    SUPPORTED_REPORT,
    VALID_SYNC_TOKEN,
    CaldavError,
    GetCTag,
    Server,
    talking,
)
from connectors.ics.parse import Parsed, parse_calendar
from daemon.config import CaldavSource
from daemon.core.errors import NeedsSignIn, SourceError
from daemon.state.files import write_private

log = logging.getLogger(__name__)

CACHE_VERSION = 1
MULTIGET_BATCH = 200  # hrefs per calendar-multiget
NO_SYNC_COLLECTION = {400, 405, 415, 501}  # what servers without RFC 6578 answer


@dataclass
class Kept:
    """What the cache file holds: the calendar, how it is synced, its resources."""

    calendar_url: str | None = None
    mode: str = "sync"  # "sync" (sync-collection), "ctag", or "etag" (no ctag either)
    token: str | None = None  # the sync token, or the ctag in ctag mode
    resources: dict[str, dict[str, str]] = field(default_factory=dict)  # url -> etag, data

    @property
    def synced(self) -> bool:
        return self.token is not None or bool(self.resources)


class CaldavCalendar:
    """Reads (and, with ``write_back``, links agendas from) one CalDAV calendar."""

    def __init__(self, config: CaldavSource, *, cache_dir: Path | None = None,
                 persist: bool = True, server: Server | None = None,
                 owner: frozenset[str] = frozenset(),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = config.name
        self.config = config
        self.owner = frozenset(a.lower() for a in owner)  # the owner's addresses
        self.server = server or Server(config)
        self.cache_file = (cache_dir / f"{file_name(config.name)}.caldav.json"
                           if cache_dir else None)
        self.persist = persist  # False (a dry run): the kept copy is read, never written
        self.clock = clock
        self._kept: Kept | None = None
        self._parsed: dict[tuple[str, str], Parsed] = {}
        self._parse_key: object = None
        self._not_before: float | None = None  # the server's Retry-After
        self.full_syncs = 0  # full listings this object made: for tests and benchmarks
        self.parses = 0  # resources parsed: for tests and benchmarks

    # --- the kept copy --------------------------------------------------------------

    def _key(self) -> dict[str, str | None]:
        return {"url": self.config.url, "calendar": self.config.calendar,
                "username": self.config.username}

    def _load(self) -> Kept:
        if self._kept is not None:
            return self._kept
        self._kept = Kept()
        if self.cache_file is None:
            return self._kept
        try:
            data = json.loads(self.cache_file.read_bytes())
        except FileNotFoundError:
            return self._kept
        except (OSError, ValueError) as exc:
            log.warning("source %r: its kept copy %s is unreadable (%s); syncing in full",
                        self.name, self.cache_file, exc)
            return self._kept
        if (isinstance(data, dict) and data.get("version") == CACHE_VERSION
                and data.get("key") == self._key()
                and isinstance(data.get("resources"), dict)):
            self._kept = Kept(data.get("calendar_url"), data.get("mode") or "sync",
                              data.get("token"), data["resources"])
        return self._kept

    def _keep(self, kept: Kept) -> None:
        self._kept = kept
        if self.cache_file is None or not self.persist:
            return
        data = json.dumps({"version": CACHE_VERSION, "key": self._key(),
                           "calendar_url": kept.calendar_url, "mode": kept.mode,
                           "token": kept.token, "resources": kept.resources},
                          ensure_ascii=False, separators=(",", ":")).encode()
        try:
            write_private(self.cache_file, data)
        except OSError as exc:
            log.warning("source %r: cannot keep a copy of its events: %s", self.name,
                        exc.strerror)

    def resources(self) -> dict[str, dict[str, str]]:
        """The kept resources (url -> ``{"etag", "data"}``), as of the last read."""
        return self._load().resources

    def remember(self, url: str, etag: str | None, data: str) -> None:
        """Keep a resource as written (or read again) by the write-back."""
        kept = self._load()
        resources = dict(kept.resources)
        if etag is None:
            resources.pop(url, None)  # unknown version: the next listing fetches it
        else:
            resources[url] = {"etag": etag, "data": data}
        self._keep(replace(kept, resources=resources))

    # --- CalendarSource -------------------------------------------------------------

    def checkpoint(self) -> dict[str, str | None]:
        return {}  # the token lives with the resources it describes, in the cache file

    def last_good(self, *, tz: ZoneInfo, interest: Interest | None) -> ReadResult | None:
        kept = self._load()
        if not kept.synced:
            return None
        return self._map(kept.resources, tz, interest, changed=False)

    def read(self, *, tz: ZoneInfo, interest: Interest | None) -> ReadResult:
        if self._not_before is not None:
            wait = self._not_before - self.clock()
            if wait > 0:
                raise CaldavError(self.name, f"the server asked to wait; trying again in "
                                  f"{wait:.0f} s", status=429, retry_after=wait,
                                  hint="kept the last good copy")
            self._not_before = None
        try:
            return self._read(tz, interest)
        except NeedsSignIn:
            self.server.forget()  # a fixed password is read again next time
            raise
        except CaldavError as exc:
            if exc.retry_after:
                self._not_before = self.clock() + exc.retry_after
            if exc.status == 404 and self._kept is not None:
                # the calendar moved or was removed: look for it again next time
                self._kept = replace(self._kept, calendar_url=None)
            raise

    def _read(self, tz: ZoneInfo, interest: Interest | None) -> ReadResult:
        kept = self._load()
        if kept.calendar_url is None:
            kept = replace(kept, calendar_url=self.server.pick().url)
        calendar = self.server.calendar_at(kept.calendar_url)
        if kept.mode == "sync":
            try:
                return self._sync(calendar, kept, kept.token, tz, interest)
            except CaldavError as exc:
                if VALID_SYNC_TOKEN in exc.preconditions and kept.token is not None:
                    log.info("source %r: the server forgot the sync token; listing it in "
                             "full", self.name)
                    return self._sync(calendar, kept, None, tz, interest)
                if not (SUPPORTED_REPORT in exc.preconditions
                        or exc.status in NO_SYNC_COLLECTION):
                    raise
                log.info("source %r: the server has no sync-collection; comparing "
                         "ctag and etags instead", self.name)
                kept = replace(kept, mode="ctag", token=None)
        return self._by_tags(calendar, kept, tz, interest)

    # --- sync-collection ------------------------------------------------------------

    def _sync(self, calendar: Any, kept: Kept, token: str | None, tz: ZoneInfo,
              interest: Interest | None) -> ReadResult:
        with talking(self.name, "syncing the calendar (sync-collection)"):
            got = calendar.get_objects_by_sync_token(token, load_objects=False,
                                                     disable_fallback=True)
        if got.truncated:
            raise CaldavError(self.name, "the server cut its sync answer short; kept the "
                              "last good copy", hint="cadenced tries again at its next sync")
        full = token is None
        deleted = {str(u) for u in got.deleted_urls}
        listed: dict[str, str | None] = {}
        for obj in got:
            url = str(obj.url.canonical())
            if url not in deleted:
                listed[url] = obj.props.get("{DAV:}getetag")
        resources = {} if full else {u: r for u, r in kept.resources.items() if u not in deleted}
        if full:
            self.full_syncs += 1
        if not full and not listed and not deleted and got.sync_token == token:
            return self._unchanged(kept, tz, interest)
        resources.update(self._fetch(calendar, kept, listed))
        result = self._map(resources, tz, interest, changed=True)
        if full:
            self._refuse_emptied(kept, result, tz, interest)
        self._keep(Kept(kept.calendar_url, "sync", got.sync_token, resources))
        return result

    # --- without sync-collection: ctag, then etags ------------------------------------

    def _by_tags(self, calendar: Any, kept: Kept, tz: ZoneInfo,
                 interest: Interest | None) -> ReadResult:
        from caldav.elements import dav

        ctag = None
        if kept.mode != "etag":
            with talking(self.name, "reading the calendar's ctag"):
                ctag = calendar.get_properties([GetCTag()]).get(GetCTag.tag)
            if ctag is not None and ctag == kept.token and kept.mode == "ctag":
                return self._unchanged(kept, tz, interest)
        with talking(self.name, "listing the calendar's etags"):
            response = calendar.get_properties([dav.GetEtag()], depth=1,
                                               parse_response_xml=False)
            props = response.expand_simple_props([dav.GetEtag()])
        own = str(calendar.url.canonical()).rstrip("/")
        listed: dict[str, str | None] = {}
        for href, values in props.items():
            url = str(calendar.url.join(href).canonical())
            if url.rstrip("/") != own and not url.endswith("/"):
                listed[url] = values.get(dav.GetEtag.tag)
        if set(listed) == set(kept.resources) and all(
                listed[u] == kept.resources[u]["etag"] for u in listed) and kept.synced:
            kept = Kept(kept.calendar_url, "ctag" if ctag else "etag", ctag, kept.resources)
            self._keep(kept)
            return self._unchanged(kept, tz, interest)
        self.full_syncs += 1
        resources = self._fetch(calendar, kept, listed)
        result = self._map(resources, tz, interest, changed=True)
        self._refuse_emptied(kept, result, tz, interest)
        self._keep(Kept(kept.calendar_url, "ctag" if ctag else "etag", ctag, resources))
        return result

    # --- shared -----------------------------------------------------------------------

    def _fetch(self, calendar: Any, kept: Kept, listed: dict[str, str | None]
               ) -> dict[str, dict[str, str]]:
        """The resources ``listed`` (url -> etag): kept ones whose etag did not change,
        the rest fetched with calendar-multiget. Every one or a CaldavError."""
        from caldav.lib.url import URL

        out: dict[str, dict[str, str]] = {}
        wanted = []
        for url, etag in listed.items():
            old = kept.resources.get(url)
            if old is not None and etag and old.get("etag") == etag:
                out[url] = old
            else:
                wanted.append(url)
        for start in range(0, len(wanted), MULTIGET_BATCH):
            batch = wanted[start:start + MULTIGET_BATCH]
            with talking(self.name, "reading changed events (calendar-multiget)"):
                objects = calendar.multiget([URL.objectify(u) for u in batch])
                for obj in objects:
                    etag = (obj.props or {}).get("{DAV:}getetag") or listed.get(
                        str(obj.url.canonical())) or ""
                    out[str(obj.url.canonical())] = {"etag": etag, "data": obj.data}
        missing = [u for u in wanted if u not in out]
        if missing:
            raise CaldavError(self.name, f"{len(missing)} changed event(s) could not be "
                              "read; kept the last good copy (a partial sync)",
                              hint="cadenced tries again at its next sync")
        return out

    def _refuse_emptied(self, kept: Kept, result: ReadResult, tz: ZoneInfo,
                        interest: Interest | None) -> None:
        if result.events or not kept.resources:
            return
        before = self._map(kept.resources, tz, interest, changed=False, prune=False)
        if before.events:
            raise SourceError(
                self.name, f"the calendar came back without any possible 1:1 (it had "
                f"{len(before.events)}); kept the last good copy",
                hint="if it was emptied by mistake, it recovers by itself; if you really "
                "removed every 1:1, check calendar in the source")

    def _unchanged(self, kept: Kept, tz: ZoneInfo, interest: Interest | None) -> ReadResult:
        self._kept = kept
        return self._map(kept.resources, tz, interest, changed=False)

    def _map(self, resources: dict[str, dict[str, str]], tz: ZoneInfo,
             interest: Interest | None, *, changed: bool, prune: bool = True) -> ReadResult:
        key = (tz.key, interest)
        if key != self._parse_key:
            self._parsed, self._parse_key = {}, key
        events: list[Any] = []
        warnings: list[str] = []
        uids: set[str] = set()
        total = 0
        fresh: dict[tuple[str, str], Parsed] = {}
        for url in sorted(resources):
            resource = resources[url]
            cached = (url, resource.get("etag") or "")
            parsed = self._parsed.get(cached) if cached[1] else None
            if parsed is None:
                parsed = parse_calendar(resource.get("data") or "", source=self.name, tz=tz,
                                        interest=interest)
                self.parses += 1
            fresh[cached] = parsed
            events.extend(parsed.events)
            warnings.extend(parsed.warnings)
            uids |= parsed.uids
            total += parsed.total
        if prune:
            self._parsed = fresh
        else:
            self._parsed.update(fresh)
        return ReadResult(tuple(events), total, tuple(warnings), changed=changed,
                          uids=frozenset(uids))

    # --- InviteWriter ---------------------------------------------------------------

    @property
    def can_write(self) -> bool:
        return self.config.write_back

    def link_agenda(self, uid: str, link: AgendaLink, *, dry_run: bool = False
                    ) -> list[InviteChange]:
        """Link ``link`` from the kept resources holding ``uid`` that the owner
        organizes (:mod:`connectors.caldav.writeback`)."""
        from connectors.caldav.writeback import link_resources

        return link_resources(self, uid, link, dry_run=dry_run)
