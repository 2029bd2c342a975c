"""Putting the agenda's link into an Outlook invite, touching only what cadenced owns.

Only events the owner organizes (``isOrganizer``), and of those only series masters
and single events: changing an occurrence would make it an exception, cut off from
later edits of the series. A write appends one marked line to the HTML ``body``
(the owner's HTML is sent back byte for byte, the line after it; a text body gets a
text line) and records what cadenced wrote in a single-value extended property of
its own (:data:`PROPERTY`: the agenda's address and the line), so

- a second run changes nothing (the property already names this agenda);
- a line the owner removed is not put back (the property still names it);
- a new address for the agenda replaces cadenced's old line, and only that.

Attachments and everything else of the event are left alone (a PATCH sends only the
body and the property). Every PATCH carries ``If-Match`` with the ``@odata.etag``
the plan was made from; on 412 (the event changed meanwhile) it is read again and
planned again. :func:`plan` is pure; :func:`link` talks to Graph.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from typing import Any

from connectors.base import AgendaLink
from connectors.microsoft.errors import GraphError

log = logging.getLogger(__name__)

# A property set of cadenced's own (a GUID made for it) and a name in it.
PROPERTY = "String {5f2b7d0e-9c1a-4b8e-a7d3-3c6e1f0a9b42} Name cadencedAgenda"
EXPAND = f"singleValueExtendedProperties($filter=id eq '{PROPERTY}')"
FIELDS = "id,subject,body,isOrganizer,type,isCancelled,iCalUId"
ATTEMPTS = 3
LINE_TEXT = "1:1 agenda"


@dataclass(frozen=True)
class Change:
    """A change cadenced made (or, in a dry run, would make) to one event."""

    source: str
    event_id: str
    summary: str
    url: str

    def describe(self) -> str:
        return (f"{self.source}: {self.summary or '(no title)'} [{self.event_id}]: "
                f"body + 1 line -> {self.url}")


def owned(resource: dict[str, Any]) -> bool:
    """An event cadenced may change: the owner organizes it, it is a series master or
    a single event, and it is not cancelled."""
    return (resource.get("isOrganizer") is True
            and resource.get("type") in ("seriesMaster", "singleInstance")
            and not resource.get("isCancelled"))


def recorded(resource: dict[str, Any]) -> dict[str, str] | None:
    """What cadenced wrote into the event before, from its extended property."""
    for prop in resource.get("singleValueExtendedProperties") or []:
        if isinstance(prop, dict) and str(prop.get("id", "")).lower() == PROPERTY.lower():
            try:
                value = json.loads(prop.get("value") or "")
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def line(body_type: str, link: AgendaLink) -> str:
    """The marked line cadenced appends, escaped for the body's type."""
    if body_type == "html":
        url, title = html.escape(link.url, quote=True), html.escape(link.title)
        return (f'<div id="cadenced-agenda"><p>{LINE_TEXT}: <a href="{url}">{title}</a>'
                " (added by cadenced)</p></div>")
    return f"\r\n\r\n{LINE_TEXT}: {link.url} (added by cadenced)"


def plan(resource: dict[str, Any], link: AgendaLink) -> dict[str, Any] | None:
    """The PATCH body that links ``link`` from ``resource``, or None when there is
    nothing to do (not the owner's, or this agenda was linked before)."""
    if not owned(resource):
        return None
    before = recorded(resource)
    if before is not None and before.get("url") == link.url:
        return None  # linked before: what the owner did with the line since is theirs
    body = resource.get("body") or {}
    body_type = str(body.get("contentType") or "text").lower()
    content = body.get("content") or ""
    old = (before or {}).get("line")
    if old and old in content:
        at = content.rfind(old)
        content = content[:at] + content[at + len(old):]  # cadenced's line to an old agenda
    new = line(body_type, link)
    record = json.dumps({"url": link.url, "line": new}, separators=(",", ":"))
    return {"body": {"contentType": "html" if body_type == "html" else "text",
                     "content": content + new},
            "singleValueExtendedProperties": [{"id": PROPERTY, "value": record}]}


def fetch(calendar: Any, event_id: str) -> dict[str, Any]:
    """The event as it is now, with cadenced's property."""
    return calendar.graph.call("GET", f"v1.0/me/events/{event_id}", what="reading an event",
                               params={"$select": FIELDS, "$expand": EXPAND})


def link(calendar: Any, resource: dict[str, Any], target: AgendaLink, *,
         dry_run: bool = False) -> Change | None:
    """Link ``target`` from the event ``resource`` of ``calendar`` (a
    :class:`~connectors.microsoft.calendar.MicrosoftCalendar`). Returns the change made
    (or that would be made), or None when the event needs none."""
    if not owned(resource):
        return None  # someone else's meeting, or an instance: no call at all
    if "singleValueExtendedProperties" not in resource:
        resource = {**resource, **fetch(calendar, resource["id"])}
        if not dry_run:
            calendar.remember(_known(resource))
    for _attempt in range(ATTEMPTS):
        body = plan(resource, target)
        if body is None:
            return None
        change = Change(calendar.name, resource["id"], resource.get("subject") or "",
                        target.url)
        if dry_run:
            return change
        try:
            updated = calendar.graph.call(
                "PATCH", f"v1.0/me/events/{resource['id']}", json=body,
                what="linking the agenda",
                headers={"If-Match": resource.get("@odata.etag") or "*"})
        except GraphError as exc:
            if exc.status != 412:
                raise
            log.info("source %r: event %s changed while cadenced linked its agenda; "
                     "reading it again", calendar.name, resource["id"])
            resource = {**resource, **fetch(calendar, resource["id"])}
            continue
        known = {**resource, **(updated or {}),
                 "singleValueExtendedProperties": body["singleValueExtendedProperties"]}
        calendar.remember(_known(known))
        log.info("source %r: linked the agenda from %s", calendar.name, resource["id"])
        return change
    raise GraphError(calendar.name, f"event {resource['id']} kept changing while cadenced "
                     "linked its agenda", hint="cadenced tries again at its next sync")


def _known(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource to keep: an empty property list means "read, nothing recorded"."""
    return {**resource,
            "singleValueExtendedProperties": resource.get("singleValueExtendedProperties")
            or []}
