"""The agenda itself in the coming 1:1's invite, for a Google calendar whose agendas
are kept on this machine (no Doc to link).

Only the next meeting gets it, and only that meeting: for a series, its instance is
found with ``events.instances(originalStart=...)`` and patched, which makes it an
exception of the series the way the Calendar API documents (the master and every
other instance stay as they were); a one-off is patched itself. Only events the
owner organizes are changed. A patch

* adds a marked block at the end of the description (HTML when the description is
  HTML, plain text otherwise), above cadenced's link line when there is one; the
  owner's text before it stays byte-identical;
* replaces that block when the section changed, and changes nothing when it did
  not (the block's fingerprint is kept in ``extendedProperties.private``);
* does not put back a block the owner deleted (the fingerprint is there, the block
  is not).

Every patch carries ``If-Match`` and ``sendUpdates`` (the source's ``send_updates``,
``none`` by default: no one gets mail for it). :func:`plan_block` is pure.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from typing import Any

from connectors.google.api import execute
from connectors.google.errors import GoogleApiError
from connectors.google.writeback import (
    KEY_PRIVATE,
    KEY_PROPS,
    KEY_SUFFIX,
    Patch,
    is_html,
)
from daemon.core.agenda.digest import AgendaDigest

log = logging.getLogger(__name__)

KEY_BLOCK = "cadencedAgendaBlock"  # the fingerprint of the block written
KEY_MEETING = "cadencedAgendaMeeting"  # the meeting key it was written for (hashed)
START = "── 1:1 agenda (added by cadenced) ──"
END = "── end of the 1:1 agenda ──"
ATTEMPTS = 3


def render_block(digest: AgendaDigest, *, as_html: bool) -> str:
    """The block's text, from its first marker to its last."""
    parts: list[tuple[str, tuple[str, ...]]] = [
        ("Topics", digest.topics), ("Open action items", digest.carried),
        (f"Prompts ({digest.theme})" if digest.theme else "Prompts", digest.prompts)]
    if as_html:
        out = [html.escape(START, quote=False)]
        for title, lines in parts:
            if lines:
                out.append(f"<b>{html.escape(title, quote=False)}</b><ul>"
                           + "".join(f"<li>{html.escape(x, quote=False)}</li>" for x in lines)
                           + "</ul>")
        out.append(html.escape(END, quote=False))
        return "<br>".join(out)
    lines_out = [START]
    for title, lines in parts:
        if lines:
            lines_out += [f"{title}:", *(f"- {x}" for x in lines)]
    lines_out.append(END)
    return "\n".join(lines_out)


def _split(description: str, private: dict[str, Any]) -> tuple[str, str | None, str]:
    """``(owner's text, block with its separator or None, cadenced's link line)``."""
    link = private.get(KEY_SUFFIX) or ""
    body = description
    if link and body.endswith(link):
        body = body[: -len(link)]
    else:
        link = ""
    start = body.find(START)
    if start < 0:
        return body, None, link
    end = body.find(END, start)
    stop = len(body) if end < 0 else end + len(END)
    prefix = body[:start]
    for separator in ("<br><br>", "\n\n"):
        if prefix.endswith(separator):
            prefix = prefix[: -len(separator)]
            break
    return prefix, body[len(prefix):stop], link + body[stop:]


def plan_block(resource: dict[str, Any], digest: AgendaDigest) -> dict[str, Any] | None:
    """The patch body that puts ``digest`` into ``resource``, or None when there is
    nothing to do (same block, deleted by the owner, not the owner's event)."""
    if not (resource.get("organizer") or {}).get("self") or \
            resource.get("status") == "cancelled":
        return None
    private = (resource.get(KEY_PROPS) or {}).get(KEY_PRIVATE) or {}
    fingerprint = digest.fingerprint()
    description = resource.get("description") or ""
    prefix, block, tail = _split(description, private)
    if block is None and private.get(KEY_BLOCK) and private.get(KEY_MEETING) == \
            digest.meeting_key[:100]:
        return None  # the owner deleted it: it stays deleted
    if block is not None and private.get(KEY_BLOCK) == fingerprint:
        return None  # already says this
    if digest.empty and block is None:
        return None
    as_html = is_html(prefix + tail)  # the owner's text decides, never the block's topics
    separator = ("<br><br>" if as_html else "\n\n") if prefix.strip() else ""
    new_block = separator + render_block(digest, as_html=as_html)
    if tail and not tail.startswith(("\n", "<br>")):
        new_block += "<br><br>" if as_html else "\n\n"
    new = prefix + new_block + tail
    if new == description:
        return None
    return {"description": new,
            KEY_PROPS: {KEY_PRIVATE: {KEY_BLOCK: fingerprint,
                                      KEY_MEETING: digest.meeting_key[:100]}}}


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def target_event(calendar: Any, uid: str, original_start: datetime) -> dict[str, Any] | None:
    """The event to patch: the instance of the series at ``original_start`` (read
    with events.instances), or the one-off itself."""
    config = calendar.config
    for resource in calendar.events_with_uid(uid):
        if not resource.get("recurrence"):
            return resource
        service = calendar.service()
        found = execute(service.events().instances(
            calendarId=config.calendar_id, eventId=resource["id"],
            originalStart=_rfc3339(original_start), maxResults=1),
            source=calendar.name, what="reading the next 1:1's instance", sleep=calendar.sleep)
        items = found.get("items") or []
        return items[0] if items else None
    return None


def write_block(calendar: Any, uid: str, original_start: datetime, digest: AgendaDigest,
                *, dry_run: bool = False) -> Patch | None:
    """Put ``digest`` into the meeting ``uid`` at ``original_start``. Returns the patch
    made (or, with ``dry_run``, that would be made), or None when none is needed."""
    config = calendar.config
    resource = target_event(calendar, uid, original_start)
    for _attempt in range(ATTEMPTS):
        if resource is None:
            return None
        body = plan_block(resource, digest)
        if body is None:
            return None
        patch = Patch(calendar.name, resource["id"], resource.get("summary") or "", body)
        if dry_run:
            return patch
        service = calendar.service()
        request = service.events().patch(calendarId=config.calendar_id, eventId=resource["id"],
                                         body=body, sendUpdates=config.send_updates)
        if resource.get("etag"):
            request.headers["If-Match"] = resource["etag"]
        try:
            execute(request, source=calendar.name, what="writing the agenda into the invite",
                    sleep=calendar.sleep)
        except GoogleApiError as exc:
            if exc.status != 412:
                raise
            resource = execute(
                service.events().get(calendarId=config.calendar_id, eventId=resource["id"]),
                source=calendar.name, what="reading an event again", sleep=calendar.sleep)
            continue
        log.info("source %r: wrote the agenda into %s", calendar.name, resource["id"])
        return patch
    raise GoogleApiError(calendar.name, f"event {resource['id'] if resource else uid} kept "
                         "changing while cadenced wrote its agenda",
                         hint="cadenced tries again at its next sync")
