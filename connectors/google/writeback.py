"""Putting the agenda's link into the invite, touching only what cadenced owns.

Only events the owner organizes (``organizer.self``) are changed, and only
series masters and one-off 1:1s: patching each instance would detach it from
later edits of the series. A patch adds

* the Doc to ``attachments`` (with ``supportsAttachments=true``; the list sent is
  the event's whole list plus the Doc, since Google replaces the list);
* one line with the link at the end of ``description``: the text before it
  stays byte-identical (an HTML description gets an HTML line);
* what cadenced wrote, in ``extendedProperties.private`` (keys of at most 44
  characters, as Google allows), so a second run changes nothing and a line or
  attachment the owner removed afterwards is not put back.

Every patch carries ``If-Match`` with the etag the plan was made from; on 412
(someone edited the event meanwhile) the event is read again and the plan made
again. ``sendUpdates`` is always passed, from the source's ``send_updates``.
:func:`plan` is pure; :func:`link` talks to Google.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from typing import Any

from connectors.google.api import execute
from connectors.google.errors import GoogleApiError

log = logging.getLogger(__name__)

KEY_DOC = "cadencedAgendaDocId"
KEY_URL = "cadencedAgendaUrl"
KEY_SUFFIX = "cadencedDescriptionSuffix"
KEY_PROPS = "extendedProperties"
KEY_PRIVATE = "private"
DOC_MIME = "application/vnd.google-apps.document"
LINE_TEXT = "1:1 agenda"
ATTEMPTS = 3  # plans made again after a 412
_HTML = re.compile(r"<(?:br|p|div|a|b|i|u|ul|ol|li|span|strong|em)\b[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class Link:
    """A person's agenda Doc, to be linked from their 1:1 invites."""

    doc_id: str
    url: str
    title: str


@dataclass(frozen=True)
class Patch:
    """A change cadenced made (or, in a dry run, would make) to one event."""

    source: str
    event_id: str
    summary: str
    body: dict[str, Any]

    def describe(self) -> str:
        parts = []
        url = self.body.get(KEY_PROPS, {}).get(KEY_PRIVATE, {}).get(KEY_URL)
        if "description" in self.body:
            parts.append("description + 1 line" if url else "description: the agenda block")
        if "attachments" in self.body:
            parts.append(f"attachments: {len(self.body['attachments'])}")
        return (f"{self.source}: {self.summary or '(no title)'} [{self.event_id}]: "
                + ", ".join(parts) + (f" -> {url}" if url else ""))


def is_html(text: str) -> bool:
    return bool(_HTML.search(text))


def description_suffix(before: str, url: str) -> str:
    """What cadenced appends to a description ``before``: one line with the link."""
    if is_html(before):
        safe = html.escape(url, quote=True)
        return ("<br><br>" if before.strip() else "") + (
            f'{LINE_TEXT}: <a href="{safe}">{safe}</a> (added by cadenced)')
    return ("\n\n" if before.strip() else "") + f"{LINE_TEXT}: {url} (added by cadenced)"


def owned(resource: dict[str, Any]) -> bool:
    """An event cadenced may change: the owner organizes it, it is a master or a
    one-off (not an instance or an exception), and it is not cancelled."""
    return (bool((resource.get("organizer") or {}).get("self"))
            and not resource.get("recurringEventId")
            and resource.get("status") != "cancelled")


def plan(resource: dict[str, Any], link: Link) -> dict[str, Any] | None:
    """The patch body that links ``link`` from ``resource``, or None when there is
    nothing to do (already linked to this Doc, or not the owner's to change)."""
    if not owned(resource):
        return None
    private = (resource.get(KEY_PROPS) or {}).get(KEY_PRIVATE) or {}
    if private.get(KEY_DOC) == link.doc_id and private.get(KEY_URL) == link.url:
        return None  # linked before: what the owner did with it since is theirs
    description = resource.get("description") or ""
    previous = private.get(KEY_SUFFIX)
    if previous and description.endswith(previous):
        description = description[: -len(previous)]  # an older link of cadenced's
    suffix = description_suffix(description, link.url)
    old_doc = private.get(KEY_DOC)
    attachments = [dict(a) for a in resource.get("attachments") or []
                   if not (old_doc and a.get("fileId") == old_doc and old_doc != link.doc_id)]
    if not any(a.get("fileId") == link.doc_id or a.get("fileUrl") == link.url
               for a in attachments):
        attachments.append({"fileUrl": link.url, "fileId": link.doc_id, "title": link.title,
                            "mimeType": DOC_MIME})
    return {
        "description": description + suffix,
        "attachments": attachments,
        KEY_PROPS: {KEY_PRIVATE: {KEY_DOC: link.doc_id, KEY_URL: link.url,
                                  KEY_SUFFIX: suffix}},
    }


def link(calendar: Any, resource: dict[str, Any], target: Link, *, dry_run: bool = False
         ) -> Patch | None:
    """Link ``target`` from the event ``resource`` of the Google source ``calendar``
    (a :class:`~connectors.google.calendar.GoogleCalendar`). Returns the patch made
    (or that would be made), or None when the event needs none."""
    config = calendar.config
    for _attempt in range(ATTEMPTS):
        body = plan(resource, target)
        if body is None:
            return None
        patch = Patch(calendar.name, resource["id"], resource.get("summary") or "", body)
        if dry_run:
            return patch
        service = calendar.service()
        request = service.events().patch(
            calendarId=config.calendar_id, eventId=resource["id"], body=body,
            supportsAttachments=True, sendUpdates=config.send_updates)
        if resource.get("etag"):
            request.headers["If-Match"] = resource["etag"]
        try:
            updated = execute(request, source=calendar.name, what="linking the agenda",
                              sleep=calendar.sleep)
        except GoogleApiError as exc:
            if exc.status != 412:
                raise
            log.info("source %r: event %s changed while cadenced linked its agenda; "
                     "reading it again", calendar.name, resource["id"])
            resource = execute(
                service.events().get(calendarId=config.calendar_id, eventId=resource["id"]),
                source=calendar.name, what="reading an event again", sleep=calendar.sleep)
            calendar.remember(resource)
            continue
        calendar.remember(updated)
        log.info("source %r: linked the agenda from %s", calendar.name, resource["id"])
        return patch
    raise GoogleApiError(calendar.name, f"event {resource['id']} kept changing while cadenced "
                         "linked its agenda", hint="cadenced tries again at its next sync")
