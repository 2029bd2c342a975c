"""Booking a one-off 1:1 in Google Calendar: ``events.insert`` with an event id made
from the booking's key, so that a retry after a timeout (the server may have stored
the first) answers 409 and the event is read back instead of made twice.

The person is invited (``sendUpdates`` from the source's ``book_send_updates``,
default ``all``: the invite is the point); the agenda Doc, when there is one, is
attached and linked as write-back does for series.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from connectors.base import Booking
from connectors.google.api import execute
from connectors.google.errors import GoogleApiError
from connectors.google.writeback import DOC_MIME, KEY_DOC, KEY_PRIVATE, KEY_PROPS, KEY_URL


def event_id(key: str) -> str:
    """Google's event id for ``key``: base32hex (0-9, a-v), as the API requires."""
    digest = hashlib.sha256(key.encode()).digest()[:20]
    return "cad" + base64.b32hexencode(digest).decode().lower().rstrip("=")


def resource(booking: Booking) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": event_id(booking.key),
        "summary": booking.summary,
        "start": {"dateTime": booking.start.isoformat()},
        "end": {"dateTime": booking.end.isoformat()},
        "attendees": [{"email": booking.organizer, "organizer": True, "responseStatus": "accepted"},
                      {"email": booking.attendee, "displayName": booking.attendee_name}],
        "description": booking.description,
        "reminders": {"useDefault": True},
    }
    link = booking.agenda
    if link is not None:
        body["description"] = (booking.description + "\n\n" if booking.description else "") + \
            f"1:1 agenda: {link.url}"
        private = {KEY_URL: link.url}
        if link.document_id:
            private[KEY_DOC] = link.document_id
            body["attachments"] = [{"fileUrl": link.url, "title": link.title,
                                    "mimeType": DOC_MIME}]
        body[KEY_PROPS] = {KEY_PRIVATE: private}
    return body


def book(calendar: Any, booking: Booking, *, dry_run: bool = False) -> str:
    """Create (once) the booking in ``calendar`` (a GoogleCalendar); what it made."""
    body = resource(booking)
    when = f"{booking.start:%a %d %b %H:%M}–{booking.end:%H:%M}"
    if dry_run:
        return f"would book {booking.summary!r} {when} in {calendar.name!r}, inviting " \
               f"{booking.attendee}"
    config = calendar.config
    service = calendar.service()
    try:
        made = execute(service.events().insert(
            calendarId=config.calendar_id, body=body, supportsAttachments=True,
            sendUpdates=config.book_send_updates), source=calendar.name,
            what="booking the 1:1", sleep=calendar.sleep, idempotent=True)
        fresh = True
    except GoogleApiError as exc:
        if exc.status != 409:
            raise
        # An earlier try was stored (its answer lost): the same id is the same booking.
        made = execute(service.events().get(calendarId=config.calendar_id,
                                             eventId=body["id"]),
                       source=calendar.name, what="reading the booked 1:1",
                       sleep=calendar.sleep)
        fresh = False
    calendar.remember(made)
    verb = "booked" if fresh else "already booked"
    return f"{verb} {booking.summary!r} {when} in {calendar.name!r}, inviting " \
           f"{booking.attendee} ({made.get('htmlLink', made['id'])})"
