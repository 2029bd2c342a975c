"""Every calendar source the contract suite runs against, behind one small interface.

A backend publishes one neutral calendar (:data:`CALENDAR`) in its own format (an ICS
file, an ICS feed over HTTP, a Google calendar in the emulator, in-memory events),
builds the real source that reads it, and can make the next read fail, add a
malformed event, or empty the calendar. A new source kind passes the suite by adding
one backend here and one entry in :data:`KINDS`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import CalendarSource
from connectors.google.auth.scopes import READ_SCOPES
from connectors.google.calendar import GoogleCalendar
from connectors.ics.source import IcsCalendar
from connectors.memory import MemoryCalendar
from daemon.config import parse_config
from daemon.core.model import Attendee, Event, PartStat, Recurrence, Status

BERLIN = ZoneInfo("Europe/Berlin")
OWNER = "me@example.com"
ADA = "ada@example.com"
GRACE = "grace@example.com"


@dataclass(frozen=True)
class Meeting:
    """One event of the neutral calendar."""

    uid: str
    start: datetime
    minutes: int
    other: str
    summary: str
    rrule: str | None = None
    cancelled: tuple[datetime, ...] = ()  # occurrences of the series cancelled
    moved: tuple[tuple[datetime, datetime], ...] = ()  # (original start, new start)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


CALENDAR = (
    Meeting("ada-weekly@contract", _at("2026-10-05T10:00"), 30, ADA, "Ada / me",
            rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=10",
            cancelled=(_at("2026-10-19T10:00"),),
            moved=((_at("2026-10-26T10:00"), _at("2026-10-27T15:00")),)),
    Meeting("grace-once@contract", _at("2026-11-03T14:00"), 45, GRACE, "1:1 Grace"),
)


def normalized(events: tuple[Event, ...]) -> set[tuple[Any, ...]]:
    """What every source must agree on, whatever its format: the meetings, their times
    as instants, who takes part and how they answered, the rule, the exceptions."""
    out = set()
    for e in events:
        people = frozenset((a.email, a.partstat) for a in e.attendees)
        rule = (tuple(_rule(r) for r in e.recurrence.rrules), frozenset(e.recurrence.exdates)
                ) if e.recurrence else None
        out.add((e.uid, e.start, e.end, e.summary, e.status, people, rule, e.recurrence_id,
                 e.organizer.email if e.organizer else None))
    return out


def _rule(rrule: str) -> frozenset[str]:
    """An RRULE's parts, in any order ("FREQ=WEEKLY;BYDAY=MO" = "BYDAY=MO;FREQ=WEEKLY")."""
    return frozenset(rrule.upper().split(";"))


# --- ICS ------------------------------------------------------------------------


def _ics_time(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


def _vevent(m: Meeting, *, start: datetime, recurrence_id: datetime | None = None,
            status: str | None = None) -> list[str]:
    end = start + timedelta(minutes=m.minutes)
    lines = ["BEGIN:VEVENT", f"UID:{m.uid}", "DTSTAMP:20261001T000000Z",
             f"DTSTART;TZID=Europe/Berlin:{_ics_time(start)}",
             f"DTEND;TZID=Europe/Berlin:{_ics_time(end)}", f"SUMMARY:{m.summary}",
             f"ORGANIZER:mailto:{OWNER}",
             f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{OWNER}",
             f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{m.other}"]
    if recurrence_id is not None:
        lines.append(f"RECURRENCE-ID;TZID=Europe/Berlin:{_ics_time(recurrence_id)}")
    elif m.rrule:
        lines.append(f"RRULE:{m.rrule}")
    if status:
        lines.append(f"STATUS:{status}")
    return [*lines, "END:VEVENT"]


def to_ics(calendar: tuple[Meeting, ...], *, malformed: bool = False) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//cadenced//contract//EN",
             "X-WR-TIMEZONE:Europe/Berlin"]
    for m in calendar:
        lines += _vevent(m, start=m.start)
        for slot in m.cancelled:
            lines += _vevent(m, start=slot, recurrence_id=slot, status="CANCELLED")
        for original, new in m.moved:
            lines += _vevent(m, start=new, recurrence_id=original)
    if malformed:  # a 1:1-looking event without DTSTART
        lines += ["BEGIN:VEVENT", "UID:broken@contract", "DTSTAMP:20261001T000000Z",
                  "SUMMARY:1:1 Ada", f"ATTENDEE:mailto:{OWNER}", f"ATTENDEE:mailto:{ADA}",
                  "END:VEVENT"]
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


@dataclass
class Backend:
    """One kind of source, its calendar, and what it promises beyond the common contract."""

    kind: str
    reports_deletions: bool = False  # an API that reports each deletion (Google's sync)
    parses: bool = True  # reads a format, so a malformed event can exist
    unchanged_costs: int | None = 1  # requests of a read when nothing changed
    state: dict[str, Any] = field(default_factory=dict)

    def publish(self, calendar: tuple[Meeting, ...], *, malformed: bool = False) -> None:
        raise NotImplementedError

    def source(self) -> CalendarSource:
        raise NotImplementedError

    def break_next_read(self) -> None:
        raise NotImplementedError

    def requests(self) -> int:
        raise NotImplementedError


class MemoryBackend(Backend):
    def __init__(self) -> None:
        super().__init__("memory", parses=False, unchanged_costs=None)
        self.calendar = MemoryCalendar("contract")

    def publish(self, calendar, *, malformed=False):
        self.calendar.events = tuple(_events(calendar))
        self.calendar.error = None

    def source(self):
        return self.calendar

    def break_next_read(self):
        self.calendar.error = "the calendar is not there"


def _events(calendar: tuple[Meeting, ...]) -> list[Event]:
    out = []
    for m in calendar:
        people = (Attendee(OWNER, partstat=PartStat.ACCEPTED),
                  Attendee(m.other, partstat=PartStat.ACCEPTED))
        base = dict(source="contract", uid=m.uid, summary=m.summary,
                    organizer=Attendee(OWNER), attendees=people)
        rule = Recurrence(rrules=(m.rrule,)) if m.rrule else None
        out.append(Event(start=m.start, end=m.start + timedelta(minutes=m.minutes),
                         recurrence=rule, **base))
        for slot in m.cancelled:
            out.append(Event(start=slot, end=slot + timedelta(minutes=m.minutes),
                             recurrence_id=slot, status=Status.CANCELLED, **base))
        for original, new in m.moved:
            out.append(Event(start=new, end=new + timedelta(minutes=m.minutes),
                             recurrence_id=original, **base))
    return out


class IcsFileBackend(Backend):
    def __init__(self, folder: Path) -> None:
        super().__init__("ics-file", unchanged_costs=None)
        self.path = folder / "calendar.ics"

    def publish(self, calendar, *, malformed=False):
        self.path.write_bytes(to_ics(calendar, malformed=malformed))

    def source(self):
        from daemon.config import IcsSource

        return self.state.setdefault("source", IcsCalendar(
            IcsSource(name="contract", url=str(self.path), timeout_seconds=5)))

    def break_next_read(self):
        self.path.write_bytes(to_ics(CALENDAR)[:200])  # cut off before END:VCALENDAR


class IcsHttpBackend(Backend):
    def __init__(self, server: Any) -> None:
        super().__init__("ics-http")
        self.server = server

    def publish(self, calendar, *, malformed=False):
        from feedserver import Reply

        self.server.routes["/contract.ics"] = Reply(body=to_ics(calendar, malformed=malformed),
                                                    etag=f'"{len(self.server.requests)}"')

    def source(self):
        from daemon.config import IcsSource

        return self.state.setdefault("source", IcsCalendar(IcsSource(
            name="contract", url=self.server.url("/contract.ics"), timeout_seconds=5)))

    def break_next_read(self):
        from feedserver import Reply

        self.server.routes["/contract.ics"] = Reply(status=500, body=b"down")

    def requests(self):
        return len(self.server.requests)


class GoogleBackend(Backend):
    def __init__(self, emulator: Any, folder: Path) -> None:
        super().__init__("google", reports_deletions=True)
        self.emulator = emulator
        self.folder = folder
        self.cal = emulator.calendar()
        self.ids: list[str] = []

    def _when(self, moment: datetime) -> dict[str, str]:
        return {"dateTime": moment.isoformat(), "timeZone": "Europe/Berlin"}

    def publish(self, calendar, *, malformed=False):
        for event_id in self.ids:
            self.cal.delete(event_id)
        self.ids = []
        for m in calendar:
            people = [{"email": OWNER, "self": True, "organizer": True,
                       "responseStatus": "accepted"},
                      {"email": m.other, "responseStatus": "accepted"}]
            resource = {"iCalUID": m.uid, "summary": m.summary, "attendees": people,
                        "start": self._when(m.start),
                        "end": self._when(m.start + timedelta(minutes=m.minutes))}
            if m.rrule:
                resource["recurrence"] = [f"RRULE:{m.rrule}"]
            master = self.cal.insert(resource)
            self.ids.append(master["id"])
            for slot in m.cancelled:
                self.cal.cancel_instance(master["id"], self._when(slot))
            for original, new in m.moved:
                self.cal.override_instance(
                    master["id"], self._when(original), start=self._when(new),
                    end=self._when(new + timedelta(minutes=m.minutes)))
        if malformed:  # an event whose start Google would never send: no time at all
            broken = self.cal.insert({"iCalUID": "broken@contract", "summary": "1:1 Ada",
                                      "start": {}, "end": {},
                                      "attendees": [{"email": OWNER, "self": True},
                                                    {"email": ADA}]})
            self.ids.append(broken["id"])

    def source(self):
        if "source" not in self.state:
            token = self.folder / "token.json"
            token.write_text(json.dumps(self.emulator.issue_token(list(READ_SCOPES))))
            os.chmod(token, 0o600)
            config = parse_config({
                "owner": {"email": OWNER, "timezone": "Europe/Berlin"},
                "sources": [{"name": "contract", "type": "google",
                             "api_root": self.emulator.root, "token_file": str(token),
                             "timeout_seconds": 5}],
            }, base_dir=self.folder).config
            from connectors.registry import build_sources

            [source] = build_sources(config, cache_dir=self.folder / "cache",
                                     state_dir=self.folder)
            assert isinstance(source, GoogleCalendar)
            source.sleep = lambda seconds: None
            self.state["source"] = source
        return self.state["source"]

    def break_next_read(self):
        self.emulator.fail("GET", r"/calendar/v3/calendars/[^/]+/events$", 500,
                           "backendError", times=None)

    def heal(self):
        self.emulator.faults.clear()

    def requests(self):
        return len([r for r in self.emulator.requests if r.path.startswith("/calendar/")])


# --- CalDAV (a real Radicale, tests/caldavserver.py) ---------------------------------


def to_resources(calendar: tuple[Meeting, ...], *, malformed: bool = False
                 ) -> dict[str, bytes]:
    """The calendar as CalDAV holds it: one resource per UID (master and overrides)."""
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//cadenced//contract//EN"]
    out = {}
    for m in calendar:
        lines = [*head, *_vevent(m, start=m.start)]
        for slot in m.cancelled:
            lines += _vevent(m, start=slot, recurrence_id=slot, status="CANCELLED")
        for original, new in m.moved:
            lines += _vevent(m, start=new, recurrence_id=original)
        out[m.uid.replace("@", "-")] = ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()
    if malformed:  # a 1:1-looking event that ends before it starts
        out["broken"] = ("\r\n".join([
            *head, "BEGIN:VEVENT", "UID:broken@contract", "DTSTAMP:20261001T000000Z",
            "DTSTART:20261104T100000Z", "DTEND:20261104T090000Z", "SUMMARY:1:1 Ada",
            f"ATTENDEE:mailto:{OWNER}", f"ATTENDEE:mailto:{ADA}", "END:VEVENT",
            "END:VCALENDAR"]) + "\r\n").encode()
    return out


class CaldavBackend(Backend):
    def __init__(self, radicale: Any, folder: Path) -> None:
        super().__init__("caldav", reports_deletions=True)
        self.radicale = radicale
        self.folder = folder

    def publish(self, calendar, *, malformed=False):
        self.radicale.faults.clear()
        wanted = to_resources(calendar, malformed=malformed)
        for name in self.radicale.names():
            if name not in wanted:
                self.radicale.delete(name)
        for name, data in wanted.items():
            self.radicale.put(name, data)

    def source(self):
        if "source" not in self.state:
            from caldavserver import PASSWORD, USER

            config = parse_config({
                "owner": {"email": OWNER, "timezone": "Europe/Berlin"},
                "sources": [{"name": "contract", "type": "caldav",
                             "url": self.radicale.url("/"), "username": USER,
                             "password_command": f"echo {PASSWORD}", "timeout_seconds": 5}],
            }, base_dir=self.folder).config
            from connectors.registry import build_sources

            [source] = build_sources(config, cache_dir=self.folder / "cache",
                                     state_dir=self.folder)
            self.state["source"] = source
        return self.state["source"]

    def break_next_read(self):
        self.radicale.fail(500, times=None)

    def requests(self):
        return self.radicale.count()


# --- Microsoft 365 (Graph) ----------------------------------------------------------


class MicrosoftBackend(Backend):
    """The neutral calendar in the Graph emulator, read by the real msal and httpx."""

    def __init__(self, emulator: Any, folder: Path) -> None:
        super().__init__("microsoft", reports_deletions=True)
        self.emulator = emulator
        self.folder = folder
        self.ids: list[str] = []

    def publish(self, calendar, *, malformed=False):
        for event_id in self.ids:
            self.emulator.delete(event_id)
        self.ids = []
        days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        for m in calendar:
            recurrence = None
            if m.rrule:  # the suite's rules are weekly with a count
                parts = dict(p.split("=") for p in m.rrule.split(";"))
                recurrence = {"pattern": {"type": "weekly", "interval": 1,
                                          "daysOfWeek": [days[m.start.weekday()]],
                                          "firstDayOfWeek": "sunday"},
                              "range": {"type": "numbered",
                                        "startDate": m.start.date().isoformat(),
                                        "numberOfOccurrences": int(parts["COUNT"])}}
            event = self.emulator.add_event(subject=m.summary, start=m.start,
                                            minutes=m.minutes, attendees=[(m.other, "accepted")],
                                            recurrence=recurrence, uid=m.uid)
            self.ids.append(event["id"])
            for slot in m.cancelled:
                self.emulator.cancel_occurrence(event["id"], slot)
            for original, new in m.moved:
                self.emulator.move_occurrence(event["id"], original, new)
        if malformed:  # a single event whose start Graph would never send
            broken = self.emulator.add_event(subject="1:1 Ada", start=_at("2026-11-04T10:00"),
                                             minutes=30, attendees=[(ADA, "accepted")],
                                             uid="broken@contract")
            self.emulator.update(broken["id"], start={"dateTime": "", "timeZone": "UTC"})
            self.ids.append(broken["id"])

    def source(self):
        if "source" not in self.state:
            from connectors.registry import build_sources

            from graphserver import config_data, sign_in

            token = self.folder / "ms-token.json"
            sign_in(self.emulator, token, read_only=True)
            config = parse_config({
                "owner": {"email": OWNER, "timezone": "Europe/Berlin"},
                "sources": [config_data(self.emulator, token, name="contract")],
            }, base_dir=self.folder).config
            [source] = build_sources(config, cache_dir=self.folder / "cache",
                                     state_dir=self.folder)
            source.sleep = lambda seconds: None
            source.clock = lambda: _at("2026-11-20T09:00")
            self.state["source"] = source
        return self.state["source"]

    def break_next_read(self):
        self.emulator.fail("GET", r"/calendarView/delta$", 503, "ServiceNotAvailable",
                           times=None)

    def requests(self):
        return len(self.emulator.graph_requests())


KINDS = ("memory", "ics-file", "ics-http", "google", "caldav", "microsoft")
