"""Time-zone names as calendars write them, resolved to IANA zones. Pure.

Calendars name zones three ways: IANA names ("Europe/Berlin"), Windows names
(Outlook, Exchange and Microsoft Graph: "W. Europe Standard Time"), and
vendor-prefixed paths ("/mozilla.org/20050126_1/Europe/Berlin"). Every connector
resolves them here, so the same meeting read from two kinds of source lands in the
same zone.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON


@lru_cache(maxsize=512)
def known_zone(tzid: str) -> str | None:
    """The IANA name icalendar resolves ``tzid`` to without the feed's VTIMEZONE, or None.

    IANA names, Windows names ("W. Europe Standard Time") and vendor-prefixed
    names ("/mozilla.org/20050126_1/Europe/Berlin") are known.
    """
    clean = tzid.strip().strip("/")
    if clean in WINDOWS_TO_OLSON:
        return WINDOWS_TO_OLSON[clean]
    parts = clean.split("/")
    for i in range(len(parts)):
        candidate = "/".join(parts[i:])
        if not candidate:
            continue
        try:
            ZoneInfo(candidate)
        except (ValueError, OSError, KeyError):
            continue
        return candidate
    return None
