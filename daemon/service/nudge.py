"""The per-sync step that nudges the owner before a 1:1 whose agenda is still empty.

``[nudge] agenda_empty_hours`` (default 24) before a booked 1:1 whose agenda section
has no topic from either person (:func:`daemon.core.agenda.empty.is_empty`), one
short mail to the owner through ``[smtp]``, with the agenda's address, and, with
``notify_command``, a desktop notification. At most once per meeting, and never
twice even across a crash: the meeting is marked ``sending`` in both generations of
the state before the mail goes, and ``sent`` once the server accepted it; a meeting
found ``sending`` after a crash is not tried again (one nudge lost beats two sent).

The same nudge lists the action items from this person's document that are past
their due date (as the last preparation of their agenda saw them), so the 1:1 can
start from what was promised.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from connectors.base import AgendaStore, MailError, Outgoing
from daemon.config import Config
from daemon.core.agenda.empty import is_empty
from daemon.core.agenda.model import Carried, meeting_key
from daemon.core.history import KEEP
from daemon.core.rules import Analysis, is_booked
from daemon.service.agendas import overdue_items
from daemon.state.store import Store

log = logging.getLogger(__name__)

TABLE = "nudges"
NOTIFY_TIMEOUT = 10.0


def nudge_step(config: Config, agendas: AgendaStore, state: Store
               ) -> list[Callable[[Analysis, datetime], None]]:
    """The step (none when nudges are off or there is no ``[smtp]`` and no command)."""
    hours = config.nudge.agenda_empty_hours
    if not config.agenda.enabled or hours <= 0 or (
            config.smtp is None and not config.nudge.notify_command):
        return []

    def step(analysis: Analysis, now: datetime) -> None:
        forget_old_nudges(state, now)
        horizon = now + timedelta(hours=hours)
        for rel in analysis.relationships:
            for occ in rel.occurrences:
                if not (now < occ.start <= horizon and is_booked(occ)):
                    continue
                key = meeting_key(occ.uid, occ.original_start)
                if state.document(TABLE, key) is not None:
                    continue
                revision = agendas.read(rel.person)
                if revision is None or not is_empty(revision.text, key, tz=now.tzinfo):
                    continue
                overdue = overdue_items(state, now.astimezone(config.owner.tz).date())
                _nudge(config, agendas, state, rel.person, rel.name, occ.start, key, now,
                       overdue.get(rel.person, []))

    return [step]


def forget_old_nudges(state: Store, now: datetime) -> int:
    """Drop the markers of nudges sent longer ago than the retention (the meeting is long
    over): the table keeps a bounded number of them however long the service runs."""
    horizon = now - KEEP

    def old(marker: dict[str, object]) -> bool:
        try:
            return datetime.fromisoformat(str(marker.get("sending"))) < horizon
        except ValueError:
            return False
    return state.remove_documents_where(TABLE, old)


def _nudge(config: Config, agendas: AgendaStore, state: Store, person: str, name: str,
           start: datetime, key: str, now: datetime, overdue: list[Carried]) -> None:
    local = start.astimezone(config.owner.tz)
    first = name.split()[0] if name else person
    title = f"Your 1:1 with {first} {local:%a %H:%M} has no topics yet"
    url = agendas.url(person)
    path = getattr(agendas, "path", None)
    if not (url or "").startswith("https://"):
        # A local agenda: its file, never the server's secret address, goes by mail.
        url = str(path(person)) if callable(path) else None
    text = (f"The agenda for your 1:1 with {name} on {local:%A %d %B, %H:%M} is still empty. "
            "A minute now to note what you want to talk about, or to ask them to add theirs, "
            "makes the meeting better.")
    if overdue:
        text += "\n\nOverdue from earlier 1:1s:\n" + "\n".join(
            f"- {_item_line(c)}" for c in overdue)
    state.save_document(TABLE, key, {"sending": now.astimezone(UTC).isoformat(),
                                      "person": person})
    state.commit(durable=True)  # from here on, a crash never sends it again
    sent = False
    if config.smtp is not None:
        sent = _mail(config, title, text + (f"\n\nThe agenda: {url}" if url else ""), now)
    if config.nudge.notify_command:
        _notify(config.nudge.notify_command, title, text)
    state.save_document(TABLE, key, {"sending": now.astimezone(UTC).isoformat(),
                                      "person": person,
                                      "sent_at": now.astimezone(UTC).isoformat() if sent else None})
    state.commit(durable=True)


def _item_line(carried: Carried) -> str:
    item = carried.item
    who = f"{item.owner}: " if item.owner else ""
    due = f" (due {item.due:%d %b})" if item.due else ""
    return " ".join(f"{who}{item.text}{due}".split())  # one line, whatever the doc held


def _mail(config: Config, subject: str, body: str, now: datetime) -> bool:
    from connectors.registry import build_mailer

    assert config.smtp is not None
    sender = config.smtp.sender or config.owner.email
    message = EmailMessage()
    message["Subject"] = subject.replace("\r", " ").replace("\n", " ")
    message["From"] = sender
    message["To"] = config.owner.email
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain="cadenced.invalid")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body + "\n")
    try:
        build_mailer(config.smtp).send(Outgoing(message, sender, (config.owner.email,)))
    except MailError as exc:
        log.error("agenda nudge not sent: %s%s", exc, f" ({exc.hint})" if exc.hint else "")
        return False
    log.info("sent the agenda nudge: %s", subject)
    return True


def _notify(command: tuple[str, ...], title: str, text: str) -> None:
    try:
        subprocess.run([*command, title, text], timeout=NOTIFY_TIMEOUT, check=True,  # noqa: S603
                       capture_output=True)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("the nudge's notify_command %r failed: %s", command[0],
                    type(exc).__name__)
