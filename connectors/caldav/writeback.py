"""Putting the agenda's link into a CalDAV invite, touching only what cadenced owns.

Only events the owner organizes (ORGANIZER is the owner or an alias, or there is no
ORGANIZER: the owner's own event) and only the series master (or the one-off) are
changed. The change is made on the resource's text, line by line, so every other
line stays byte-identical: properties and parameters cadenced does not own,
X- properties, VALARMs, overrides, the line endings and folding. It

* appends one marked line to DESCRIPTION (its parameters kept);
* sets ``URL`` to the agenda when the event has none (or cadenced's own), else
  adds an ``ATTACH;VALUE=URI``;
* records what it wrote in ``X-CADENCED-AGENDA`` (the link) and
  ``X-CADENCED-LINE`` (the text appended), so a second run changes nothing and a
  line the owner removed afterwards is not put back;
* with ``send_updates = "all"`` raises SEQUENCE, so every guest's copy takes it.

The new lines go before the master's first sub-component (VALARM), as RFC 5545
orders them. The resource is read with its etag and written with ``If-Match``; a
412 (someone changed it meanwhile) reads it again and plans again. Nothing is
written without an etag. :func:`plan` is pure; :func:`link_resources` talks to
the server.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from icalendar.parser import Contentline, Parameters

from connectors.base import AgendaLink, InviteChange
from connectors.caldav.server import CaldavError, sign_in_hint, talking
from daemon.core.errors import NeedsSignIn

log = logging.getLogger(__name__)

LINE_TEXT = "1:1 agenda"
KEY_AGENDA = "X-CADENCED-AGENDA"
KEY_LINE = "X-CADENCED-LINE"
ATTEMPTS = 3  # plans made again after a 412
_NAME = re.compile(r"^([A-Za-z0-9-]+)")
_UNSAFE = re.compile(r"[\x00-\x20\x7f\"<>\\^`{|}]")


@dataclass(frozen=True)
class Prop:
    """One top-level property of the master VEVENT: lines[start:end]."""

    name: str
    start: int
    end: int
    text: str  # unfolded, without the line ending


@dataclass(frozen=True)
class Master:
    end: int  # the index of END:VEVENT
    first_child: int  # where properties may be inserted (first BEGIN: inside, or end)
    props: tuple[Prop, ...]

    def get(self, name: str) -> list[Prop]:
        return [p for p in self.props if p.name == name]


def _unfold(lines: list[str]) -> str:
    return "".join(line.rstrip("\r\n")[1:] if i else line.rstrip("\r\n")
                   for i, line in enumerate(lines))


def find_master(lines: list[str]) -> Master | None:
    """The one top-level VEVENT without RECURRENCE-ID, or None (none, or several)."""
    masters: list[Master] = []
    i, depth = 0, 0
    current: list[Prop] = []
    child = -1
    while i < len(lines):
        j = i + 1
        while j < len(lines) and lines[j][:1] in (" ", "\t"):
            j += 1
        text = _unfold(lines[i:j])
        upper = text.upper()
        if upper.startswith("BEGIN:"):
            depth += 1
            if depth == 2 and upper == "BEGIN:VEVENT":
                current, child = [], -1
            elif depth == 3 and child < 0:
                child = i
        elif upper.startswith("END:"):
            if depth == 2 and upper == "END:VEVENT" and not any(
                    p.name == "RECURRENCE-ID" for p in current):
                masters.append(Master(i, child if child >= 0 else i, tuple(current)))
            depth -= 1
        elif depth == 2:
            match = _NAME.match(text)
            if match:
                current.append(Prop(match.group(1).upper(), i, j, text))
        i = j
    return masters[0] if len(masters) == 1 else None


def _value(prop: Prop) -> str:
    return str(Contentline(prop.text).parts()[2])


def _fold(text: str, newline: str) -> str:
    """One content line folded at 75 octets, never inside a UTF-8 character."""
    out, line = [], ""
    for char in text:
        limit = 75 if not out else 74
        if len((line + char).encode()) > limit:
            out.append(line)
            line = ""
        line += char
    out.append(line)
    return (newline + " ").join(out) + newline


def owned(master: Master, owner: frozenset[str]) -> bool:
    """The owner organizes it (or nobody does: the owner's own event), and it is not
    cancelled."""
    if any(_value(p).strip().upper() == "CANCELLED" for p in master.get("STATUS")):
        return False
    organizers = master.get("ORGANIZER")
    if not organizers:
        return True
    address = _value(organizers[0]).strip()
    if address[:7].lower() == "mailto:":
        address = address[7:]
    return address.strip().lower() in owner


def plan(text: str, owner: frozenset[str], link: AgendaLink, *, send_updates: str = "none"
         ) -> str | None:
    """The resource ``text`` with ``link`` linked from its master, or None when there is
    nothing to do (linked before, not the owner's, no single master, unsafe URL)."""
    if _UNSAFE.search(link.url):
        return None
    lines = text.splitlines(keepends=True)
    master = find_master(lines)
    if master is None or not owned(master, owner):
        return None
    recorded = master.get(KEY_AGENDA)
    previous = _value(recorded[0]) if recorded else None
    if previous == link.url:
        return None  # linked before: what the owner did with it since is theirs
    newline = "\r\n" if "\r\n" in text else "\n"
    replace: dict[int, tuple[int, str]] = {}  # start -> (end, new text)
    insert: list[str] = []

    descriptions = master.get("DESCRIPTION")
    before = _value(descriptions[0]) if descriptions else ""
    old_line = master.get(KEY_LINE)
    old_suffix = _value(old_line[0]) if old_line else ""
    if old_suffix and before.endswith(old_suffix):
        before = before[: -len(old_suffix)]  # an older link of cadenced's
    suffix = ("\n\n" if before.strip() else "") + f"{LINE_TEXT}: {link.url} (added by cadenced)"
    if descriptions:
        name, params, _ = Contentline(descriptions[0].text).parts()
        new = str(Contentline.from_parts(name, params, before + suffix))
        replace[descriptions[0].start] = (descriptions[0].end, _fold(new, newline))
    else:
        insert.append(_fold(str(Contentline.from_parts("DESCRIPTION", Parameters(), suffix)),
                            newline))

    urls = master.get("URL")
    attaches = [p for p in master.get("ATTACH") if _value(p) in (previous, link.url)]
    if not urls or _value(urls[0]) == previous:
        if urls:
            replace[urls[0].start] = (urls[0].end, _fold(f"URL:{link.url}", newline))
        else:
            insert.append(_fold(f"URL:{link.url}", newline))
    elif attaches:
        replace[attaches[0].start] = (attaches[0].end,
                                      _fold(f"ATTACH;VALUE=URI:{link.url}", newline))
    else:
        insert.append(_fold(f"ATTACH;VALUE=URI:{link.url}", newline))

    if send_updates == "all":
        sequences = master.get("SEQUENCE")
        try:
            number = int(_value(sequences[0]).strip()) if sequences else 0
        except ValueError:
            number = 0
        if sequences:
            replace[sequences[0].start] = (sequences[0].end,
                                           f"SEQUENCE:{number + 1}{newline}")
        else:
            insert.append(f"SEQUENCE:{number + 1}{newline}")

    for key, value in ((KEY_AGENDA, None), (KEY_LINE, suffix)):
        line = (f"{key}:{link.url}" if value is None
                else str(Contentline.from_parts(key, Parameters(), value)))
        found = master.get(key)
        if found:
            replace[found[0].start] = (found[0].end, _fold(line, newline))
        else:
            insert.append(_fold(line, newline))

    out: list[str] = []
    i = 0
    while i < len(lines):
        if i == master.first_child:
            out.extend(insert)
        if i in replace:
            end, new_text = replace[i]
            out.append(new_text)
            i = end
            continue
        out.append(lines[i])
        i += 1
    return "".join(out)


# --- talking to the server -----------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """A change cadenced made (or, in a dry run, would make) to one resource."""

    source: str
    resource: str
    summary: str
    url: str
    dry_run: bool = False

    def describe(self) -> str:
        return (f"{self.source}: {self.summary or '(no title)'} [{self.resource}]: "
                f"description + 1 line, link -> {self.url}")


def _summary(text: str) -> str:
    lines = text.splitlines(keepends=True)
    master = find_master(lines)
    found = master.get("SUMMARY") if master else []
    return _value(found[0]) if found else ""


def _holds(text: str, uid: str) -> bool:
    master = find_master(text.splitlines(keepends=True))
    return master is not None and any(_value(p).strip() == uid for p in master.get("UID"))


def _http(calendar: Any, method: str, url: str, *, headers: dict[str, str],
          body: bytes | None = None) -> Any:
    """One plain request through the caldav client's own session and sign-in (the
    library's DAVResponse drops carriage returns: the bytes must stay the server's)."""
    client = calendar.server.client()
    config = calendar.config
    with talking(calendar.name, f"{method} of an event"):
        response = client.session.request(
            method, url, headers={"User-Agent": "cadenced", **headers}, data=body,
            auth=client.auth, timeout=config.timeout_seconds,
            verify=config.ca_file or True)
    if response.status_code == 401:
        raise NeedsSignIn(calendar.name, f"{method} of an event: the server refused the "
                          "login (HTTP 401)", hint=sign_in_hint(calendar.name))
    return response


def _get(calendar: Any, url: str) -> tuple[str, str | None]:
    response = _http(calendar, "GET", url, headers={"Accept": "text/calendar"})
    if response.status_code != 200:
        raise CaldavError(calendar.name, f"reading an event again: HTTP "
                          f"{response.status_code}", status=response.status_code,
                          hint="cadenced tries again at its next sync")
    return response.content.decode("utf-8"), response.headers.get("ETag")


def link_one(calendar: Any, url: str, link: AgendaLink, *, dry_run: bool) -> Written | None:
    """Link ``link`` from the resource at ``url`` of ``calendar`` (a
    :class:`~connectors.caldav.source.CaldavCalendar`)."""
    config = calendar.config
    kept = calendar.resources().get(url)
    if kept is None or plan(kept["data"], calendar.owner, link,
                            send_updates=config.send_updates) is None:
        return None  # decided from the kept copy: no request at all
    for _attempt in range(ATTEMPTS):
        text, etag = _get(calendar, url)
        new = plan(text, calendar.owner, link, send_updates=config.send_updates)
        if new is None:
            calendar.remember(url, etag, text)
            return None
        change = Written(calendar.name, url.rstrip("/").rsplit("/", 1)[-1], _summary(text),
                         link.url, dry_run)
        if dry_run:
            return change
        if not etag:
            log.warning("source %r: the server gave no etag for %s; cadenced never writes "
                        "an event without one", calendar.name, change.resource)
            return None
        response = _http(calendar, "PUT", url, body=new.encode("utf-8"), headers={
            "If-Match": etag, "Content-Type": "text/calendar; charset=utf-8"})
        if response.status_code == 412:
            log.info("source %r: %s changed while cadenced linked its agenda; reading it "
                     "again", calendar.name, change.resource)
            continue
        if response.status_code not in (200, 201, 204):
            raise CaldavError(calendar.name, f"writing the agenda link into "
                              f"{change.resource}: HTTP {response.status_code}",
                              status=response.status_code,
                              hint="check that the account may change this calendar; set "
                              "write_back = false to stop trying")
        calendar.remember(url, response.headers.get("ETag"), new)
        log.info("source %r: linked the agenda from %s", calendar.name, change.resource)
        return change
    raise CaldavError(calendar.name, f"{url} kept changing while cadenced linked its agenda",
                      hint="cadenced tries again at its next sync")


def link_resources(calendar: Any, uid: str, link: AgendaLink, *, dry_run: bool = False
                   ) -> list[InviteChange]:
    """Link ``link`` from every kept resource whose master has ``uid``. One that fails
    is logged and skipped; NeedsSignIn ends the step."""
    changes: list[InviteChange] = []
    for url, kept in sorted(calendar.resources().items()):
        if f"{uid}" not in kept.get("data", "") or not _holds(kept["data"], uid):
            continue
        try:
            change = link_one(calendar, url, link, dry_run=dry_run)
        except NeedsSignIn:
            raise
        except CaldavError as exc:
            log.error("%s%s", exc, f" ({exc.hint})" if exc.hint else "")
            continue
        if change is not None:
            changes.append(change)
    return changes
