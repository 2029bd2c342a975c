"""A Google calendar as a :class:`~connectors.base.CalendarSource`, synced incrementally.

The first read is a full sync: ``events.list`` with ``singleEvents=false`` (series
masters and their exceptions, not expanded instances) and ``showDeleted=true``
(cancelled instances and deleted events come as ``status: cancelled``), every
page. Its ``nextSyncToken`` is kept; later reads ask only for what changed since,
with that token and nothing that Google forbids beside it (no timeMin, timeMax,
orderBy or q). Google answers 410 when a token is too old: then a full sync
again. History is unaffected: it lives in the state, not in the token.

The events as Google last sent them (the raw resources) and the sync token are
kept together in one file in the cache directory (0600, written atomically), so
a token always describes the events beside it, also across a crash. The mapping
to the core model is :mod:`connectors.google.events`; the rules never see a
Google dict.

Reading also gives the write-back (:mod:`connectors.google.writeback`) the raw
events with their etags, which it needs to patch the invites cadenced links an
agenda from.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import AgendaLink, Booking, Interest, InviteChange, ReadResult, file_name
from connectors.google.api import build_service, execute
from connectors.google.auth.token import TokenFile
from connectors.google.errors import GoogleApiError
from connectors.google.events import read_events
from daemon.config import GoogleSource
from daemon.core.suggest import TheirBusy
from daemon.state.files import atomic_write

log = logging.getLogger(__name__)

PAGE_SIZE = 2500  # the most events.list gives per page
MAX_PAGES = 400  # a million events: a calendar that big is a mistake, not a manager's
CACHE_VERSION = 1


class GoogleCalendar:
    """Reads one Google calendar through the Calendar API."""

    def __init__(self, config: GoogleSource, *, token: TokenFile, cache_dir: Path | None = None,
                 sleep: Callable[[float], None] = time.sleep, persist: bool = True) -> None:
        self.name = config.name
        self.config = config
        self.token = token
        self.sleep = sleep
        self.cache_file = (cache_dir / f"{file_name(config.name)}.google.json"
                           if cache_dir else None)
        self.persist = persist  # False (a dry run): the kept copy is read, never written
        self._events: dict[str, dict[str, Any]] | None = None  # id -> resource
        self._sync_token: str | None = None
        self._service: Any = None
        self._service_credentials: Any = None
        self._docs: tuple[Any, tuple[Any, Any]] = (None, (None, None))
        self._mapped: tuple[object, ReadResult] | None = None
        self.full_syncs = 0  # how many full syncs this object ran: for tests and benchmarks

    # --- the client -------------------------------------------------------------

    def service(self) -> Any:
        """The Calendar client, with credentials refreshed when needed."""
        credentials = self.token.credentials()
        if self._service is None or credentials is not self._service_credentials:
            self._service = build_service("calendar", credentials, api_root=self.config.api_root,
                                          timeout=self.config.timeout_seconds)
            self._service_credentials = credentials
        return self._service

    def docs_services(self) -> tuple[Any, Any]:
        """Drive and Docs clients with this source's sign-in (for the Docs agendas)."""
        credentials = self.token.credentials()
        if self._docs[0] is not credentials:
            self._docs = (credentials, (
                build_service("drive", credentials, api_root=self.config.api_root,
                              timeout=self.config.timeout_seconds),
                build_service("docs", credentials, api_root=self.config.api_root,
                              timeout=self.config.timeout_seconds)))
        return self._docs[1]

    @property
    def can_write(self) -> bool:
        """Whether cadenced may patch this calendar's events (config and scopes)."""
        if self.config.write_back is False:
            return False
        return self.token.can_write

    # --- the kept events ------------------------------------------------------------

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._events is not None:
            return self._events
        self._events, self._sync_token = {}, None
        if self.cache_file is None:
            return self._events
        try:
            data = json.loads(self.cache_file.read_bytes())
        except FileNotFoundError:
            return self._events
        except (OSError, ValueError) as exc:
            log.warning("source %r: its kept copy %s is unreadable (%s); syncing in full",
                        self.name, self.cache_file, exc)
            return self._events
        if (isinstance(data, dict) and data.get("version") == CACHE_VERSION
                and data.get("calendar_id") == self.config.calendar_id
                and isinstance(data.get("events"), dict)):
            self._events = data["events"]
            self._sync_token = data.get("sync_token")
        return self._events

    def _keep(self, events: dict[str, dict[str, Any]], sync_token: str | None) -> None:
        self._events, self._sync_token = events, sync_token
        self._mapped = None
        if self.cache_file is None or not self.persist:
            return
        data = json.dumps({"version": CACHE_VERSION, "calendar_id": self.config.calendar_id,
                           "sync_token": sync_token, "events": events},
                          ensure_ascii=False, separators=(",", ":")).encode()
        try:
            atomic_write(self.cache_file, data, 0o600)
        except OSError as exc:
            log.warning("source %r: cannot keep a copy of its events: %s", self.name,
                        exc.strerror)

    def resource(self, event_id: str) -> dict[str, Any] | None:
        """The kept resource of ``event_id`` (as of the last read)."""
        return self._load().get(event_id)

    def events_with_uid(self, uid: str) -> list[dict[str, Any]]:
        """The kept masters and one-offs (not exceptions) whose iCalUID is ``uid``."""
        return [e for e in self._load().values()
                if e.get("iCalUID") == uid and not e.get("recurringEventId")]

    def remember(self, resource: dict[str, Any]) -> None:
        """Keep ``resource`` as Google returned it after a write (same sync token)."""
        events = dict(self._load())
        events[resource["id"]] = resource
        self._keep(events, self._sync_token)

    # --- InviteWriter ---------------------------------------------------------------

    def link_agenda(self, uid: str, link: AgendaLink, *, dry_run: bool = False
                    ) -> list[InviteChange]:
        """Link the agenda Doc from the kept masters and one-offs with ``uid``
        (:func:`connectors.google.writeback.link` decides what the owner organizes
        and what is already there). One event's failure is logged and skipped;
        ``NeedsSignIn`` ends the step."""
        from connectors.google.writeback import Link
        from connectors.google.writeback import link as link_event

        if link.document_id is None:
            return []  # Google attaches Docs: a link without one stays out of invites
        target = Link(link.document_id, link.url, link.title)
        changes: list[InviteChange] = []
        for resource in self.events_with_uid(uid):
            try:
                patch = link_event(self, resource, target, dry_run=dry_run)
            except GoogleApiError as exc:
                log.error("%s%s", exc, f" ({exc.hint})" if exc.hint else "")
                continue
            if patch is not None:
                changes.append(patch)
        return changes

    # --- Availability ---------------------------------------------------------------

    def busy_of(self, addresses: Sequence[str], start: datetime, end: datetime
                ) -> dict[str, TheirBusy]:
        """When colleagues are busy (:mod:`connectors.google.freebusy`)."""
        from connectors.google.freebusy import busy_of

        return busy_of(self, addresses, start, end)

    # --- EventBooker ----------------------------------------------------------------

    def book(self, booking: Booking, *, dry_run: bool = False) -> str:
        """Book a one-off 1:1 (:mod:`connectors.google.booking`), at most once."""
        from connectors.google.booking import book

        return book(self, booking, dry_run=dry_run)

    # --- CalendarSource -------------------------------------------------------------

    def checkpoint(self) -> dict[str, str | None]:
        return {}  # the sync token lives with the events it describes, in the cache file

    def last_good(self, *, tz: ZoneInfo, interest: Interest | None) -> ReadResult | None:
        events = self._load()
        if not events and self._sync_token is None:
            return None
        return self._map(tz, interest, changed=False)

    def read(self, *, tz: ZoneInfo, interest: Interest | None) -> ReadResult:
        service = self.service()
        events = self._load()
        token = self._sync_token
        changed: list[dict[str, Any]] = []
        full = token is None
        if token is not None:
            try:
                changed, token = self._list(service, token)
            except GoogleApiError as exc:
                if exc.status != 410:
                    raise
                log.info("source %r: Google asks for a full sync (its sync token expired)",
                         self.name)
                full = True
        if full:
            # The API says explicitly what was deleted, so unlike an emptied ICS export
            # a full answer is the calendar's truth, even an empty one.
            changed, token = self._list(service, None)
            self.full_syncs += 1
            fresh = {e["id"]: e for e in changed if isinstance(e, dict) and "id" in e}
            return self._after(fresh, token, tz, interest)
        if not changed:
            return self._map(tz, interest, changed=False)
        merged = dict(events)
        for item in changed:
            if isinstance(item, dict) and "id" in item:
                merged[item["id"]] = item
        return self._after(merged, token, tz, interest)

    def _after(self, events: dict[str, dict[str, Any]], token: str | None, tz: ZoneInfo,
               interest: Interest | None) -> ReadResult:
        self._keep(events, token)
        return self._map(tz, interest, changed=True)

    def _map(self, tz: ZoneInfo, interest: Interest | None, *, changed: bool) -> ReadResult:
        key = (tz.key, interest)
        if self._mapped is None or self._mapped[0] != key:
            mapped = read_events(self._load().values(), source=self.name, tz=tz,
                                 interest=interest)
            self._mapped = (key, ReadResult(mapped.events, mapped.total, mapped.warnings,
                                            uids=mapped.uids))
        result = self._mapped[1]
        return ReadResult(result.events, result.total, result.warnings, changed=changed,
                          uids=result.uids)

    def _list(self, service: Any, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Every page of events.list: a full list (no token) or the changes since ``token``."""
        items: list[dict[str, Any]] = []
        for page in self._pages(service, token):
            items.extend(page.get("items") or [])
            if page.get("nextSyncToken"):
                return items, page["nextSyncToken"]
        raise GoogleApiError(self.name, "listing events: Google sent no sync token",
                             hint="cadenced tries again at its next sync")

    def _pages(self, service: Any, token: str | None) -> Iterator[dict[str, Any]]:
        page_token: str | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"calendarId": self.config.calendar_id,
                                      "singleEvents": False, "showDeleted": True,
                                      "maxResults": PAGE_SIZE}
            if token is not None:
                params["syncToken"] = token
            if page_token is not None:
                params["pageToken"] = page_token
            page = execute(service.events().list(**params), source=self.name,
                           what="listing events", sleep=self.sleep)
            yield page
            page_token = page.get("nextPageToken")
            if not page_token:
                return
        raise GoogleApiError(self.name, f"listing events: more than {MAX_PAGES} pages",
                             hint="check calendar_id: this calendar is far too big for 1:1s")
