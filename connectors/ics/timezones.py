"""Keep custom VTIMEZONE definitions of different feeds apart.

icalendar caches a VTIMEZONE whose TZID is not an exact IANA name (a custom
zone, but also a Windows name or a vendor-prefixed one such as
"/mozilla.org/.../Europe/Berlin") process-wide by TZID, and the first definition
wins. In a long-running daemon two feeds that define the same TZID differently
would bleed into each other. Before parsing, every custom TZID is renamed to one
that carries a hash of its definition, so equal definitions share a name and
different ones never do. Known zones are resolved through zoneinfo, whatever the
feed's definition says: IANA names are left alone and their VTIMEZONE is not
passed on (icalendar would ignore it); Windows and vendor-prefixed names are
pointed at their IANA name and their VTIMEZONE is dropped.
"""

from __future__ import annotations

import hashlib
import re

from daemon.core.zones import known_zone

_TZID_LINE = re.compile(r'^TZID((?:;(?:"[^"]*"|[^":\r\n])*)?):(.*?)\r?$', re.MULTILINE)
_FOLD = re.compile(r"\r?\n[ \t]")
_TEXT_ESCAPE = re.compile(r"\\([\\;,nN])")


def _param(value: str) -> str:
    return f'"{value}"' if any(c in value for c in ':;,') else value


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")


def isolate_custom_zones(timezones: list[str], events: str) -> tuple[list[str], str]:
    """Rename custom TZIDs in VTIMEZONE blocks and in the events that use them.

    A known zone with a name icalendar would cache (a Windows or vendor-prefixed
    name) is pointed at its IANA name and its VTIMEZONE dropped, so zoneinfo
    resolves it, whatever the feed's definition says; an IANA zone's VTIMEZONE is
    dropped too. Lines are unfolded first: long TZIDs are often folded.
    """
    events = _FOLD.sub("", events)
    renamed: dict[str, str] = {}
    out: list[str] = []
    for block in timezones:
        block = _FOLD.sub("", block)
        match = _TZID_LINE.search(block)
        if not match:
            out.append(block)
            continue
        tzid = _TEXT_ESCAPE.sub(lambda m: m.group(1), match.group(2)).strip()
        iana = known_zone(tzid)
        if iana == tzid:  # icalendar resolves an IANA name through zoneinfo, never the block
            continue
        if iana is not None:
            renamed[tzid] = iana
            continue
        digest = hashlib.sha256(block.encode()).hexdigest()[:12]
        new = f"{tzid} ~{digest}"
        renamed[tzid] = new
        out.append(block[: match.start(2)] + _text(new) + block[match.end(2):])
    for old, new in renamed.items():
        pattern = re.compile(r';TZID=(?:"' + re.escape(old) + r'"|' + re.escape(old) + r")(?=[:;])")
        events = pattern.sub(lambda _m, new=new: ";TZID=" + _param(new), events)
    return out, events
