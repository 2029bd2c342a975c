"""What a 1:1 to be booked is, and where its agenda lives: plain data that the
service hands to a connector (an EventBooker, an InviteWriter) or to the invitation
renderer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AgendaLink:
    """A person's agenda, as an invite links it."""

    url: str  # https only: a local agenda's address is a secret of this machine
    title: str  # "1:1 agenda: Ada Lovelace"
    document_id: str | None = None  # a document the calendar can attach (a Google Doc)


@dataclass(frozen=True, slots=True)
class Booking:
    """A one-off 1:1 to put in the owner's calendar, with the person invited."""

    key: str  # the same person and slot give the same key: a retry never books twice
    start: datetime
    end: datetime
    summary: str
    organizer: str  # the owner's address
    attendee: str  # the person's address
    attendee_name: str
    description: str = ""
    agenda: AgendaLink | None = None
