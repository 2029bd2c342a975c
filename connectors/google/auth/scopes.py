"""Google's OAuth scopes cadenced asks for, and what a granted set allows."""

from __future__ import annotations

import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

_AUTH = "https://www.googleapis.com/auth/"
CALENDAR_EVENTS_OWNED = _AUTH + "calendar.events.owned"
CALENDAR_EVENTS_READONLY = _AUTH + "calendar.events.readonly"
DRIVE_FILE = _AUTH + "drive.file"
CALENDAR_FREEBUSY = _AUTH + "calendar.freebusy"

WRITE_SCOPES = (CALENDAR_EVENTS_OWNED, DRIVE_FILE, CALENDAR_FREEBUSY)
"""What ``cadenced auth google`` asks for: edit the events you own, the Drive files
cadenced creates (the agenda Docs), and when your colleagues are busy (free/busy
only, for make-up slots that suit both)."""
READ_SCOPES = (CALENDAR_EVENTS_READONLY, CALENDAR_FREEBUSY)
"""What ``cadenced auth google --read-only`` asks for."""

# Scopes that let cadenced read events / write them back / create and edit its Docs.
_CALENDAR_WRITE = frozenset(_AUTH + s for s in ("calendar", "calendar.events",
                                                 "calendar.events.owned"))
_CALENDAR_READ = _CALENDAR_WRITE | frozenset(
    _AUTH + s for s in ("calendar.readonly", "calendar.events.readonly",
                        "calendar.events.owned.readonly"))
_DOCS_WRITE = frozenset({DRIVE_FILE, _AUTH + "drive"})
# Scopes that let cadenced ask when other people are busy (freeBusy.query).
_FREEBUSY = frozenset(_AUTH + s for s in ("calendar", "calendar.readonly",
                                          "calendar.freebusy", "calendar.events.freebusy"))

CONSOLE_URL = "https://console.cloud.google.com/apis/credentials"
PERMISSIONS_URL = "https://myaccount.google.com/permissions"
TESTING_NOTE = ("an OAuth app in Google's \"Testing\" publishing status gets refresh tokens "
                 "that expire after 7 days; publish it to \"In production\" to avoid that")


def can_read(scopes: Iterable[str]) -> bool:
    """Whether ``scopes`` let cadenced read calendar events."""
    return not _CALENDAR_READ.isdisjoint(scopes)


def can_write_events(scopes: Iterable[str]) -> bool:
    """Whether ``scopes`` let cadenced write back to the events the user owns."""
    return not _CALENDAR_WRITE.isdisjoint(scopes)


def can_see_free_busy(scopes: Iterable[str]) -> bool:
    """Whether ``scopes`` let cadenced ask when other people are busy."""
    return not _FREEBUSY.isdisjoint(scopes)


def can_write_docs(scopes: Iterable[str]) -> bool:
    """Whether ``scopes`` let cadenced create and edit its agenda Docs."""
    return not _DOCS_WRITE.isdisjoint(scopes)


def can_write(scopes: Iterable[str]) -> bool:
    """Both: write-back and Google Docs agendas."""
    scopes = frozenset(scopes)
    return can_write_events(scopes) and can_write_docs(scopes)


def sign_in_hint(source: str) -> str:
    return f"run: cadenced auth google --source {source}"
