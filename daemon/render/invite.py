"""A 1:1 as an iCalendar invitation (RFC 5546 ``METHOD:REQUEST``), for calendars cadenced
cannot write to: a file to import, or a mail that Thunderbird, Outlook and Apple Mail
show with accept and decline buttons."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress, vText

from daemon.core.booking import Booking


def uid(booking: Booking) -> str:
    """The same booking key gives the same UID: sending it again updates, never adds."""
    return hashlib.sha256(booking.key.encode()).hexdigest()[:32] + "@cadenced"


def invitation(booking: Booking, *, stamp: datetime, organizer_name: str = "") -> bytes:
    """The invitation's bytes. ``stamp`` (DTSTAMP) is when it is made."""
    calendar = Calendar()
    calendar.add("prodid", "-//cadenced//1:1 booking//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", uid(booking))
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", booking.start.astimezone(UTC))
    event.add("dtend", booking.end.astimezone(UTC))
    event.add("sequence", 0)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("summary", booking.summary)
    description = booking.description
    if booking.agenda is not None:
        description = (description + "\n\n" if description else "") + \
            f"1:1 agenda: {booking.agenda.url}"
        event.add("url", booking.agenda.url)
    if description:
        event.add("description", description)
    organizer = vCalAddress(f"mailto:{booking.organizer}")
    if organizer_name:
        organizer.params["cn"] = vText(organizer_name)
    event.add("organizer", organizer)
    for address, name, partstat in ((booking.organizer, organizer_name, "ACCEPTED"),
                                    (booking.attendee, booking.attendee_name, "NEEDS-ACTION")):
        attendee = vCalAddress(f"mailto:{address}")
        attendee.params.update({"role": "REQ-PARTICIPANT", "partstat": partstat,
                                "rsvp": "TRUE" if partstat == "NEEDS-ACTION" else "FALSE"})
        if name:
            attendee.params["cn"] = vText(name)
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    return calendar.to_ical()
