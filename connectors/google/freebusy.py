"""When the people of the owner's Workspace are busy: ``freeBusy.query``.

Google answers per calendar: busy blocks, or ``errors`` (``notFound`` for an address
outside the organisation or one whose owner does not share free/busy). Nothing of
their events is read, only busy times. A sign-in made before cadenced asked for the
``calendar.freebusy`` scope, or any failure of the call, leaves every address
"unseen" with the reason; suggestions then rest on the owner's calendar alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from connectors.google.api import execute
from connectors.google.auth.scopes import can_see_free_busy, sign_in_hint
from connectors.google.errors import GoogleApiError
from daemon.core.errors import CadencedError
from daemon.core.suggest import TheirBusy

log = logging.getLogger(__name__)

BATCH = 50  # calendarExpansionMax: the most calendars one query may ask about
_REASONS = {
    "notFound": "not found in the organisation (or their free/busy is not shared)",
    "groupTooBig": "a group too big to expand",
    "tooManyCalendarsRequested": "too many calendars asked at once",
}


def busy_of(calendar: Any, addresses: Sequence[str], start: datetime, end: datetime
            ) -> dict[str, TheirBusy]:
    """Each address's busy blocks in ``[start, end)``, asked through ``calendar``'s
    sign-in, or why it could not be seen."""
    name = calendar.name
    if not addresses:
        return {}
    if calendar.token.scopes and not can_see_free_busy(calendar.token.scopes):
        why = (f"the sign-in of {name} does not include free/busy; "
               f"{sign_in_hint(name)} to add it")
        return {a: TheirBusy(source=name, unseen=why) for a in addresses}
    out: dict[str, TheirBusy] = {}
    for first in range(0, len(addresses), BATCH):
        batch = list(addresses[first:first + BATCH])
        body = {"timeMin": _rfc3339(start), "timeMax": _rfc3339(end),
                "items": [{"id": a} for a in batch]}
        try:
            reply = execute(calendar.service().freebusy().query(body=body),
                            source=name, what="asking free/busy", attempts=2,
                            sleep=calendar.sleep)  # slots can do without: no long retries
        except GoogleApiError as exc:
            log.warning("%s", exc)
            why = (f"{name} could not be asked ({exc.status or 'no answer'})"
                   if exc.status != 403 else
                   f"the sign-in of {name} may not ask free/busy; {sign_in_hint(name)}")
            out.update((a, TheirBusy(source=name, unseen=why)) for a in batch)
            continue
        except CadencedError as exc:  # needs sign-in, an unreadable token file
            out.update((a, TheirBusy(source=name, unseen=str(exc))) for a in batch)
            continue
        calendars = reply.get("calendars") or {}
        for address in batch:
            out[address] = _one(name, calendars.get(address))
    return out


def _one(source: str, entry: dict[str, Any] | None) -> TheirBusy:
    if not entry:
        return TheirBusy(source=source, unseen="no answer for this calendar")
    errors = entry.get("errors") or []
    if errors:
        reason = str(errors[0].get("reason") or "unknown")
        return TheirBusy(source=source, unseen=_REASONS.get(reason, reason))
    blocks = []
    for item in entry.get("busy") or []:
        try:
            blocks.append((_parse(item["start"]), _parse(item["end"])))
        except (KeyError, TypeError, ValueError):
            log.warning("source %r: free/busy: a block without readable times was left out",
                        source)
    return TheirBusy(tuple(sorted(b for b in blocks if b[0] < b[1])), source=source)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(text)
    return moment
