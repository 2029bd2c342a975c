"""Benchmark cadenced's Google Calendar source (incremental sync) against the local emulator.

``python bench/google_sync.py [--repeat 3] [--check] [--seed 1]``

Fills the emulator of ``tests/google_emulator.py`` with a generated manager's calendar
(deterministic for a ``--seed``: 15 weekly or fortnightly 1:1 series over 2025-2026
with about 10% exceptions, moved, shortened, cancelled and declined; three team
series with a few exceptions; 2,400 one-off meetings, team meetings of 5-10
people among them; focus time, out-of-office and all-day events; a few deleted
events; about 3,000 resources in all, two pages of 2,500), then measures, best of
``--repeat`` runs, in this one process, ``GoogleCalendar.read`` as the daemon calls it
(the owner's zone, the prefilter of the 15 configured people):

- baseline: a cold full sync: a new GoogleCalendar (from ``build_sources``) with an
  empty cache directory: every page of ``events.list``, the kept copy written, every
  resource mapped to the model;
- warm start: a new GoogleCalendar whose cache file exists (the service restarted),
  nothing changed at Google: the kept copy loaded, one incremental list with the kept
  sync token, everything mapped again (a new object has no mapping yet). Its floor is
  loading the kept copy (``json.loads`` of about 5 MB) and mapping it, not the network
  (together about 0.22x here): the target, 0.35x, is about 1.5 times that, so that it
  catches a regression (a full sync on restart would be near 1x), not the noise;
- no-change incremental sync: the same object reading again, nothing changed: one
  list call that returns no items; the mapping kept from the last read is reused;
- one-change incremental sync: one 1:1 exception moved between reads (untimed), the
  same object: one list call with one item, then the whole kept copy written again
  and every resource mapped again (the "of which" rows show these two parts, measured
  apart on the same data). It measures about 0.28x here, dominated by those two; the
  target, 0.4x, again leaves about 1.5 times that. Keeping or mapping only what
  changed would bring it near the no-change figure.

Each row also gives the HTTP requests it made (the emulator's request log; the
token is valid for the whole run, so no OAuth call is expected): a no-change sync
must be exactly one list call.

The emulator runs in this process (an HTTP server on 127.0.0.1 on its own
threads), so its work (building pages, JSON encoding) and the loopback HTTP are part
of every figure, under the same GIL: against Google, a cold sync is slower (network,
Google's latency) and the ratios of the incremental steps smaller. Caches are
written with fsync under the system's temporary directory. Figures depend on the
machine; the ratios, measured in the same run, are what the targets are about.
Exits 0 (it reports); with ``--check`` it exits 1 when a target is missed.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The emulator lives in the repository's tests/ folder.
BENCH = Path(__file__).resolve().parent
sys.path.append(str(BENCH.parent / "tests"))  # bench/ itself is first: run.py's helpers

# The imports below need that folder:
# ruff: noqa: E402
import argparse
import json
import os
import platform
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from importlib.metadata import version
from typing import Any
from zoneinfo import ZoneInfo

import run
from run import best_of

from connectors.base import ReadResult
from connectors.google.auth.scopes import READ_SCOPES
from connectors.google.calendar import GoogleCalendar
from connectors.google.events import read_events
from connectors.registry import build_sources
from daemon.config import Config, parse_config
from daemon.core.detection import Directory
from daemon.state.files import atomic_write

from google_emulator import Calendar, Emulator

OWNER = "me@example.com"
ZONE = "Europe/Berlin"
TZ = ZoneInfo(ZONE)
FIRST_DAY = date(2025, 1, 6)  # a Monday
LAST_DAY = date(2026, 12, 31)
REPORTS = 15
ONE_OFFS = 2400  # meetings with other people besides the series
FOCUS = 330
OUT_OF_OFFICE = 40
ALL_DAY = 80
DELETED_SHARE = 0.02  # one-offs deleted later: tombstones in a showDeleted listing
EXCEPTION_SHARE = 0.10  # of the 1:1 instances

WARM_TARGET = 0.35  # warm start, times the cold full sync (see the docstring)
NO_CHANGE_TARGET = 0.05  # no-change incremental sync, times the cold full sync
ONE_CHANGE_TARGET = 0.4  # one-change incremental sync, times the cold full sync
EVENTS_SUFFIX = "/events"

FIRST = ["Alex", "Priya", "Jonas", "Zoë", "Mateo", "Hannah", "Kwame", "Lena", "Tomasz", "Aiko",
         "Samuel", "Inès", "Ravi", "Freya", "Daniel", "Olga", "Chen", "Fatima", "Lukas", "Maya"]
LAST = ["Kim", "Raman", "Becker", "Müller", "García", "Schmidt", "Mensah", "Fischer", "Nowak",
        "Tanaka", "Okafor", "Dubois", "Patel", "Lindqvist", "Cohen", "Ivanova", "Wei", "Haddad"]
COLLEAGUES = ["Ana Adler", "Ben Brandt", "Carla Costa", "David Dahl", "Eva Engel", "Felix Frank",
              "Greta Graf", "Hugo Horn", "Ida Jung", "Jan Keller", "Kira Lang", "Leo Moser",
              "Mia Neumann", "Nils Ortiz", "Ola Peters", "Paul Quinn", "Rosa Roth", "Sven Stein",
              "Tara Vogel", "Uwe Wolf", "Vera Brandt", "Wim Adler"]
EXTERNAL_DOMAINS = ["partner.io", "vendor-gmbh.de", "client-corp.com", "agency.co.uk"]
ROOMS = ["Atlas", "Borealis", "Cirrus", "Delta", "Echo", "Fjord"]
TITLES = ["Design review: {t}", "{t} kickoff", "{t} sync", "Sprint planning", "Sprint retro",
          "Incident review: {t}", "Interview debrief", "Roadmap discussion", "{t} deep dive",
          "Architecture review: {t}", "Quarterly planning", "Budget check-in", "Hiring sync",
          "Customer call: {t}", "Vendor demo", "Postmortem: {t}", "OKR review", "{t} status"]
TOPICS = ["billing", "search", "onboarding flow", "mobile app", "data pipeline", "auth service",
          "pricing page", "CI migration", "observability", "GDPR export", "payments", "API v3"]
ALL_DAY_TITLES = ["Public holiday", "Team offsite", "Conference", "Company all-hands day",
                  "Release freeze", "Training"]
WORDS = ["agenda", "notes", "decisions", "follow-up", "numbers", "draft", "owners", "risks",
         "timeline", "scope", "review", "questions", "metrics", "blockers", "update", "plan",
         "proposal", "feedback", "context"]


# --- the calendar ------------------------------------------------------------------


@dataclass
class Person:
    name: str
    email: str
    interval: int = 1  # weeks between 1:1s (reports only)


@dataclass
class Generated:
    resources: int = 0
    series: int = 0
    exceptions: int = 0
    one_offs: int = 0
    other: int = 0  # focus time, out of office, all-day
    deleted: int = 0
    moved: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)


class Maker:
    """Builds Google event resources the way Google sends them (Meet links, rooms, ...)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def event_id(self) -> str:
        return "".join(self.rng.choice("0123456789abcdefghijklmnopqrstuv") for _ in range(26))

    def text(self, sentences: int) -> str:
        return " ".join(" ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(5, 12)))
                        .capitalize() + "." for _ in range(sentences))

    def meet(self) -> dict[str, Any]:
        letters = "abcdefghijklmnopqrstuvwxyz"
        code = "-".join("".join(self.rng.choice(letters) for _ in range(n)) for n in (3, 4, 3))
        pin = str(self.rng.randint(100_000_000, 999_999_999))
        return {
            "hangoutLink": f"https://meet.google.com/{code}",
            "conferenceData": {
                "entryPoints": [
                    {"entryPointType": "video", "uri": f"https://meet.google.com/{code}",
                     "label": f"meet.google.com/{code}"},
                    {"entryPointType": "more", "uri": f"https://tel.meet/{code}?pin={pin}",
                     "pin": pin},
                    {"entryPointType": "phone", "uri": "tel:+49-30-300195555",
                     "label": "+49 30 300195555", "pin": pin, "regionCode": "DE"}],
                "conferenceSolution": {
                    "key": {"type": "hangoutsMeet"}, "name": "Google Meet",
                    "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/"
                               "web-512dp/logo_meet_2020q4_color_2x_web_512dp.png"},
                "conferenceId": code},
        }

    def meeting(self, summary: str, start: datetime, minutes: int, others: list[Person], *,
                organizer: Person | None = None, recurrence: list[str] | None = None,
                room: bool = False) -> dict[str, Any]:
        """A meeting with the owner (the organizer unless ``organizer`` is given)."""
        rng = self.rng
        attendees: list[dict[str, Any]] = [{"email": OWNER, "self": True,
                                            "responseStatus": "accepted"}]
        if organizer is None:
            attendees[0]["organizer"] = True
        for person in others:
            entry: dict[str, Any] = {"email": person.email, "responseStatus": rng.choices(
                ["accepted", "tentative", "needsAction", "declined"], [80, 6, 10, 4])[0]}
            if person is organizer:
                entry.update(organizer=True, responseStatus="accepted")
            if rng.random() < 0.5:
                entry["displayName"] = person.name
            attendees.append(entry)
        resource: dict[str, Any] = {
            "id": self.event_id(), "summary": summary,
            "start": when(start), "end": when(start + timedelta(minutes=minutes)),
            "attendees": attendees, "guestsCanModify": False,
            "reminders": {"useDefault": True},
        }
        if organizer is not None:
            resource["organizer"] = {"email": organizer.email, "displayName": organizer.name}
            resource["creator"] = dict(resource["organizer"])
        if rng.random() < 0.6:
            resource["description"] = self.text(rng.randint(1, 4))
        if rng.random() < 0.85:
            resource.update(self.meet())
        if room:
            name = rng.choice(ROOMS)
            resource["location"] = f"Berlin-HQ-3-{name} (8)"
            attendees.append({"email": f"c_{self.event_id()}@resource.calendar.google.com",
                              "displayName": f"Berlin-HQ-3-{name} (8)", "resource": True,
                              "responseStatus": "accepted"})
        if recurrence:
            resource["recurrence"] = recurrence
        return resource


def when(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.isoformat(), "timeZone": ZONE}


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, clock(hour, minute), tzinfo=TZ)


def workdays() -> list[date]:
    days, day = [], FIRST_DAY
    while day <= LAST_DAY:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def reports() -> list[Person]:
    people = []
    for i in range(REPORTS):
        first, last = FIRST[i], LAST[i]
        email = f"{first.lower()}.{last.lower()}@example.com".encode("ascii", "ignore").decode()
        people.append(Person(f"{first} {last}", email, interval=2 if i % 3 == 2 else 1))
    return people


def colleagues() -> list[Person]:
    return [Person(name, name.lower().replace(" ", ".") + "@example.com") for name in COLLEAGUES]


def one_on_ones(cal: Calendar, make: Maker, report: Person, index: int, out: Generated) -> None:
    rng = make.rng
    weekday = rng.randrange(5)
    day = FIRST_DAY + timedelta(days=weekday + 7 * rng.randrange(3))
    hour, minute = rng.choice([(9, 30), (10, 0), (11, 0), (13, 30), (14, 0), (15, 0), (16, 0)])
    minutes = 30 if report.interval == 1 else rng.choice([45, 60])
    byday = ["MO", "TU", "WE", "TH", "FR"][weekday]
    rule = f"RRULE:FREQ=WEEKLY;BYDAY={byday}" + (
        f";INTERVAL={report.interval}" if report.interval > 1 else "")
    organizer = report if index % 5 == 4 else None  # a few series the report set up
    master = cal.insert(make.meeting(f"{report.name.split()[0]} / Me", local(day, hour, minute),
                                     minutes, [report], organizer=organizer, recurrence=[rule]))
    out.series += 1
    while day <= LAST_DAY:
        start = local(day, hour, minute)
        original = when(start)
        day += timedelta(weeks=report.interval)
        if rng.random() >= EXCEPTION_SHARE:
            continue
        kind = rng.choices(["moved", "shortened", "cancelled", "declined"], [35, 20, 30, 15])[0]
        if kind == "cancelled":
            cal.cancel_instance(master["id"], original)
        elif kind == "moved":
            target = start.date() + timedelta(days=rng.choice([0, 1, 1, 2, -1]))
            if target.weekday() > 4:
                target -= timedelta(days=2)
            moved = local(target, rng.choice([9, 11, 14, 16, 17]), rng.choice([0, 30]))
            fields = {"start": when(moved), "end": when(moved + timedelta(minutes=minutes))}
            exception = cal.override_instance(master["id"], original, **fields)
            out.moved.append((exception["id"], fields, {
                "start": when(moved + timedelta(hours=1)),
                "end": when(moved + timedelta(hours=1, minutes=minutes))}))
        elif kind == "shortened":
            cal.override_instance(master["id"], original,
                                  end=when(start + timedelta(minutes=minutes // 2)))
        else:
            attendees = json.loads(json.dumps(master["attendees"]))
            who = attendees[1] if rng.random() < 0.7 else attendees[0]  # they, or I, declined
            who["responseStatus"] = "declined"
            cal.override_instance(master["id"], original, attendees=attendees)
        out.exceptions += 1


def team_series(cal: Calendar, make: Maker, team: list[Person], peers: list[Person],
                out: Generated) -> None:
    rng = make.rng
    plans = [("Team weekly", 0, 10, 60, 1, team[:9]),
             ("Engineering planning", 2, 14, 60, 2, team[:5] + peers[:4]),
             ("Leads sync", 3, 9, 30, 1, peers[:6])]
    for summary, weekday, hour, minutes, interval, people in plans:
        day = FIRST_DAY + timedelta(days=weekday)
        rule = f"RRULE:FREQ=WEEKLY;BYDAY={['MO', 'TU', 'WE', 'TH', 'FR'][weekday]}" + (
            f";INTERVAL={interval}" if interval > 1 else "")
        master = cal.insert(make.meeting(summary, local(day, hour), minutes, people,
                                         recurrence=[rule], room=True))
        out.series += 1
        while day <= LAST_DAY:
            original = when(local(day, hour))
            if rng.random() < 0.06:
                if rng.random() < 0.5:
                    cal.cancel_instance(master["id"], original)
                else:
                    moved = local(day, hour + 1)
                    cal.override_instance(master["id"], original, start=when(moved),
                                          end=when(moved + timedelta(minutes=minutes)))
                out.exceptions += 1
            day += timedelta(weeks=interval)


def one_offs(cal: Calendar, make: Maker, team: list[Person], peers: list[Person],
             out: Generated) -> None:
    rng = make.rng
    days = workdays()
    externals = [Person(f"{p.name} ({d})", p.email.replace("example.com", d))
                 for p in peers[:8] for d in EXTERNAL_DOMAINS[:2]]
    for _ in range(ONE_OFFS):
        day = rng.choice(days)
        start = local(day, rng.randint(8, 17), rng.choice([0, 0, 15, 30, 30, 45]))
        minutes = rng.choice([15, 25, 30, 30, 45, 50, 60, 60, 90])
        kind = rng.random()
        if kind < 0.35:  # a team or project meeting
            others = rng.sample(team + peers, rng.randint(5, 10))
        elif kind < 0.85:
            others = rng.sample(team + peers, rng.randint(2, 4))
        elif kind < 0.95:
            others = rng.sample(externals, rng.randint(1, 3)) + rng.sample(peers, 1)
        else:  # an ad-hoc 1:1 with a report
            others = [rng.choice(team)]
        organizer = rng.choice(others) if rng.random() < 0.4 else None
        title = rng.choice(TITLES).format(t=rng.choice(TOPICS))
        if len(others) == 1:
            title = f"{others[0].name.split()[0]} / Me (extra)"
        resource = cal.insert(make.meeting(title, start, minutes, others, organizer=organizer,
                                           room=len(others) >= 5 and rng.random() < 0.6))
        out.one_offs += 1
        if rng.random() < DELETED_SHARE:
            cal.delete(resource["id"])
            out.deleted += 1
    for _ in range(FOCUS):
        start = local(rng.choice(days), rng.choice([8, 9, 13, 14, 15]))
        cal.insert({
            "id": make.event_id(), "summary": "Focus time", "eventType": "focusTime",
            "start": when(start), "end": when(start + timedelta(hours=rng.choice([1, 2, 3]))),
            "transparency": "opaque", "visibility": "public", "reminders": {"useDefault": False},
            "focusTimeProperties": {"autoDeclineMode": "declineOnlyNewConflictingInvitations",
                                    "declineMessage": "Declined because I am in focus time.",
                                    "chatStatus": "doNotDisturb"}})
        out.other += 1
    for _ in range(OUT_OF_OFFICE):
        day = rng.choice(days)
        cal.insert({
            "id": make.event_id(), "summary": "Out of office", "eventType": "outOfOffice",
            "start": when(local(day, 0)),
            "end": when(local(day + timedelta(days=rng.randint(1, 5)), 0)),
            "transparency": "opaque", "reminders": {"useDefault": False},
            "outOfOfficeProperties": {"autoDeclineMode": "declineAllConflictingInvitations",
                                      "declineMessage": "I am out of office."}})
        out.other += 1
    for _ in range(ALL_DAY):
        day = rng.choice(days)
        cal.insert({
            "id": make.event_id(), "summary": rng.choice(ALL_DAY_TITLES),
            "start": {"date": day.isoformat()},
            "end": {"date": (day + timedelta(days=rng.choice([1, 1, 1, 2]))).isoformat()},
            "transparency": "transparent", "reminders": {"useDefault": False}})
        out.other += 1


def populate(cal: Calendar, seed: int) -> Generated:
    make = Maker(random.Random(seed))
    out = Generated()
    team, peers = reports(), colleagues()
    for index, report in enumerate(team):
        one_on_ones(cal, make, report, index, out)
    team_series(cal, make, team, peers, out)
    one_offs(cal, make, team, peers, out)
    out.resources = len(cal.events)
    return out


def bench_config(emulator: Emulator, token: Path) -> Config:
    return parse_config({
        "owner": {"email": OWNER, "timezone": ZONE},
        "people": [{"name": p.name, "email": p.email, "cadence_days": 7 * p.interval}
                   for p in reports()],
        "sources": [{"name": "g", "type": "google", "api_root": emulator.root,
                     "token_file": str(token), "timeout_seconds": 30}],
    }).config


# --- measuring ---------------------------------------------------------------------


class Requests:
    """What the emulator was asked during each timed call of a step."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.seen: list[tuple[int, int]] = []  # (requests, of which events.list calls)

    def around(self, run: Callable[[], ReadResult]) -> Callable[[], ReadResult]:
        def counted() -> ReadResult:
            before = len(self.emulator.requests)
            result = run()
            made = self.emulator.requests[before:]
            self.seen.append((len(made), sum(
                r.method == "GET" and r.path.rstrip("/").endswith(EVENTS_SUFFIX) for r in made)))
            return result
        return counted

    def cell(self) -> str:
        kinds = sorted(set(self.seen))
        return ", ".join(f"{n} ({lists} list)" for n, lists in kinds) or "-"


@dataclass
class Row(run.Row):
    requests: str = ""

    def cells(self) -> list[str]:
        if self.seconds is None:
            return [self.name, "n/a", "", self.requests, self.target, "", "SKIP"]
        measured = f"{self.measured:.3f}" if self.measured is not None else ""
        return [self.name, f"{self.seconds:.4f}", f"{self.seconds / self.baseline:.3f}x",
                self.requests, self.target, measured, self.verdict]


def table(rows: list[Row]) -> str:
    header = ["measurement", "seconds", "vs baseline", "requests", "target", "measured",
              "result"]
    cells = [header] + [r.cells() for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = []
    for i, cell in enumerate(cells):
        lines.append("  ".join(text.ljust(w) if j in (0, 3, 4) else text.rjust(w)
                               for j, (text, w) in enumerate(zip(cell, widths, strict=True)))
                     .rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--seed", type=int, default=1, help="the calendar's seed (default 1)")
    args = parser.parse_args(argv)
    repeat = max(1, args.repeat)

    emulator = Emulator(owner=OWNER)
    work = Path(tempfile.mkdtemp(prefix="cadenced-bench-google-"))
    try:
        return measure(emulator, work, repeat, args.seed, check=args.check)
    finally:
        emulator.stop()
        shutil.rmtree(work, ignore_errors=True)


def measure(emulator: Emulator, work: Path, repeat: int, seed: int, *, check: bool) -> int:
    cal = emulator.calendar("primary")
    made = populate(cal, seed)
    token = work / "token.json"
    token.write_text(json.dumps(emulator.issue_token(list(READ_SCOPES))))
    os.chmod(token, 0o600)
    config = bench_config(emulator, token)
    tz = config.owner.tz
    interest = Directory.from_config(config)
    state_dir = work / "state"

    def new_source(cache_dir: Path) -> GoogleCalendar:
        [source] = build_sources(config, cache_dir=cache_dir, state_dir=state_dir)
        assert isinstance(source, GoogleCalendar)
        return source

    def reading(get: Callable[[], GoogleCalendar]) -> Callable[[], ReadResult]:
        def read() -> ReadResult:
            result = get().read(tz=tz, interest=interest)
            if not result.events:  # an empty read would look fast
                raise SystemExit("the Google source read no events")
            return result
        return read

    # baseline: cold full sync, a new object and an empty cache directory every time
    current: list[GoogleCalendar] = []
    serial = iter(range(1, 10_000))

    def cold_setup() -> None:
        current[:] = [new_source(work / f"cold-{next(serial)}")]

    cold_requests = Requests(emulator)
    baseline = best_of(repeat, cold_requests.around(reading(lambda: current[0])), cold_setup)
    cold = current[0]
    assert cold.cache_file is not None
    cache_bytes = cold.cache_file.read_bytes()
    cold_result = cold.read(tz=tz, interest=interest)  # also checks the cold state is usable

    # warm start: a new object over the cache file the cold sync left, nothing changed
    warm_dir = cold.cache_file.parent

    def warm_setup() -> None:
        current[:] = [new_source(warm_dir)]

    warm_requests = Requests(emulator)
    warm = best_of(repeat, warm_requests.around(reading(lambda: current[0])), warm_setup)
    warm_full = current[0].full_syncs

    # the same object, nothing changed
    source = current[0]
    no_change_requests = Requests(emulator)
    no_change = best_of(max(repeat, 5), no_change_requests.around(reading(lambda: source)))

    # the same object, one 1:1 exception moved between reads (back and forth)
    if not made.moved:
        raise SystemExit("the generated calendar has no moved 1:1 exception to edit")
    exception_id, there, back = made.moved[0]
    flips = iter(range(10_000))

    def one_change_setup() -> None:
        cal.update(exception_id, **(back if next(flips) % 2 == 0 else there))

    one_change_requests = Requests(emulator)
    one_change = best_of(repeat, one_change_requests.around(reading(lambda: source)),
                         one_change_setup)
    moved_to = cal.get(exception_id)["start"]
    kept = source.resource(exception_id)
    if kept is None or kept["start"] != moved_to:
        raise SystemExit("the one-change sync did not take the change")
    full_syncs = source.full_syncs

    # where a warm start and a one-change sync spend their time
    assert source.cache_file is not None
    events = json.loads(source.cache_file.read_bytes())["events"]
    load_only = best_of(repeat, lambda: json.loads(source.cache_file.read_bytes()))
    map_only = best_of(repeat, lambda: read_events(events.values(), source="g", tz=tz,
                                                   interest=interest))
    scratch = work / "scratch.google.json"
    write_only = best_of(repeat, lambda: atomic_write(scratch, json.dumps(
        {"version": 1, "calendar_id": "primary", "sync_token": "x", "events": events},
        ensure_ascii=False, separators=(",", ":")).encode(), 0o600))

    print(f"calendar: emulator 'primary', {made.resources} resources ({made.series} series, "
          f"{made.exceptions} exceptions, {made.one_offs} one-off meetings of which "
          f"{made.deleted} deleted, {made.other} focus time, out of office and all-day); "
          f"mapped {len(cold_result.events)} of {cold_result.total} (prefilter: "
          f"{REPORTS} people); kept copy {len(cache_bytes) / 1e6:.1f} MB")
    print(f"python {platform.python_version()}, google-api-python-client "
          f"{version('google-api-python-client')}, google-auth {version('google-auth')}, "
          f"httplib2 {version('httplib2')}, icalendar {version('icalendar')}, "
          f"{os.cpu_count()} CPUs, best of {repeat}")

    rows = [
        Row("baseline: cold full sync (new object, empty cache)", baseline, baseline,
            requests=cold_requests.cell()),
        Row("warm start (new object, cache file, no change)", warm, baseline,
            f"<= {WARM_TARGET}x baseline", warm / baseline, WARM_TARGET,
            requests=warm_requests.cell()),
        Row("  of which: load the kept copy (json.loads)", load_only, baseline),
        Row("  of which: map to the model (read_events)", map_only, baseline),
        Row("no-change incremental sync (same object)", no_change, baseline,
            f"<= {NO_CHANGE_TARGET}x baseline", no_change / baseline, NO_CHANGE_TARGET,
            requests=no_change_requests.cell()),
        Row("one-change incremental sync (same object)", one_change, baseline,
            f"<= {ONE_CHANGE_TARGET}x baseline", one_change / baseline, ONE_CHANGE_TARGET,
            requests=one_change_requests.cell()),
        Row("  of which: write the kept copy (dumps, fsync)", write_only, baseline),
        Row("  of which: map to the model (read_events)", map_only, baseline),
    ]
    print()
    print(table(rows))
    print()
    no_change_ok = set(no_change_requests.seen) == {(1, 1)}
    print(f"requests are (all, of which events.list) per timed call; no-change sync: "
          f"{'1 list call' if no_change_ok else no_change_requests.cell() + ' (!)'}; "
          f"full syncs: cold 1 each, warm start {warm_full}, after the incremental "
          f"syncs {full_syncs}{' (!)' if warm_full or full_syncs else ''}")
    missed = [r.name for r in rows if r.verdict == "MISS"] + (
        [] if no_change_ok else ["no-change: one list call"]) + (
        ["full sync after a restart or change"] if warm_full or full_syncs else [])
    if missed:
        print("missed: " + ", ".join(missed))
    return 1 if check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
