"""Generate a large, realistic manager calendar as one ICS file (a Google Calendar export).

Deterministic: the same ``--seed``, ``--years`` and ``--reports`` give the same file, except
for the DTSTAMP lines, which carry the generation time as Google's do (``--dtstamp`` fixes
them too). The calendar belongs to ``manager@example.com`` ("Morgan Manager") and ends on
2026-12-31. It holds:

- one weekly 1:1 series per report (``report01@example.com`` ...), some starting later,
  some split "this and following" into a weekly and a fortnightly series (the second one
  is what ``cadence_reduced`` is about), one ended when the report left, one ended without
  a successor; each with moved, shortened, cancelled and declined instances
  (RECURRENCE-ID overrides) and EXDATEs, some with a meeting room;
- a few weekly team meetings (5-12 people) with their own overrides;
- about 1,300 one-off meetings a year (3-10 people) on workdays, a few ad-hoc 1:1s;
- personal events without attendees (a few titled "1:1 <name>"), all-day events.

``python bench/generate.py --out bench/out/manager.ics --config bench/out/config.toml``
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Europe/Berlin")
TZID = "Europe/Berlin"
END = date(2026, 12, 31)  # the last day with content
OWNER_EMAIL = "manager@example.com"
OWNER_NAME = "Morgan Manager"
OWNER_ALIAS = "morgan.manager@example.org"  # an old account, organizer of some meetings
DOMAIN = "example.com"

ONE_OFFS_PER_YEAR = 1300
AD_HOC_ONE_ON_ONES_PER_YEAR = 25
TITLE_ONLY_ONE_ON_ONES_PER_YEAR = 4
PERSONAL_PER_YEAR = 80
ALL_DAY_PER_YEAR = 25
# people besides the owner in a one-off meeting: 2..9, small meetings are more common
OTHERS_PER_MEETING = (2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 6, 7, 9)

FIRST = [
    "Alex", "Priya", "Jonas", "Zoë", "Mateo", "Hannah", "Kwame", "Lena", "Tomasz", "Aiko",
    "Samuel", "Inès", "Ravi", "Freya", "Daniel", "Olga", "Chen", "Fatima", "Lukas", "Maya",
    "Diego", "Sofia", "Emeka", "Noor", "Pavel", "Yuki", "Elif", "Marco", "Ingrid", "Kofi",
]
LAST = [
    "Kim", "Raman", "Becker", "Müller", "García", "Schmidt", "Mensah", "Fischer", "Nowak",
    "Tanaka", "Okafor", "Dubois", "Patel", "Lindqvist", "Cohen", "Ivanova", "Wei", "Haddad",
    "Weber", "Levi", "Santos", "Rossi", "Eze", "Khan", "Novák", "Sato", "Yılmaz", "Bianchi",
    "Berg", "Boateng",
]
COLLEAGUE_FIRST = [
    "Ana", "Ben", "Carla", "David", "Eva", "Felix", "Greta", "Hugo", "Ida", "Jan", "Kira",
    "Leo", "Mia", "Nils", "Ola", "Paul", "Rosa", "Sven", "Tara", "Uwe", "Vera", "Wim",
]
COLLEAGUE_LAST = [
    "Adler", "Brandt", "Costa", "Dahl", "Engel", "Frank", "Graf", "Horn", "Jung", "Keller",
    "Lang", "Moser", "Neumann", "Ortiz", "Peters", "Quinn", "Roth", "Stein", "Vogel", "Wolf",
]
EXTERNAL_DOMAINS = ["partner.io", "vendor-gmbh.de", "client-corp.com", "agency.co.uk"]
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR"]

ONE_OFF_TITLES = [
    "Design review: {topic}", "{topic} kickoff", "{topic} sync", "Sprint planning",
    "Sprint retro", "Incident review: {topic}", "Interview debrief", "Roadmap discussion",
    "Architecture review: {topic}", "Quarterly planning", "Budget check-in", "Hiring sync",
    "{topic} deep dive", "Customer call: {topic}", "Vendor demo", "Postmortem: {topic}",
    "Cross-team alignment, {topic}", "Offsite planning", "OKR review", "{topic} status",
]
TOPICS = [
    "billing", "search", "onboarding flow", "mobile app", "data pipeline", "auth service",
    "pricing page", "CI migration", "observability", "GDPR export", "payments", "API v3",
    "reporting", "notifications", "release process", "cost reduction", "SSO", "checkout",
]
PERSONAL_TITLES = [
    "Focus time", "Lunch", "Gym", "Dentist", "Hiring packet review", "Pick up kids",
    "Inbox zero", "Prep: quarterly review", "Doctor", "Write performance reviews",
    "Commute", "Read RFCs", "Block: strategy doc",
]
ALL_DAY_TITLES = [
    "Out of office", "Vacation", "Conference: {topic}", "Public holiday", "Team offsite",
    "Training day", "Working from Hamburg",
]
AGENDA_LINES = [
    "How are you doing, really?", "Wins since last time", "Blockers", "Career growth",
    "Feedback, both ways", "Project updates", "Anything on your mind?", "Hiring pipeline",
    "Goals for the quarter", "Workload check", "Learning plan", "Team dynamics",
]
MEET_BLOCK = (
    "-::~:~::~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~::~:~::-\n"
    "Join with Google Meet: https://meet.google.com/{code}\n"
    "Or dial: (DE) +49 30 300195{pin} PIN: {pin2}#\n"
    "More phone numbers: https://tel.meet/{code}?pin={pin2}\n\n"
    "Learn more about Meet at: https://support.google.com/a/users/answer/9282720\n\n"
    "Please do not edit this section.\n"
    "-::~:~::~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~::~:~::-"
)
LOREM = (
    "We will go through the open questions from last week and agree on next steps. "
    "Please read the linked document before the meeting and add your comments inline. "
    "Decisions and action items will be captured in the notes. "
    "If you cannot make it, send a delegate or your input in writing. "
    "Background: the current approach does not scale with the number of customers, "
    "and the team has proposed two alternatives with different trade-offs. "
).rstrip(". ").split(". ")

VTIMEZONE = [
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Berlin",
    "X-LIC-LOCATION:Europe/Berlin",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
]


# --- people ----------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class Report:
    person: Person
    alias: str | None = None  # another address of theirs, used in their 1:1 invites


OWNER = Person(OWNER_NAME, OWNER_EMAIL)


def make_reports(count: int) -> list[Report]:
    """``count`` reports: report01@example.com ... with distinct names."""
    reports = []
    for i in range(count):
        first = FIRST[i % len(FIRST)]
        last = LAST[(i + i // len(FIRST) * 7) % len(LAST)]
        email = f"report{i + 1:02d}@{DOMAIN}"
        # The third report came with an acquired company and still uses that account.
        alias = f"{first.lower()}.{last.lower()}@acquired-startup.com" if i == 2 else None
        reports.append(Report(Person(f"{first} {last}", email), alias))
    return reports


def make_colleagues(rng: random.Random) -> list[Person]:
    people = []
    for first in COLLEAGUE_FIRST:
        for last in rng.sample(COLLEAGUE_LAST, 3):
            people.append(Person(f"{first} {last}", f"{first.lower()}.{last.lower()}@{DOMAIN}"))
    for i, domain in enumerate(EXTERNAL_DOMAINS):
        for j in range(4):
            first = COLLEAGUE_FIRST[(i * 5 + j * 3) % len(COLLEAGUE_FIRST)]
            last = COLLEAGUE_LAST[(i * 7 + j) % len(COLLEAGUE_LAST)]
            people.append(Person(f"{first} {last}", f"{first[0].lower()}.{last.lower()}@{domain}"))
    return people


# --- ICS text ----------------------------------------------------------------------


def escape_text(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def param(value: str) -> str:
    return f'"{value}"' if any(c in value for c in ':;,') else value


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    raw = line.encode()
    if len(raw) <= 75:
        return line
    parts: list[bytes] = []
    limit = 75
    while raw:
        cut = min(limit, len(raw))
        while cut < len(raw) and (raw[cut] & 0xC0) == 0x80:
            cut -= 1
        parts.append(raw[:cut])
        raw = raw[cut:]
        limit = 74  # continuation lines start with a space
    return "\r\n ".join(p.decode() for p in parts)


def local(moment: datetime) -> str:
    return moment.astimezone(TZ).strftime("%Y%m%dT%H%M%S")


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def when(name: str, moment: datetime, in_utc: bool = False) -> str:
    if in_utc:
        return f"{name}:{utc(moment)}"
    return f"{name};TZID={TZID}:{local(moment)}"


@dataclass
class Guest:
    person: Person
    partstat: str = "ACCEPTED"
    role: str = "REQ-PARTICIPANT"
    cutype: str = "INDIVIDUAL"


def attendee_line(guest: Guest, organizer: Person | None) -> str:
    params = [f"CUTYPE={guest.cutype}", f"ROLE={guest.role}", f"PARTSTAT={guest.partstat}"]
    if guest.cutype == "INDIVIDUAL" and (organizer is None or guest.person != organizer):
        params.append("RSVP=TRUE")
    params += [f"CN={param(guest.person.name)}", "X-NUM-GUESTS=0"]
    return f"ATTENDEE;{';'.join(params)}:mailto:{guest.person.email}"


@dataclass
class VEvent:
    uid: str
    start: datetime | date
    end: datetime | date
    summary: str
    organizer: Person | None = None
    guests: list[Guest] = field(default_factory=list)
    rrule: str | None = None
    exdates: list[datetime] = field(default_factory=list)
    recurrence_id: datetime | None = None
    status: str = "CONFIRMED"
    sequence: int = 0
    description: str = ""
    location: str = ""
    in_utc: bool = False
    conference: str | None = None
    created: datetime | None = None
    alarms: list[str] = field(default_factory=list)  # "display" or "email"
    transp: str = "OPAQUE"

    def lines(self, stamp: datetime) -> list[str]:
        out = ["BEGIN:VEVENT"]
        if isinstance(self.start, datetime):
            assert isinstance(self.end, datetime)
            out += [when("DTSTART", self.start, self.in_utc), when("DTEND", self.end, self.in_utc)]
        else:
            out += [f"DTSTART;VALUE=DATE:{self.start:%Y%m%d}",
                    f"DTEND;VALUE=DATE:{self.end:%Y%m%d}"]
        if self.rrule:
            out.append(f"RRULE:{self.rrule}")
        if len(self.exdates) > 3:  # Google sometimes lists several on one line
            out.append(f"EXDATE;TZID={TZID}:" + ",".join(local(d) for d in self.exdates[:3]))
            out += [when("EXDATE", d) for d in self.exdates[3:]]
        else:
            out += [when("EXDATE", d) for d in self.exdates]
        out.append(f"DTSTAMP:{utc(stamp)}")
        if self.organizer is not None:
            out.append(f"ORGANIZER;CN={param(self.organizer.name)}:mailto:{self.organizer.email}")
        out.append(f"UID:{self.uid}")
        if self.recurrence_id is not None:
            out.append(when("RECURRENCE-ID", self.recurrence_id))
        out += [attendee_line(g, self.organizer) for g in self.guests]
        if self.conference:
            out.append(f"X-GOOGLE-CONFERENCE:https://meet.google.com/{self.conference}")
        created = self.created or stamp
        out.append(f"CREATED:{utc(created)}")
        out.append(f"DESCRIPTION:{escape_text(self.description)}")
        modified = created + timedelta(minutes=7 * (self.sequence + 1))
        out.append(f"LAST-MODIFIED:{utc(modified)}")
        out.append(f"LOCATION:{escape_text(self.location)}")
        out.append(f"SEQUENCE:{self.sequence}")
        out.append(f"STATUS:{self.status}")
        out.append(f"SUMMARY:{escape_text(self.summary)}")
        out.append(f"TRANSP:{self.transp}")
        for kind in self.alarms:
            out.append("BEGIN:VALARM")
            if kind == "email":
                out += ["ACTION:EMAIL", "DESCRIPTION:This is an event reminder",
                        "SUMMARY:Alarm notification", f"ATTENDEE:mailto:{OWNER_EMAIL}",
                        "TRIGGER:-P0DT0H30M0S"]
            else:
                out += ["ACTION:DISPLAY", "DESCRIPTION:This is an event reminder",
                        "TRIGGER:-P0DT0H10M0S"]
            out.append("END:VALARM")
        out.append("END:VEVENT")
        return out


# --- the calendar ------------------------------------------------------------------


@dataclass
class Calendar:
    rng: random.Random
    first_day: date
    now: datetime  # the moment the calendar is "exported": overrides are mostly before it
    events: list[VEvent] = field(default_factory=list)
    colleagues: list[Person] = field(default_factory=list)
    rooms: list[Person] = field(default_factory=list)
    _uids: set[str] = field(default_factory=set)

    def uid(self) -> str:
        while True:
            text = "".join(self.rng.choice("0123456789abcdefghijklmnopqrstuv") for _ in range(26))
            if text not in self._uids:
                self._uids.add(text)
                return f"{text}@google.com"

    def meet(self) -> tuple[str, str]:
        r = self.rng
        code = "-".join("".join(r.choice("abcdefghijkmnopqrstuvwxyz") for _ in range(n))
                        for n in (3, 4, 3))
        pins = f"{r.randrange(10000):04d}", f"{r.randrange(10**9):09d}"
        return code, MEET_BLOCK.format(code=code, pin=pins[0], pin2=pins[1])

    def text(self, sentences: int) -> str:
        return ". ".join(self.rng.choice(LOREM).strip() for _ in range(sentences)) + "."

    def created(self, start: datetime | date) -> datetime:
        day = start if isinstance(start, datetime) else datetime.combine(start, time(9), TZ)
        return day - timedelta(days=self.rng.randint(1, 40), minutes=self.rng.randint(0, 600))


def workdays(first: date, last: date) -> list[date]:
    days = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), TZ)


def first_weekday_on_or_after(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def until_before(start: datetime) -> str:
    """Google's UNTIL for a series ended "this and following": the day before, 23:59:59 local."""
    last = datetime.combine(start.date() - timedelta(days=1), time(23, 59, 59), TZ)
    return utc(last)


def slots(start: datetime, weeks: int, last_day: date) -> list[datetime]:
    out = []
    moment = start
    while moment.date() <= last_day:
        out.append(moment)
        moment = datetime.combine(moment.date() + timedelta(weeks=weeks), moment.timetz())
    return out


@dataclass(frozen=True)
class Plan:
    """One report's 1:1 history: (start day, weeks between, last day or None) per series."""

    weekday: int
    hour: int
    minute: int
    minutes: int
    parts: tuple[tuple[date, int, date | None], ...]
    room: bool = False


def plans(reports: Sequence[Report], first_day: date) -> list[Plan]:
    """The 1:1 series of each report. The first 15 follow a fixed script (later starts,
    splits, a departure); more reports get plain weekly series."""
    span = (END - first_day).days
    def frac(x: float) -> date:
        return first_day + timedelta(days=int(span * x))

    out = []
    for i in range(len(reports)):
        weekday = i % 5
        hour, minute = [(10, 0), (11, 0), (14, 30), (15, 30), (16, 30), (9, 0)][(i // 5) % 6]
        minutes = [30, 30, 45, 30, 60, 30, 45][i % 7]
        start = first_day
        parts: tuple[tuple[date, int, date | None], ...]
        if i == 1:  # weekly, then every two weeks from about 40% into the range
            split = frac(0.4)
            parts = ((start, 1, split), (split, 2, None))
        elif i == 5:  # reduced to fortnightly inside the analysis window (Oct 2026)
            split = date(2026, 10, 5)
            parts = ((start, 1, split), (split, 2, None))
        elif i == 8:  # reduced in Sept 2026
            split = date(2026, 9, 14)
            parts = ((frac(0.1), 1, split), (split, 2, None))
        elif i == 7:  # left the team two thirds in
            parts = ((start, 1, frac(0.66)),)
        elif i == 9:  # the series ended in early September 2026 and nothing followed
            parts = ((start, 1, date(2026, 9, 1)),)
        elif 10 <= i < 15:  # joined later
            joined = frac([0.25, 0.4, 0.55, 0.7, 0.88][i - 10])
            parts = ((joined, 1, None),)
        else:
            parts = ((start, 1, None),)
        out.append(Plan(weekday, hour, minute, minutes, clamp(parts, first_day),
                        room=i % 4 == 3))
    return out


def clamp(parts: tuple[tuple[date, int, date | None], ...],
          first_day: date) -> tuple[tuple[date, int, date | None], ...]:
    """Series within the generated range: with ``--years 1`` a split dated before the
    first day leaves only the series after it."""
    out = []
    for start, weeks, last in parts:
        start = max(start, first_day)
        if last is None or last > start + timedelta(days=7):
            out.append((start, weeks, last))
    return tuple(out)


def one_on_one_series(cal: Calendar, report: Report, plan: Plan) -> None:
    rng = cal.rng
    person = report.person
    address = Person(person.name, report.alias) if report.alias else person
    duration = timedelta(minutes=plan.minutes)
    room = rng.choice(cal.rooms) if plan.room else None
    first_name = person.name.split()[0]
    titles = [f"{first_name} / Morgan 1:1", f"1:1 {person.name} <> Morgan",
              f"{first_name} & Morgan weekly", "Morgan / " + first_name]
    summary = rng.choice(titles)
    base_uid = cal.uid()
    code, meet = cal.meet()
    agenda = "\n".join(f"- {line}" for line in rng.sample(AGENDA_LINES, 4))
    description = (f"Shared notes: https://docs.google.com/document/d/{base_uid[:20]}/edit\n"
                   f"{agenda}\n\n{meet}")
    # Morgan invited some reports from the old account.
    organizer = Person(OWNER_NAME, OWNER_ALIAS) if person.email.endswith("05@example.com") \
        else OWNER

    for index, (first, weeks, last) in enumerate(plan.parts):
        day = first_weekday_on_or_after(first, plan.weekday)
        start = at(day, plan.hour, plan.minute)
        byday = WEEKDAYS[plan.weekday]
        rule = "FREQ=WEEKLY;WKST=MO" + (f";INTERVAL={weeks}" if weeks > 1 else "")
        if last is not None:
            next_start = at(first_weekday_on_or_after(last, plan.weekday), plan.hour, plan.minute)
            rule += f";UNTIL={until_before(next_start)}"
            final = next_start.date() - timedelta(days=1)
        else:
            final = END
        rule += f";BYDAY={byday}"
        uid = base_uid if index == 0 else base_uid.replace(
            "@google.com", f"_R{start.strftime('%Y%m%dT%H%M%S')}@google.com")

        def guests(report_partstat: str = "ACCEPTED", *, organizer: Person = organizer,
                   address: Person = address, room: Person | None = room) -> list[Guest]:
            out = [Guest(organizer), Guest(address, report_partstat)]
            if room is not None:
                out.append(Guest(room, cutype=room_cutype(room), role="NON-PARTICIPANT"))
            return out

        master = VEvent(uid=uid, start=start, end=start + duration, summary=summary,
                        organizer=organizer, guests=guests(), rrule=rule,
                        description=description, conference=code,
                        location=room.name if room else "", created=cal.created(start),
                        alarms=["display"] if rng.random() < 0.5 else [])
        cal.events.append(master)
        sequence = 0
        for slot in slots(start, weeks, final):
            # changes are mostly in the past; a few are already planned for the coming weeks
            if slot > cal.now + timedelta(days=30) and (
                    slot > cal.now + timedelta(days=60) or rng.random() < 0.8):
                continue
            roll = rng.random()
            if roll < 0.03:
                master.exdates.append(slot)
                continue
            if roll >= 0.22:
                continue
            sequence += 1
            override = VEvent(uid=uid, start=slot, end=slot + duration, summary=summary,
                              organizer=organizer, guests=guests(), recurrence_id=slot,
                              description=description, conference=code,
                              location=master.location, sequence=sequence,
                              created=master.created)
            if roll < 0.10:  # moved: later the same day, or another day that week
                if rng.random() < 0.6:
                    override.start = slot + timedelta(minutes=rng.choice([-60, 30, 60, 120, 180]))
                else:
                    shifts = [d for d in (-2, -1, 1, 2) if 0 <= slot.weekday() + d <= 4]
                    override.start = slot + timedelta(days=rng.choice(shifts))
                override.end = override.start + duration
                if rng.random() < 0.2:  # moved and cut short
                    override.end -= timedelta(minutes=10)
            elif roll < 0.15:  # shortened
                override.end = slot + duration - timedelta(minutes=rng.choice([5, 10, 15, 20]))
            elif roll < 0.18:  # cancelled
                override.status = "CANCELLED"
            elif roll < 0.21:  # declined by the report
                override.guests = guests("DECLINED")
            else:  # an edited agenda: the same slot, new description
                override.description = description + "\n\n" + cal.text(2)
                if rng.random() < 0.3:  # someone joins this one instance
                    override.guests.append(Guest(rng.choice(cal.colleagues), "NEEDS-ACTION"))
            cal.events.append(override)


def room_cutype(room: Person) -> str:
    return "RESOURCE" if room.email.endswith("@resource.calendar.google.com") else "ROOM"


def team_series(cal: Calendar, reports: Sequence[Report]) -> None:
    rng = cal.rng
    people = [r.person for r in reports]
    specs = [
        ("Team weekly", 0, (9, 30), 45, OWNER, people[:11]),
        ("Leads sync", 3, (16, 0), 45, cal.colleagues[0], cal.colleagues[1:7]),
        ("Product & Eng review", 2, (13, 0), 60, cal.colleagues[10],
         people[:3] + cal.colleagues[11:16]),
        ("Platform guild", 4, (11, 0), 45, people[3] if len(people) > 3 else OWNER,
         people[4:7] + cal.colleagues[20:24]),
    ]
    for summary, weekday, (hour, minute), minutes, organizer, others in specs:
        day = first_weekday_on_or_after(cal.first_day, weekday)
        start = at(day, hour, minute)
        duration = timedelta(minutes=minutes)
        uid = cal.uid()
        code, meet = cal.meet()
        members = [organizer] + [p for p in others if p != organizer]
        if OWNER not in members:
            members.append(OWNER)
        members = members[:12]
        guests = [Guest(p, role="OPT-PARTICIPANT" if i > 8 else "REQ-PARTICIPANT")
                  for i, p in enumerate(members)]
        master = VEvent(uid=uid, start=start, end=start + duration, summary=summary,
                        organizer=organizer, guests=guests, description=cal.text(3) + "\n\n" + meet,
                        rrule=f"FREQ=WEEKLY;WKST=MO;BYDAY={WEEKDAYS[weekday]}",
                        conference=code, created=cal.created(start))
        cal.events.append(master)
        for seq, slot in enumerate(slots(start, 1, min(END, cal.now.date() + timedelta(30)))):
            roll = rng.random()
            if roll < 0.03:
                master.exdates.append(slot)
            elif roll < 0.10:
                moved = slot + timedelta(minutes=rng.choice([-30, 30, 60]))
                cal.events.append(VEvent(
                    uid=uid, start=moved, end=moved + duration, summary=summary,
                    organizer=organizer, guests=guests, recurrence_id=slot,
                    description=master.description, conference=code, sequence=seq + 1,
                    status="CANCELLED" if roll < 0.04 else "CONFIRMED", created=master.created))


def one_offs(cal: Calendar, days: list[date], count: int, reports: Sequence[Report]) -> None:
    rng = cal.rng
    pool = [r.person for r in reports] + cal.colleagues
    for _ in range(count):
        day = rng.choice(days)
        quarter = rng.randrange(8 * 4 + 2)  # 08:30 .. 17:00 on a 15-minute grid
        start = at(day, 8, 30) + timedelta(minutes=15 * quarter)
        duration = timedelta(minutes=rng.choice([25, 30, 30, 45, 50, 60, 60, 90]))
        others = rng.sample(pool, rng.choice(OTHERS_PER_MEETING))
        if rng.random() < 0.4:
            organizer = OWNER if rng.random() < 0.9 else Person(OWNER_NAME, OWNER_ALIAS)
            guests = [Guest(organizer)] + [
                Guest(p, rng.choice(["ACCEPTED"] * 6 + ["TENTATIVE", "DECLINED", "NEEDS-ACTION"]))
                for p in others]
        else:
            organizer = others[0]
            guests = [Guest(organizer)] + [
                Guest(p, rng.choice(["ACCEPTED"] * 5 + ["TENTATIVE", "NEEDS-ACTION"]))
                for p in others[1:]]
            guests.insert(rng.randrange(1, len(guests) + 1), Guest(
                OWNER, rng.choice(["ACCEPTED"] * 5 + ["TENTATIVE", "DECLINED", "NEEDS-ACTION"])))
        room = None
        if rng.random() < 0.25:
            room = rng.choice(cal.rooms)
            guests.append(Guest(room, cutype=room_cutype(room), role="NON-PARTICIPANT"))
        title = rng.choice(ONE_OFF_TITLES).format(topic=rng.choice(TOPICS))
        description = ""
        code = None
        roll = rng.random()
        if roll < 0.15:
            code, meet = cal.meet()
            description = (cal.text(1) + "\n\n" if rng.random() < 0.3 else "") \
                + meet
        elif roll < 0.4:
            description = cal.text(rng.randint(1, 2))
        external = any(not p.email.endswith(DOMAIN) for p in others)
        cal.events.append(VEvent(
            uid=cal.uid(), start=start, end=start + duration, summary=title,
            organizer=organizer, guests=guests, description=description, conference=code,
            location=room.name if room else "", in_utc=external and rng.random() < 0.7,
            status="TENTATIVE" if rng.random() < 0.01 else "CONFIRMED",
            created=cal.created(start), sequence=rng.choice([0, 0, 0, 1, 2]),
            alarms=["display"] if rng.random() < 0.15 else []))


def ad_hoc(cal: Calendar, days: list[date], years: float, reports: Sequence[Report]) -> None:
    rng = cal.rng
    people = [r.person for r in reports] + cal.colleagues[:10]
    for _ in range(round(AD_HOC_ONE_ON_ONES_PER_YEAR * years)):
        day = rng.choice(days)
        start = at(day, rng.randint(9, 17), rng.choice([0, 30]))
        other = rng.choice(people)
        organizer = OWNER if rng.random() < 0.5 else other
        cal.events.append(VEvent(
            uid=cal.uid(), start=start, end=start + timedelta(minutes=rng.choice([15, 25, 30])),
            summary=rng.choice(["Quick sync", "Catch-up", "Coffee chat", "Feedback"]),
            organizer=organizer, guests=[Guest(organizer), Guest(other if organizer == OWNER
                                                                 else OWNER)],
            created=cal.created(start)))
    # 1:1s kept as personal blocks, no invitation: only the title says who it is with
    for _ in range(max(1, round(TITLE_ONLY_ONE_ON_ONES_PER_YEAR * years))):
        day = rng.choice(days)
        start = at(day, rng.randint(9, 17))
        person = rng.choice(reports).person
        cal.events.append(VEvent(
            uid=cal.uid(), start=start, end=start + timedelta(minutes=30),
            summary=f"1:1 {person.name} (walk)", created=cal.created(start),
            alarms=["display", "email"] if rng.random() < 0.5 else []))


def personal(cal: Calendar, days: list[date], years: float) -> None:
    rng = cal.rng
    for _ in range(round(PERSONAL_PER_YEAR * years)):
        day = rng.choice(days)
        start = at(day, rng.randint(7, 18), rng.choice([0, 15, 30, 45]))
        cal.events.append(VEvent(
            uid=cal.uid(), start=start, end=start + timedelta(minutes=rng.choice([30, 60, 120])),
            summary=rng.choice(PERSONAL_TITLES), created=cal.created(start),
            description=cal.text(1) if rng.random() < 0.3 else "",
            transp="TRANSPARENT" if rng.random() < 0.3 else "OPAQUE",
            alarms=["display"] if rng.random() < 0.4 else []))
    for _ in range(round(ALL_DAY_PER_YEAR * years)):
        day = rng.choice(days)
        length = rng.choice([1, 1, 1, 2, 3, 5])
        cal.events.append(VEvent(
            uid=cal.uid(), start=day, end=day + timedelta(days=length),
            summary=rng.choice(ALL_DAY_TITLES).format(topic=rng.choice(TOPICS)),
            created=cal.created(day), transp="TRANSPARENT"))


def build(*, seed: int = 1, years: float = 5, reports: int = 15,
          now: datetime | None = None) -> tuple[Calendar, list[Report]]:
    """The calendar's events, in the order they were made."""
    rng = random.Random(seed)
    first_day = END - timedelta(days=round(365.25 * years) - 1)
    cal = Calendar(rng, first_day, now or datetime(2026, 11, 20, 9, 0, tzinfo=TZ))
    cal.colleagues = make_colleagues(rng)
    cal.rooms = [Person(f"Berlin-{floor}-{n} Room {name} ({seats})",
                        f"c_1882{floor}{n}{name.lower()}@resource.calendar.google.com"
                        if n % 2 else f"room-{floor}-{n}@{DOMAIN}")
                 for floor, n, name, seats in [(3, 1, "Spree", 4), (3, 2, "Havel", 6),
                                               (4, 1, "Tegel", 8), (4, 2, "Wannsee", 12),
                                               (5, 1, "Müggelsee", 2)]]
    team = make_reports(reports)
    for report, plan in zip(team, plans(team, first_day), strict=True):
        one_on_one_series(cal, report, plan)
    team_series(cal, team)
    days = workdays(first_day, END)
    one_offs(cal, days, round(ONE_OFFS_PER_YEAR * years), team)
    ad_hoc(cal, days, years, team)
    personal(cal, days, years)
    return cal, team


def render(events: Iterable[VEvent], stamp: datetime) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{OWNER_EMAIL}",
        f"X-WR-TIMEZONE:{TZID}",
        *VTIMEZONE,
    ]
    for event in events:
        lines += event.lines(stamp)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def generate(*, seed: int = 1, years: float = 5, reports: int = 15,
             stamp: datetime | None = None) -> str:
    """The ICS text. Events are written in an order Google might use (shuffled, so a
    series' overrides are not next to their master)."""
    cal, _ = build(seed=seed, years=years, reports=reports)
    events = list(cal.events)
    cal.rng.shuffle(events)
    return render(events, stamp or datetime.now(UTC).replace(microsecond=0))


def config_toml(ics_path: Path, config_path: Path, reports: int = 15) -> str:
    """A config for the generated calendar: the owner, one source, the reports."""
    try:
        url = str(ics_path.resolve().relative_to(config_path.resolve().parent))
    except ValueError:
        url = str(ics_path.resolve())
    lines = [
        "# Generated by bench/generate.py",
        "[owner]",
        f'email = "{OWNER_EMAIL}"',
        f'name = "{OWNER_NAME}"',
        f'aliases = ["{OWNER_ALIAS}"]',
        f'timezone = "{TZID}"',
        "",
        "[[sources]]",
        'name = "work"',
        f"url = {_toml_string(url)}",
        "max_mb = 50",
    ]
    for report in make_reports(reports):
        lines += ["", "[[people]]", f"name = {_toml_string(report.person.name)}",
                  f'email = "{report.person.email}"']
        if report.alias:
            lines.append(f'aliases = ["{report.alias}"]')
    return "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write(out: Path, *, config: Path | None = None, seed: int = 1, years: float = 5,
          reports: int = 15, stamp: datetime | None = None) -> tuple[int, int]:
    """Write the ICS file (and the config when asked); returns (VEVENT count, bytes)."""
    text = generate(seed=seed, years=years, reports=reports, stamp=stamp)
    data = text.encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    if config is not None:
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(config_toml(out, config, reports), encoding="utf-8")
    return text.count("\r\nBEGIN:VEVENT\r\n"), len(data)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--years", type=float, default=5)
    parser.add_argument("--reports", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path("bench/out/manager.ics"))
    parser.add_argument("--config", type=Path, help="also write a matching config TOML here")
    parser.add_argument("--dtstamp", help="DTSTAMP of every event, e.g. 20261120T080000Z "
                        "(default: now)")
    args = parser.parse_args(argv)
    stamp = None
    if args.dtstamp:
        stamp = datetime.strptime(args.dtstamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    count, size = write(args.out, config=args.config, seed=args.seed, years=args.years,
                        reports=args.reports, stamp=stamp)
    print(f"{args.out}: {count} VEVENTs, {size:,} bytes ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
