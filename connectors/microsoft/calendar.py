"""A Microsoft 365 calendar as a :class:`~connectors.base.CalendarSource`, synced with
``calendarView/delta``.

The first read is a full round: ``calendarView/delta`` over a window around now (the
analysis window, ``cadence.lookback_days`` back and ``lookahead_days`` ahead, plus
:data:`AHEAD_MARGIN` so the window need not move at every sync), every
``@odata.nextLink`` followed, the ``@odata.deltaLink`` kept. Later reads follow the
delta link and get only what changed: new or changed instances, and ``@removed``
entries for those that left (deleted, cancelled, moved out of the window). A 410
(``syncStateNotFound``: the link expired) answers a full round again; so does a
window that no longer covers the analysis window. History lives in the state, not
in the link, so a full round loses none of it.

Graph's calendar view has instances, not series: for each series an instance of
which changed, the master is read by id with its ``recurrence`` and
``cancelledOccurrences`` (a cancelled occurrence is left out of the view, so this
is where a cancellation is seen). A master that is gone (404) takes its instances
with it. A round where nothing changed costs one call.

The instances, the masters and the delta link are kept together in one file in
the cache directory (0600, written atomically), so the link always describes the
events beside it, also across a crash. The mapping is :mod:`connectors.microsoft.events`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import AgendaLink, Interest, InviteChange, ReadResult, file_name
from connectors.microsoft.errors import GraphError
from connectors.microsoft.events import read_events
from connectors.microsoft.http import Graph
from connectors.microsoft.token import TokenFile
from connectors.microsoft.writeback import EXPAND
from daemon.config import MicrosoftSource
from daemon.state.files import atomic_write

log = logging.getLogger(__name__)

CACHE_VERSION = 1
PAGE_SIZE = 200
MAX_PAGES = 500
AHEAD_MARGIN = timedelta(days=28)
BEHIND_MARGIN = timedelta(days=7)
MASTER_FIELDS = ("id,iCalUId,subject,body,start,end,originalStartTimeZone,isAllDay,"
                 "isCancelled,isOrganizer,organizer,attendees,recurrence,type,showAs,"
                 "responseStatus,lastModifiedDateTime,cancelledOccurrences,hasAttachments")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MicrosoftCalendar:
    """Reads one Microsoft 365 calendar through Microsoft Graph."""

    def __init__(self, config: MicrosoftSource, *, token: TokenFile, lookback_days: int = 90,
                 lookahead_days: int = 14, cache_dir: Path | None = None,
                 persist: bool = True, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.name = config.name
        self.config = config
        self.token = token
        self.lookback = timedelta(days=lookback_days)
        self.lookahead = timedelta(days=lookahead_days)
        self.clock = clock
        self.persist = persist
        self.cache_file = (cache_dir / f"{file_name(config.name)}.microsoft.json"
                           if cache_dir else None)
        self.graph = Graph(source=config.name, api_root=config.api_root, tokens=token,
                           timeout=config.timeout_seconds, ca_file=config.ca_file, sleep=sleep)
        self._kept: dict[str, Any] | None = None
        self._mapped: tuple[object, ReadResult] | None = None
        self.full_syncs = 0

    @property
    def sleep(self) -> Callable[[float], None]:
        return self.graph.sleep

    @sleep.setter
    def sleep(self, value: Callable[[float], None]) -> None:
        self.graph.sleep = value

    # --- the kept copy ----------------------------------------------------------

    def _empty(self) -> dict[str, Any]:
        return {"version": CACHE_VERSION, "calendar": self.config.calendar,
                "calendar_id": None, "window": None, "delta_link": None,
                "instances": {}, "masters": {}}

    def _load(self) -> dict[str, Any]:
        if self._kept is not None:
            return self._kept
        self._kept = self._empty()
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
                and data.get("calendar") == self.config.calendar
                and isinstance(data.get("instances"), dict)
                and isinstance(data.get("masters"), dict)):
            self._kept = data
        return self._kept

    def _keep(self, kept: dict[str, Any]) -> None:
        self._kept = kept
        self._mapped = None
        if self.cache_file is None or not self.persist:
            return
        data = json.dumps(kept, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            atomic_write(self.cache_file, data, 0o600)
        except OSError as exc:
            log.warning("source %r: cannot keep a copy of its events: %s", self.name,
                        exc.strerror)

    def masters_with_uid(self, uid: str) -> list[dict[str, Any]]:
        """The kept masters and single events whose iCalUId is ``uid``."""
        kept = self._load()
        found = [m for m in kept["masters"].values() if m.get("iCalUId") == uid]
        found += [i for i in kept["instances"].values()
                  if i.get("type") == "singleInstance" and i.get("iCalUId") == uid]
        return found

    def remember(self, resource: dict[str, Any]) -> None:
        """Keep ``resource`` (a master or a single event) as Graph returned it after a
        write; the delta link stays."""
        kept = dict(self._load())
        if resource.get("type") == "seriesMaster":
            old = kept["masters"].get(resource["id"], {})
            kept["masters"] = {**kept["masters"], resource["id"]: {
                **resource, "cancelledOccurrences": old.get("cancelledOccurrences", [])}}
        else:
            kept["instances"] = {**kept["instances"], resource["id"]: resource}
        self._keep(kept)

    # --- CalendarSource -------------------------------------------------------------

    def checkpoint(self) -> dict[str, str | None]:
        return {}  # the delta link lives with the events it describes, in the cache file

    def last_good(self, *, tz: ZoneInfo, interest: Interest | None) -> ReadResult | None:
        kept = self._load()
        if kept["delta_link"] is None:
            return None
        return self._map(tz, interest, changed=False)

    def read(self, *, tz: ZoneInfo, interest: Interest | None) -> ReadResult:
        kept = self._load()
        now = self.clock()
        window = kept.get("window")
        covers = bool(window) and (datetime.fromisoformat(window[0]) <= now - self.lookback
                                   and datetime.fromisoformat(window[1]) >= now + self.lookahead)
        if kept["delta_link"] and covers:
            try:
                items, link = self._round(kept["delta_link"], None)
            except GraphError as exc:
                if exc.status != 410:
                    raise
                log.info("source %r: Graph asks for a full sync (its delta link expired)",
                         self.name)
            else:
                if not items:
                    return self._map(tz, interest, changed=False)
                return self._after(self._merge(kept, items, link), tz, interest)
        return self._after(self._full(now), tz, interest)

    def _full(self, now: datetime) -> dict[str, Any]:
        kept = self._load()
        calendar_id = kept.get("calendar_id") if kept.get("calendar") else None
        if self.config.calendar and not calendar_id:
            calendar_id = self._calendar_id()
        start, end = now - self.lookback - BEHIND_MARGIN, now + self.lookahead + AHEAD_MARGIN
        path = (f"v1.0/me/calendars/{calendar_id}/calendarView/delta" if calendar_id
                else "v1.0/me/calendarView/delta")
        items, link = self._round(path, {"startDateTime": _iso(start), "endDateTime": _iso(end)})
        self.full_syncs += 1
        fresh = {**self._empty(), "calendar_id": calendar_id,
                 "window": [start.isoformat(), end.isoformat()]}
        instances = {i["id"]: i for i in items if "@removed" not in i and i.get("id")}
        fresh["masters"] = self._masters({i.get("seriesMasterId") for i in instances.values()},
                                         {})
        fresh["instances"] = self._without_gone(instances, fresh["masters"])
        fresh["delta_link"] = link
        return fresh

    def _merge(self, kept: dict[str, Any], items: list[dict[str, Any]], link: str
               ) -> dict[str, Any]:
        instances = dict(kept["instances"])
        touched: set[str] = set()
        for item in items:
            key = item.get("id")
            if not key:
                continue
            old = instances.get(key)
            if old and old.get("seriesMasterId"):
                touched.add(old["seriesMasterId"])
            if "@removed" in item:
                instances.pop(key, None)
            else:
                instances[key] = item
                if item.get("seriesMasterId"):
                    touched.add(item["seriesMasterId"])
        masters = self._masters(touched, kept["masters"])
        return {**kept, "instances": self._without_gone(instances, masters),
                "masters": masters, "delta_link": link}

    def _without_gone(self, instances: dict[str, Any], masters: dict[str, Any]
                      ) -> dict[str, Any]:
        return {k: i for k, i in instances.items()
                if not i.get("seriesMasterId") or i["seriesMasterId"] in masters}

    def _masters(self, touched: set[str | None], before: dict[str, Any]) -> dict[str, Any]:
        """The masters to keep: those read again (``touched``), the rest as before."""
        masters = dict(before)
        for master_id in sorted(m for m in touched if m):
            try:
                masters[master_id] = self.graph.call(
                    "GET", f"v1.0/me/events/{master_id}", what="reading a series",
                    params={"$select": MASTER_FIELDS, "$expand": EXPAND})
            except GraphError as exc:
                if exc.status != 404:
                    raise
                masters.pop(master_id, None)  # the series was deleted meanwhile
        return masters

    def _round(self, path: str, params: dict[str, str] | None
               ) -> tuple[list[dict[str, Any]], str]:
        """Every page of one delta round: the items and the new delta link."""
        items: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            page = self.graph.call("GET", path, params=params, what="reading the calendar",
                                   headers={"Prefer": f'odata.maxpagesize={PAGE_SIZE}, '
                                            'outlook.timezone="UTC"'})
            if not isinstance(page, dict):
                raise GraphError(self.name, "reading the calendar: Graph sent no page",
                                 hint="cadenced tries again at its next sync")
            items.extend(i for i in page.get("value") or [] if isinstance(i, dict))
            if page.get("@odata.deltaLink"):
                return items, page["@odata.deltaLink"]
            path, params = page.get("@odata.nextLink") or "", None
            if not path:
                raise GraphError(self.name, "reading the calendar: Graph sent neither a "
                                 "next link nor a delta link",
                                 hint="cadenced tries again at its next sync")
        raise GraphError(self.name, f"reading the calendar: more than {MAX_PAGES} pages",
                         hint="check calendar: this calendar is far too big for 1:1s")

    def _calendar_id(self) -> str:
        wanted = self.config.calendar or ""
        answer = self.graph.call("GET", "v1.0/me/calendars", what="listing the calendars")
        calendars = (answer or {}).get("value") or []
        for calendar in calendars:
            if wanted in (calendar.get("id"), calendar.get("name")):
                return str(calendar["id"])
        names = ", ".join(repr(c.get("name")) for c in calendars) or "none"
        raise GraphError(self.name, f"no calendar {wanted!r} (there are: {names})",
                         hint="set calendar to one of those names, or remove it for the "
                         "default calendar")

    def _after(self, kept: dict[str, Any], tz: ZoneInfo, interest: Interest | None
               ) -> ReadResult:
        self._keep(kept)
        return self._map(tz, interest, changed=True)

    def _map(self, tz: ZoneInfo, interest: Interest | None, *, changed: bool) -> ReadResult:
        key = (tz.key, interest)
        if self._mapped is None or self._mapped[0] != key:
            kept = self._load()
            mapped = read_events(kept["instances"].values(), kept["masters"], source=self.name,
                                 tz=tz, interest=interest)
            self._mapped = (key, ReadResult(mapped.events, mapped.total, mapped.warnings,
                                            uids=mapped.uids))
        result = self._mapped[1]
        return ReadResult(result.events, result.total, result.warnings, changed=changed,
                          uids=result.uids)

    # --- InviteWriter ---------------------------------------------------------------

    @property
    def can_write(self) -> bool:
        """Whether cadenced may change this calendar's events (config and sign-in)."""
        if self.config.write_back is False:
            return False
        return self.token.can_write

    def link_agenda(self, uid: str, link: AgendaLink, *, dry_run: bool = False
                    ) -> list[InviteChange]:
        """Put one marked line with ``link`` into the body of each kept master or single
        event with ``uid`` that the owner organizes (:mod:`connectors.microsoft.writeback`).
        One event's failure is logged and skipped; NeedsSignIn ends the step."""
        from connectors.microsoft.writeback import link as link_event

        changes: list[InviteChange] = []
        for resource in self.masters_with_uid(uid):
            try:
                change = link_event(self, resource, link, dry_run=dry_run)
            except GraphError as exc:
                log.error("%s%s", exc, f" ({exc.hint})" if exc.hint else "")
                continue
            if change is not None:
                changes.append(change)
        return changes
