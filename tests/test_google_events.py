"""Google Calendar event resources mapped to the core model, checked against ICS.

Resources are written as events.list returns them (singleEvents=false,
showDeleted=true), noise included. The central test builds one calendar both as
Google resources and as its ICS export and requires the same events and the
same analysis from both connectors.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from connectors.google.events import Mapped, read_events, sketch
from connectors.ics.parse import parse_calendar
from daemon.core.detection import Directory
from daemon.core.model import Attendee, Event, PartStat, Recurrence, Status
from daemon.core.recurrence import planned_starts
from daemon.core.rules import OccurrenceFlag, analyze

from conftest import BERLIN, OWNER, at, config

ADA = {"name": "Ada Lovelace", "email": "ada@example.com"}
GRACE = {"name": "Grace Hopper", "email": "grace@example.com"}
ROOM = "c_1888abcdef@resource.calendar.google.com"
NOW = at("2026-11-20T09:00")  # a Friday
SOURCE = "work"
MASTER = "4k2d9s0abc1qqmaster"
UID = f"{MASTER}@google.com"


# --- building Google resources ---------------------------------------------------


def when(text: str, zone: str | None = "Europe/Berlin") -> dict:
    """A start/end/originalStartTime: "2026-11-23" (all-day) or a local Berlin time."""
    if len(text) == 10:
        return {"date": text}
    moment = datetime.fromisoformat(text).replace(tzinfo=BERLIN)
    value = {"dateTime": moment.isoformat()}
    if zone:
        value["timeZone"] = zone
    return value


def me(status: str = "accepted") -> dict:
    return {"email": OWNER, "organizer": True, "self": True, "responseStatus": status}


def ada(status: str = "accepted") -> dict:
    return {"email": "Ada@Example.com", "displayName": "Ada Lovelace", "responseStatus": status}


def room() -> dict:
    return {"email": ROOM, "displayName": "Berlin-3-Turing (6)", "resource": True,
            "responseStatus": "accepted"}


def resource(event_id: str, begin: str, finish: str, *, summary: str = "Ada / me",
             attendees=None, updated: str = "2026-09-01T08:00:00.000Z", **fields) -> dict:
    """An event resource with the noise the API sends along."""
    body = {
        "kind": "calendar#event",
        "etag": '"3519826440123000"',
        "id": event_id,
        "status": "confirmed",
        "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
        "created": "2026-08-01T10:00:00.000Z",
        "updated": updated,
        "summary": summary,
        "creator": {"email": OWNER, "self": True},
        "organizer": {"email": OWNER, "self": True},
        "start": when(begin),
        "end": when(finish),
        "iCalUID": f"{event_id}@google.com",
        "sequence": 0,
        "attendees": [me(), ada(), room()] if attendees is None else attendees,
        "hangoutLink": "https://meet.google.com/abc-defg-hij",
        "conferenceData": {
            "entryPoints": [{"entryPointType": "video", "uri": "https://meet.google.com/abc-defg-hij",
                             "label": "meet.google.com/abc-defg-hij"}],
            "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
            "conferenceId": "abc-defg-hij",
        },
        "reminders": {"useDefault": True},
        "eventType": "default",
    }
    body.update(fields)
    return body


def exception(original: str, start: str, end: str, **fields) -> dict:
    """An edited instance of the weekly master."""
    stamp = datetime.fromisoformat(original).replace(tzinfo=BERLIN).astimezone(UTC)
    body = resource(f"{MASTER}_{stamp:%Y%m%dT%H%M%SZ}", start, end,
                    recurringEventId=MASTER, originalStartTime=when(original), sequence=1,
                    updated="2026-09-20T12:00:00.000Z", **fields)
    body["iCalUID"] = UID
    return body


def tombstone(original: str, master: str = MASTER) -> dict:
    """A cancelled instance as an incremental sync returns it."""
    stamp = datetime.fromisoformat(original).replace(tzinfo=BERLIN).astimezone(UTC)
    return {"kind": "calendar#event", "etag": '"3519826440999000"',
            "id": f"{master}_{stamp:%Y%m%dT%H%M%SZ}", "status": "cancelled",
            "recurringEventId": master, "originalStartTime": when(original)}


def weekly(**fields) -> dict:
    fields.setdefault("recurrence", ["RRULE:FREQ=WEEKLY;BYDAY=MO"])
    return resource(MASTER, "2026-09-07T10:00", "2026-09-07T10:30", **fields)


def google(*resources, tz=BERLIN, interest=None) -> Mapped:
    return read_events(resources, source=SOURCE, tz=tz, interest=interest)


# --- the same calendar as ICS ----------------------------------------------------


ICS_PEOPLE = (
    "ORGANIZER:mailto:me@example.com",
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:me@example.com",
    "ATTENDEE;CN=Ada Lovelace;PARTSTAT={ada}:mailto:Ada@Example.com",
    f"ATTENDEE;CUTYPE=RESOURCE;CN=Berlin-3-Turing (6);PARTSTAT=ACCEPTED:mailto:{ROOM}",
)


def vevent(uid: str, start: str, end: str, *lines: str, ada_status: str = "ACCEPTED",
           modified: str = "20260901T080000Z", sequence: int = 0,
           summary: str = "Ada / me") -> str:
    def stamp(text: str) -> str:
        if len(text) == 10:
            return f";VALUE=DATE:{text.replace('-', '')}"
        return f";TZID=Europe/Berlin:{text.replace('-', '').replace(':', '')}00"
    return "\r\n".join([
        "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261120T080000Z",
        f"DTSTART{stamp(start)}", f"DTEND{stamp(end)}", f"SUMMARY:{summary}",
        *(line.format(ada=ada_status) for line in ICS_PEOPLE),
        f"SEQUENCE:{sequence}", f"LAST-MODIFIED:{modified}", *lines, "END:VEVENT",
    ])


def ics(*blocks: str) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN"
            "\r\n" + "".join(b + "\r\n" for b in blocks) + "END:VCALENDAR\r\n")


def override(original: str, start: str, end: str, *lines: str, **kw) -> str:
    kw.setdefault("sequence", 1)
    kw.setdefault("modified", "20260920T120000Z")
    rid = original.replace("-", "").replace(":", "") + "00"
    return vevent(UID, start, end, f"RECURRENCE-ID;TZID=Europe/Berlin:{rid}", *lines, **kw)


def keyed(events) -> list[Event]:
    return sorted(events, key=lambda e: (e.uid, e.recurrence_id or e.start))


# --- Google and ICS agree --------------------------------------------------------


def _calendar() -> tuple[list[dict], str]:
    """A weekly 1:1 across the DST change, with every kind of exception, and neighbours."""
    resources = [
        weekly(),
        exception("2026-10-05T10:00", "2026-10-06T15:00", "2026-10-06T15:30"),  # moved
        exception("2026-10-12T10:00", "2026-10-12T10:00", "2026-10-12T10:10"),  # shortened
        tombstone("2026-10-19T10:00"),  # cancelled
        exception("2026-11-02T10:00", "2026-11-02T10:00", "2026-11-02T10:30",
                  attendees=[me(), ada("declined"), room()]),  # declined by Ada
        resource("oneoff77", "2026-11-25T14:00", "2026-11-25T14:45", summary="Ada: planning"),
        resource("allday12", "2026-11-27", "2026-11-28", summary="Offsite with Ada"),
        resource("deleted9", "2026-11-26T09:00", "2026-11-26T09:30", status="cancelled"),
    ]
    text = ics(
        vevent(UID, "2026-09-07T10:00", "2026-09-07T10:30", "RRULE:FREQ=WEEKLY;BYDAY=MO"),
        override("2026-10-05T10:00", "2026-10-06T15:00", "2026-10-06T15:30"),
        override("2026-10-12T10:00", "2026-10-12T10:00", "2026-10-12T10:10"),
        override("2026-10-19T10:00", "2026-10-19T10:00", "2026-10-19T10:30", "STATUS:CANCELLED",
                 sequence=0, modified="20260901T080000Z"),  # a tombstone is the master's slot
        override("2026-11-02T10:00", "2026-11-02T10:00", "2026-11-02T10:30",
                 ada_status="DECLINED"),
        vevent("oneoff77@google.com", "2026-11-25T14:00", "2026-11-25T14:45",
               summary="Ada: planning"),
        vevent("allday12@google.com", "2026-11-27", "2026-11-28", summary="Offsite with Ada"),
    )
    return resources, text


def test_google_and_ics_give_the_same_events_and_analysis():
    resources, text = _calendar()
    from_google = google(*resources)
    from_ics = parse_calendar(text, source=SOURCE, tz=BERLIN)
    assert from_google.warnings == () and from_ics.warnings == ()
    assert keyed(from_google.events) == keyed(from_ics.events)
    assert len(from_google.events) == 7
    assert from_google.uids == from_ics.uids == {UID, "oneoff77@google.com", "allday12@google.com"}

    cfg = config([ADA])
    by_google = analyze(from_google.events, cfg, NOW)
    by_ics = analyze(from_ics.events, cfg, NOW)
    assert by_google == by_ics
    [rel] = by_google.relationships
    flags = sorted((f.kind, f.occurrence.original_start) for f in rel.flags
                   if isinstance(f, OccurrenceFlag))
    assert flags == [
        ("cancelled", at("2026-10-19T10:00")),
        ("declined", at("2026-11-02T10:00")),
        ("rescheduled", at("2026-10-05T10:00")),
        ("shortened", at("2026-10-12T10:00")),
    ]
    # The one-off is the next meeting; the all-day offsite is not a 1:1.
    assert rel.next_scheduled.start == at("2026-11-23T10:00")
    assert [o.uid for o in rel.occurrences if not o.recurring] == ["oneoff77@google.com"]


def test_the_prefilter_keeps_the_same_events_on_both_sides():
    resources, text = _calendar()
    group = resource("group5", "2026-11-24T11:00", "2026-11-24T12:00", summary="Team",
                     attendees=[me(), ada(), {"email": "grace@example.com"}])
    interest = Directory.from_config(config([ADA, GRACE]))
    filtered = google(*resources, group, interest=interest)
    assert keyed(filtered.events) == keyed(google(*resources).events)
    assert keyed(filtered.events) == keyed(
        parse_calendar(text, source=SOURCE, tz=BERLIN, interest=interest).events)
    assert "group5@google.com" in filtered.uids
    assert filtered.total == 8  # 7 resources still in the calendar and the group meeting


def test_mapped_fields():
    resources, _ = _calendar()
    events = {(e.uid, e.recurrence_id): e for e in google(*resources).events}
    master = events[(UID, None)]
    assert master.start == at("2026-09-07T10:00") and master.start.tzinfo == BERLIN
    assert master.recurrence == Recurrence(rrules=("FREQ=WEEKLY;BYDAY=MO",))
    assert master.organizer == Attendee(OWNER)
    assert master.attendees == (
        Attendee(OWNER, partstat=PartStat.ACCEPTED),
        Attendee("ada@example.com", "Ada Lovelace", PartStat.ACCEPTED),
        Attendee(ROOM, "Berlin-3-Turing (6)", PartStat.ACCEPTED, is_resource=True),
    )
    assert master.last_modified == datetime(2026, 9, 1, 8, tzinfo=UTC)
    moved = events[(UID, at("2026-10-05T10:00"))]
    assert (moved.start, moved.recurrence, moved.sequence) == (at("2026-10-06T15:00"), None, 1)
    allday = events[("allday12@google.com", None)]
    assert allday.all_day and allday.start == at("2026-11-27T00:00")
    assert allday.start.tzinfo == BERLIN


def test_response_statuses_and_statuses():
    body = resource("x1", "2026-11-24T10:00", "2026-11-24T10:30", status="tentative",
                    attendees=[me("needsAction"), ada("tentative"),
                               {"email": "grace@example.com"}, {"displayName": "no email"}])
    [event] = google(body).events
    assert event.status is Status.TENTATIVE
    assert [a.partstat for a in event.attendees] == [
        PartStat.NEEDS_ACTION, PartStat.TENTATIVE, PartStat.UNKNOWN]


# --- cancelled instances, deleted events, orphans -------------------------------------


def test_tombstone_takes_uid_and_slot_from_its_master():
    master = weekly(sequence=2)
    [_, cancelled] = google(master, tombstone("2026-11-16T10:00")).events
    assert cancelled.uid == UID
    assert cancelled.status is Status.CANCELLED
    assert cancelled.recurrence_id == cancelled.start == at("2026-11-16T10:00")
    assert cancelled.end == at("2026-11-16T10:30")
    assert (cancelled.summary, cancelled.sequence, cancelled.recurrence) == ("Ada / me", 2, None)
    assert {p.email for p in cancelled.participants()} == {OWNER, "ada@example.com"}


def test_full_cancelled_exception_keeps_its_own_fields():
    body = exception("2026-11-16T10:00", "2026-11-16T10:00", "2026-11-16T10:30",
                     status="cancelled")
    [_, cancelled] = google(weekly(), body).events
    assert (cancelled.uid, cancelled.status, cancelled.sequence) == (UID, Status.CANCELLED, 1)


def test_cancelled_instance_cancels_the_slot_in_the_analysis():
    rel = analyze(google(weekly(), tombstone("2026-11-16T10:00")).events, config([ADA]), NOW)
    [rel] = rel.relationships
    assert [f.occurrence.original_start for f in rel.flags
            if isinstance(f, OccurrenceFlag) and f.kind == "cancelled"] == [at("2026-11-16T10:00")]


def test_deleted_events_are_gone_like_from_an_ics_export():
    deleted_master = weekly(status="cancelled")
    moved = exception("2026-10-05T10:00", "2026-10-06T15:00", "2026-10-06T15:30")
    bare = {"kind": "calendar#event", "etag": '"1"', "id": "gone1", "status": "cancelled"}
    mapped = google(deleted_master, moved, tombstone("2026-10-12T10:00"), bare,
                    resource("kept1", "2026-11-24T10:00", "2026-11-24T10:30"))
    assert [e.uid for e in mapped.events] == ["kept1@google.com"]
    assert mapped.uids == {"kept1@google.com"}
    assert mapped.total == 1 and mapped.warnings == ()


def test_orphan_exception_is_an_override_like_in_ics():
    moved = exception("2026-10-05T10:00", "2026-10-06T15:00", "2026-10-06T15:30")
    mapped = google(moved, tombstone("2026-10-12T10:00"))  # the master is not in the batch
    text = ics(override("2026-10-05T10:00", "2026-10-06T15:00", "2026-10-06T15:30"))
    assert mapped.events == parse_calendar(text, source=SOURCE, tz=BERLIN).events
    assert mapped.events[0].recurrence_id == at("2026-10-05T10:00")
    assert mapped.uids == {UID} and mapped.total == 1 and mapped.warnings == ()
    [rel] = analyze(mapped.events, config([{**ADA, "cadence_days": 14}]), NOW).relationships
    assert [(o.original_start, o.recurring) for o in rel.occurrences] == [
        (at("2026-10-05T10:00"), False)]


def test_sketch_resolves_a_tombstone_uid_through_the_masters():
    mine = sketch(tombstone("2026-10-12T10:00"), {MASTER: UID})
    assert (mine.uid, mine.summary, mine.participants) == (UID, "", frozenset())
    full = sketch(weekly(), {})
    assert full.participants == {OWNER, "ada@example.com"}  # the room is no person


# --- time zones and recurrence ------------------------------------------------------


def test_series_across_dst_expands_at_ten_local_on_both_sides():
    [master] = google(weekly()).events
    text = ics(vevent(UID, "2026-09-07T10:00", "2026-09-07T10:30", "RRULE:FREQ=WEEKLY;BYDAY=MO"))
    [ics_master] = parse_calendar(text, source=SOURCE, tz=BERLIN).events
    start, end = at("2026-10-12T00:00"), at("2026-11-10T00:00")  # DST ends 25 October
    starts = planned_starts(master, start, end)
    assert starts == planned_starts(ics_master, start, end)
    assert [s.astimezone(BERLIN).hour for s in starts] == [10] * 5
    assert [s.utcoffset() for s in starts] == [timedelta(hours=2)] * 2 + [timedelta(hours=1)] * 3


def test_master_in_a_foreign_zone_keeps_its_zone():
    body = weekly(start={"dateTime": "2026-09-07T09:00:00-04:00", "timeZone": "America/New_York"},
                  end={"dateTime": "2026-09-07T09:30:00-04:00", "timeZone": "America/New_York"})
    [master] = google(body).events
    assert master.start.tzinfo == ZoneInfo("America/New_York")
    starts = planned_starts(master, at("2026-10-26T00:00"), at("2026-11-10T00:00"))
    # Berlin left summer time on 25 October, New York does on 1 November.
    assert [s.astimezone(BERLIN).hour for s in starts] == [14, 15, 15]
    assert {s.astimezone(master.start.tzinfo).hour for s in starts} == {9}


def test_times_without_a_known_zone():
    utc_value = {"dateTime": "2026-11-24T09:00:00Z"}
    berlin_offset = {"dateTime": "2026-11-24T10:00:00+01:00"}
    other_offset = {"dateTime": "2026-11-24T10:00:00+05:30"}
    windows = {"dateTime": "2026-11-24T10:00:00+01:00", "timeZone": "W. Europe Standard Time"}
    bogus = {"dateTime": "2026-11-24T10:00:00+01:00", "timeZone": "Mars/Olympus_Mons"}
    bodies = [resource(f"z{i}", "2026-11-24T10:00", "2026-11-24T11:00", start=value, end=value)
              for i, value in enumerate((utc_value, berlin_offset, other_offset, windows, bogus))]
    mapped = google(*bodies)
    zones = [e.start.tzinfo for e in mapped.events]
    assert zones[0] in (UTC, ZoneInfo("UTC"))  # a UTC value stays UTC
    assert zones[1] == BERLIN  # the owner's zone has that offset then
    assert zones[2] == timezone(timedelta(hours=5, minutes=30))
    assert zones[3] == BERLIN  # a Windows name is resolved
    assert zones[4] == BERLIN and mapped.events[4].start == at("2026-11-24T10:00")
    assert mapped.warnings == ("source 'work': event z4@google.com: unknown time zone "
                               "'Mars/Olympus_Mons', read at its UTC offset",)


def test_exdate_and_rdate_lines():
    body = weekly(recurrence=[
        "RRULE:FREQ=WEEKLY;UNTIL=20261231T225959Z;BYDAY=MO",
        "EXDATE;TZID=Europe/Berlin:20261130T100000,20261207T100000",
        "EXDATE:20261214T090000Z",
        "EXDATE:20261221T100000",
        "RDATE;TZID=Europe/Berlin:20261202T100000",
        "RDATE;VALUE=DATE:20261204",
    ])
    [master] = google(body).events
    assert master.recurrence.rrules == ("FREQ=WEEKLY;UNTIL=20261231T225959Z;BYDAY=MO",)
    assert master.recurrence.exdates == (at("2026-11-30T10:00"), at("2026-12-07T10:00"),
                                         at("2026-12-14T10:00"), at("2026-12-21T10:00"))
    assert master.recurrence.exdates[2].utcoffset() == timedelta(0)  # UTC stays UTC
    assert master.recurrence.exdates[3].tzinfo == BERLIN  # no TZID: the master's zone
    assert master.recurrence.rdates == (at("2026-12-02T10:00"), at("2026-12-04T10:00"))
    text = ics(vevent(UID, "2026-09-07T10:00", "2026-09-07T10:30", *body["recurrence"]))
    assert [master] == list(parse_calendar(text, source=SOURCE, tz=BERLIN).events)


def test_all_day_series_with_date_exdates():
    body = resource("days1", "2026-11-02", "2026-11-03", summary="Ada / me",
                    recurrence=["RRULE:FREQ=WEEKLY", "EXDATE;VALUE=DATE:20261109"])
    cancelled = resource("days1_20261116", "2026-11-16", "2026-11-17", status="cancelled",
                         recurringEventId="days1", originalStartTime={"date": "2026-11-16"})
    master, instance = google(body, cancelled).events
    assert master.all_day and master.recurrence.exdates == (at("2026-11-09T00:00"),)
    assert instance.all_day and instance.recurrence_id == at("2026-11-16T00:00")


def test_exrule_is_ignored_with_a_warning():
    body = weekly(recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO", "EXRULE:FREQ=MONTHLY;BYMONTHDAY=1"])
    mapped = google(body)
    assert mapped.events[0].recurrence == Recurrence(rrules=("FREQ=WEEKLY;BYDAY=MO",))
    assert mapped.warnings == (f"source 'work': event {UID}: EXRULE "
                               "'FREQ=MONTHLY;BYMONTHDAY=1' ignored",)


# --- skipped resources ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["focusTime", "outOfOffice", "workingLocation", "birthday",
                                  "fromGmail"])
def test_other_event_types_are_skipped_quietly(kind):
    body = resource("t1", "2026-11-24T10:00", "2026-11-24T12:00", eventType=kind)
    mapped = google(body)
    assert (mapped.events, mapped.warnings, mapped.uids, mapped.total) == (
        (), (), {"t1@google.com"}, 1)


@pytest.mark.parametrize(("change", "reason"), [
    ({"start": None}, "it has no start"),
    ({"start": {"timeZone": "Europe/Berlin"}}, "its start has no date or dateTime"),
    ({"start": {"dateTime": "next tuesday"}}, "its start 'next tuesday' is not a date and time"),
    ({"end": {"date": "2026-13-01"}}, "its end '2026-13-01' is not a date"),
    ({"end": when("2026-11-24T09:00")}, "it ends before it starts"),
    ({"recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=XX"]}, "its recurrence cannot be read"),
    ({"recurrence": ["RRULE:GARBAGE"]}, "its recurrence cannot be read (an RRULE is empty)"),
    ({"recurrence": ["EXDATE:tomorrow", "RRULE:FREQ=DAILY"]}, "its recurrence cannot be read"),
    ({"recurrence": ["RRULE:FREQ=DAILY\r\nEND:VEVENT"]}, "its recurrence is not a list of lines"),
    ({"recurrence": "RRULE:FREQ=DAILY"}, "its recurrence is not a list of lines"),
    ({"recurrence": ["SUMMARY:hi"]}, "recurrence line 'SUMMARY:hi' is not RRULE"),
    ({"iCalUID": None}, "it has no iCalUID"),
])
def test_malformed_resource_is_skipped_with_a_warning(change, reason):
    body = resource("bad1", "2026-11-24T10:00", "2026-11-24T10:30")
    body.update(change)
    if body["start"] is None:
        del body["start"]
    good = resource("good1", "2026-11-25T10:00", "2026-11-25T10:30")
    mapped = google(body, good)
    assert [e.uid for e in mapped.events] == ["good1@google.com"]
    [warning] = mapped.warnings
    named = "bad1@google.com" if change != {"iCalUID": None} else "bad1"
    assert warning.startswith(f"source 'work': event {named} skipped: {reason}")
    assert mapped.total == 2


def test_malformed_master_keeps_its_uid():
    mapped = google(weekly(start={"dateTime": "soon"}), tombstone("2026-10-12T10:00"))
    assert mapped.events == () and mapped.uids == {UID}
    assert all(w.startswith(f"source 'work': event {UID} skipped") for w in mapped.warnings)


def test_input_is_not_changed():
    resources, _ = _calendar()
    before = copy.deepcopy(resources)
    google(*resources)
    assert resources == before
