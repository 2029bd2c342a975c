"""The cheap first pass over ICS text: components and sketches, no real parse.

One pass of a few regular expressions over the whole text, at C speed:

- line endings and folding are undone the way icalendar undoes them (a CRLF or
  LF followed by a space or tab joins two lines; blank lines in between go too),
  so every logical line is the one icalendar would read;
- the top-level VEVENT and VTIMEZONE blocks are found (a VEVENT's own VALARMs
  stay inside it), with each VEVENT's UID, title and participants read from its
  own lines only (:class:`~daemon.core.detection.Sketch`);
- :func:`trimmed` gives the text of one VEVENT with only the properties
  :func:`~connectors.ics.parse.normalize` reads, so icalendar parses a fraction
  of it. Properties are dropped only at the event's own level and only when
  their name is a plain token: anything odd, and every sub-component, is kept as
  written, so icalendar sees what it would have seen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from daemon.core.detection import Sketch, is_resource_address

# After CRLF -> LF: a newline (the first of a run: O(1) for the others) and any
# blank lines after it, then a space or tab. icalendar's own pattern is
# (\r?\n)+[ \t], which removes the same strings from the same text.
_FOLD = re.compile(r"\n(?<!\n\n)\n*[ \t]")
# icalendar's fold and line end, for text with a CR that is not part of a CRLF.
_ICAL_FOLD = re.compile(r"(?:(?<!\n)\r\n|(?<![\r\n])\n)(?:\r?\n)*[ \t]")
_NEWLINE = re.compile(r"\r?\n")
# The lines the pass looks at. Starting with a literal newline lets `re` jump from
# line to line; the value runs to the end of the line, and over its folded
# continuation lines if there are any.
_LINE = re.compile(r"\n(BEGIN|END|UID|SUMMARY|ATTENDEE|ORGANIZER)([;:][^\n]*(?:\n[ \t][^\n]*)*)",
                   re.IGNORECASE)
_LINE_FOLD = re.compile(r"\r?\n[ \t]")  # within one line, when no blank line is near
_BLANK_LINE = re.compile(r"\n\r?\n")
_QUOTED_SPLIT = re.compile(r'((?:;(?:"[^"]*"|[^":])*)?):(.*)', re.DOTALL)
_RESOURCE = re.compile(r';[ \t]*CUTYPE[ \t]*=[ \t]*"?(?:ROOM|RESOURCE)"?[ \t]*(?=[;:]|$)',
                       re.IGNORECASE)
_CAL_PROP = re.compile(r"^X-WR-TIMEZONE[;:].*?\r?$", re.MULTILINE | re.IGNORECASE)
_TTL = re.compile(r"^(?:X-PUBLISHED-TTL|REFRESH-INTERVAL)[^:\r\n]*:(.*?)\r?$",
                  re.MULTILINE | re.IGNORECASE)
_UNESCAPE = re.compile(r"\\([\\;,nN])")
_TOKEN = re.compile(r"([A-Za-z0-9-]+)[;:]")
# An ORGANIZER or ATTENDEE line whose parameters are all plain KEY=value (no quotes,
# no backslashes): the ones normalize() does not read can be left out.
_PLAIN_PARAMS = re.compile(r"([A-Za-z]+)((?:;[A-Za-z0-9-]+=[^\";:\\]*)+):")
_PERSON_PARAMS = frozenset({"CN", "PARTSTAT", "CUTYPE"})

# What normalize() reads of a VEVENT; every other property of the event's own level
# may be left out of what icalendar parses.
KEPT_PROPERTIES = frozenset({
    "UID", "SUMMARY", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE",
    "RECURRENCE-ID", "ORGANIZER", "ATTENDEE", "STATUS", "SEQUENCE", "LAST-MODIFIED",
    "TRANSP", "BEGIN", "END",
})


def unfold(text: str) -> str:
    """``text`` with LF line endings and no folded lines (as icalendar reads it)."""
    if "\r\r" in text:  # a lone CR before a line end: icalendar's own rules, slowly
        return _NEWLINE.sub("\n", _ICAL_FOLD.sub("", text))
    return _FOLD.sub("", text.replace("\r\n", "\n"))


@dataclass(frozen=True)
class Split:
    calendar_props: str  # calendar-level lines that change meaning (X-WR-TIMEZONE)
    timezones: list[str]
    events: list[str]  # VEVENT blocks as written, each ending with a newline
    sketches: list[Sketch]  # one per event
    refresh: timedelta | None = None  # X-PUBLISHED-TTL / REFRESH-INTERVAL, when valid


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def _address(value: str) -> str:
    value = value.strip()
    if value[:7].lower() == "mailto:":
        value = value[7:]
    return value.strip().lower()


def _component(rest: str) -> str | None:
    """The component a BEGIN or END line names (``rest`` from its name on), if plain."""
    if rest[:1] != ":":
        return None
    return rest[1:].rstrip(" \t\r").upper()


def _participant(rest: str) -> str | None:
    """The email of an ORGANIZER or ATTENDEE line (``rest`` from its name on), unless
    it is a room or resource."""
    if rest[0] == ":":
        params, value = "", rest[1:]
    elif '"' not in rest:
        params, colon, value = rest.partition(":")
        if not colon:
            return None
    else:
        match = _QUOTED_SPLIT.match(rest)
        if match is None:
            return None
        params, value = match.groups()
    if params and _RESOURCE.search(params):
        return None
    email = _address(value.rstrip("\r"))
    return email if email and not is_resource_address(email) else None


def split_calendar(text: str) -> Split:
    """Split ICS text into its VTIMEZONE and VEVENT blocks and sketch each VEVENT.

    Blocks are returned as written; :func:`trimmed` unfolds those that are parsed.
    Without blank lines a fold is one line break and a space or tab, and each line
    the pass reads is unfolded on its own; with blank lines (which icalendar's
    unfolding swallows before a continuation) the whole text is unfolded first.
    """
    if _BLANK_LINE.search(text):
        text = unfold(text)
    text = "\n" + text
    timezones: list[str] = []
    events: list[str] = []
    sketches: list[Sketch] = []
    kind: str | None = None  # the open top-level block: VEVENT or VTIMEZONE
    start = depth = 0
    uid = summary = ""
    people: set[str] = set()
    first = last = None
    known: dict[str, str | None] = {}  # a participant line seen before: its email
    for match in _LINE.finditer(text):
        name, rest = match.groups()
        name = name.upper()
        if name in ("ATTENDEE", "ORGANIZER"):
            if kind == "VEVENT" and depth == 0:  # the event's own, not its alarms'
                try:
                    email = known[rest]  # as written: the same line folds the same way
                except KeyError:
                    email = known[rest] = _participant(_LINE_FOLD.sub("", rest))
                if email:
                    people.add(email)
            continue
        if "\n" in rest:
            rest = _LINE_FOLD.sub("", rest)
        if name == "BEGIN":
            component = _component(rest)
            if kind is None:
                if component in ("VEVENT", "VTIMEZONE"):
                    kind, start, depth = component, match.start() + 1, 0
                    uid = summary = ""
                    people = set()
            else:
                depth += 1
        elif name == "END":
            if kind is None:
                continue
            if _component(rest) == kind:
                block = text[start:match.end()] + "\n"
                if kind == "VEVENT":
                    events.append(block)
                    sketches.append(Sketch(uid=uid, summary=summary,
                                           participants=frozenset(people)))
                else:
                    timezones.append(block)
                if first is None:
                    first = start
                last = match.end()
                kind = None
            elif depth:
                depth -= 1
        elif kind == "VEVENT" and depth == 0:  # the event's own lines, not its alarms'
            if name == "UID":
                uid = rest[1:].rstrip("\r").strip() if rest[0] == ":" else \
                    _value(rest).strip()
            else:
                summary = _unescape(rest[1:].rstrip("\r") if rest[0] == ":" else _value(rest))
    outside = unfold(text if first is None else text[:first] + text[last:])
    props = "".join(m.group(0).rstrip("\r") + "\r\n" for m in _CAL_PROP.finditer(outside))
    return Split(props, timezones, events, sketches, _refresh(outside))


def _value(rest: str) -> str:
    """The value of a line with parameters (``rest`` from its name on)."""
    match = _QUOTED_SPLIT.match(rest)
    return match.group(2).rstrip("\r") if match else ""


def _refresh(text: str) -> timedelta | None:
    """How often the feed asks to be read, if it says so sensibly (1 minute to 1 week)."""
    match = _TTL.search(text)
    if match is None:
        return None
    from icalendar import vDuration

    try:
        value = vDuration.from_ical(match.group(1).strip())
    except (ValueError, TypeError):
        return None
    if isinstance(value, timedelta) and timedelta(minutes=1) <= value <= timedelta(days=7):
        return value
    return None


def sketch(block: str) -> Sketch:
    """The sketch of one VEVENT block (as :func:`split_calendar` makes it)."""
    split = split_calendar(block)
    return split.sketches[0] if split.sketches else Sketch(uid="", summary="",
                                                           participants=frozenset())


def trimmed(block: str) -> str:
    """One VEVENT block, unfolded, with only the properties normalize() reads, CRLF lines.

    A line is left out only at the event's own level, and only when it starts with
    a plain property name (letters, digits, dashes) that is not kept; sub-components
    and their lines are kept whole, so a broken alarm still breaks the parse as
    before. A lone ``STATUS:CONFIRMED`` or ``SEQUENCE:0`` says what its absence says
    (normalize reads both as the default) and is left out too.
    """
    out: list[str] = []
    depth = 0
    defaults: dict[str, int] = {}  # a STATUS or SEQUENCE line at its default: its index
    seen: dict[str, int] = {}  # how many STATUS and SEQUENCE lines the event has
    for line in unfold(block).split("\n"):
        if not line:
            continue
        match = _TOKEN.match(line)
        if match is not None:
            name = match.group(1).upper()
            if name == "BEGIN":
                depth += 1
            elif name == "END":
                depth -= 1
            elif depth == 1:
                if name not in KEPT_PROPERTIES:
                    continue
                if name in ("ATTENDEE", "ORGANIZER"):
                    line = _person_line(line)
                elif name in _DEFAULTS:
                    seen[name] = seen.get(name, 0) + 1
                    if line == _DEFAULTS[name]:
                        defaults[name] = len(out)
        out.append(line)
    drop = {i for name, i in defaults.items() if seen[name] == 1}
    if drop:
        out = [line for i, line in enumerate(out) if i not in drop]
    return "\r\n".join(out) + "\r\n"


_DEFAULTS = {"STATUS": "STATUS:CONFIRMED", "SEQUENCE": "SEQUENCE:0"}


def _person_line(line: str) -> str:
    """An ORGANIZER or ATTENDEE line with only the parameters normalize() reads (the
    name, the answer, a room's CUTYPE), when all its parameters are plain."""
    match = _PLAIN_PARAMS.match(line)
    if match is None:
        return line
    kept = [param for param in match.group(2)[1:].split(";")
            if param.partition("=")[0].upper() in _PERSON_PARAMS
            and param.upper() != "CUTYPE=INDIVIDUAL"]
    return "".join([match.group(1), *(";" + p for p in kept), line[match.end() - 1:]])
