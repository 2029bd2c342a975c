"""Booking a make-up 1:1: the booking for a chosen slot, and the invitation mail for
calendars cadenced cannot write to."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from connectors.base import AgendaLink, Booking, Outgoing
from daemon.config import Config


def booking_for(config: Config, person: str, name: str, start: datetime, end: datetime,
                agenda: AgendaLink | None = None) -> Booking:
    """The one-off 1:1 with ``person`` at ``start``: its key (person and slot) makes a
    second booking of the same slot find the first."""
    owner = config.owner.name or config.owner.email
    first = name.split()[0] if name else person
    mine = owner.split()[0] if owner and "@" not in owner else "me"
    return Booking(
        key=f"{person}|{start.isoformat()}",
        start=start, end=end,
        summary=f"1:1 {first} / {mine}",
        organizer=config.owner.email, attendee=person, attendee_name=name,
        description="A make-up 1:1, booked with cadenced.", agenda=agenda)


def invitation_mail(config: Config, booking: Booking, ics: bytes, sender: str,
                    now: datetime) -> Outgoing:
    """The invitation as a mail to the person and the owner, the calendar part marked
    ``method=REQUEST`` so mail clients offer to add it."""
    message = EmailMessage()
    message["Subject"] = booking.summary.replace("\r", " ").replace("\n", " ")
    message["From"] = sender
    message["To"] = ", ".join((booking.attendee, config.owner.email))
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain="cadenced.invalid")
    local = booking.start.astimezone(config.owner.tz)
    message.set_content(f"{booking.summary}\n{local:%A %d %B %Y, %H:%M} "
                        f"({config.owner.timezone})\n\n{booking.description}\n")
    message.add_attachment(ics, maintype="text", subtype="calendar",
                           params={"method": "REQUEST"}, filename="invite.ics")
    return Outgoing(message, sender, (booking.attendee, config.owner.email))
