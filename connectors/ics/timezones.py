"""Keep custom VTIMEZONE definitions of different feeds apart.

icalendar caches a custom VTIMEZONE (one whose TZID is neither an IANA nor a
Windows zone name) process-wide by TZID, and the first definition wins. In a
long-running daemon two feeds that define the same TZID differently would bleed
into each other. Before parsing, every custom TZID is renamed to one that
carries a hash of its definition, so equal definitions share a name and
different ones never do. Known zone names are left alone: icalendar resolves
them through zoneinfo, whatever the feed's definition says.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

_TZID_LINE = re.compile(r"^TZID[;:](.*?)\r?$", re.MULTILINE)


@lru_cache(maxsize=512)
def is_known_zone(tzid: str) -> bool:
    """True when icalendar resolves ``tzid`` without the feed's VTIMEZONE."""
    clean = tzid.strip().strip("/")
    if clean in WINDOWS_TO_OLSON:
        return True
    parts = clean.split("/")
    for i in range(len(parts)):
        candidate = "/".join(parts[i:])
        if not candidate:
            continue
        try:
            ZoneInfo(candidate)
        except (ValueError, OSError, KeyError):
            continue
        return True
    return False


def _param(value: str) -> str:
    return f'"{value}"' if any(c in value for c in ':;,') else value


def isolate_custom_zones(timezones: list[str], events: str) -> tuple[list[str], str]:
    """Rename custom TZIDs in VTIMEZONE blocks and in the events that use them."""
    renamed: dict[str, str] = {}
    out: list[str] = []
    for block in timezones:
        match = _TZID_LINE.search(block)
        if not match:
            out.append(block)
            continue
        tzid = match.group(1).split(":", 1)[-1].strip()
        if is_known_zone(tzid):
            out.append(block)
            continue
        digest = hashlib.sha256(block.encode()).hexdigest()[:12]
        new = f"{tzid} ~{digest}"
        renamed[tzid] = new
        out.append(block[: match.start(1)] + ":".join(
            [*match.group(1).split(":")[:-1], new]) + block[match.end(1):])
    for old, new in renamed.items():
        pattern = re.compile(r';TZID=(?:"' + re.escape(old) + r'"|' + re.escape(old) + r")(?=[:;])")
        events = pattern.sub(lambda _m, new=new: ";TZID=" + _param(new), events)
    return out, events
