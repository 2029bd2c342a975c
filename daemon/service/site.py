"""What ``cadenced serve`` answers, behind its secret path (the HTTP side, with the
Host, Origin, size and method checks, is :mod:`daemon.service.server`).

GET ``/<secret>/``
    the health page (:class:`LiveView`: the report's content at this moment, from
    the last sync), or, without one, the list of agendas;
GET ``/<secret>/person/<email>``
    one relationship's every meeting and its minutes held per month;
GET ``/<secret>/agenda/<email>``
    the document with its forms;
GET ``/<secret>/calendar.ics``
    the overlay calendar;
POST ``/<secret>/agenda/<email>/topic`` | ``item`` | ``notes``
    add a topic to the coming meeting, tick or untick an action item, replace the
    notes of a past section.

Every form carries the page's CSRF token and the version of the document it was
rendered from. A save against an older version is refused with 409 and shows the
newer document and what was typed, ready to be saved again (nothing is lost); a
save goes through the AgendaStore's compare-and-swap, so the same forms work over
every store. A good save answers 303 back to the page (POST, redirect, GET).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from html import escape
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from connectors.base import Conflict, InvalidPerson, Revision
from daemon.core.agenda import forms
from daemon.core.agenda.doc import parse
from daemon.core.report.content import build_report
from daemon.core.report.model import Report
from daemon.core.report.person import instances, minutes_by_month
from daemon.render.agenda import page
from daemon.render.pages import (
    NotesForm,
    agenda_page,
    conflict_page,
    health_page,
    message_page,
    person_page,
)

__all__ = ["Answer", "LiveView", "Site"]

HTML = "text/html; charset=utf-8"
EMPTY = "text/plain; charset=utf-8"
ACTIONS = ("topic", "item", "notes")
NOTES_SHOWN = 8  # past sections whose notes the page offers to edit
MAX_FIELDS = 12


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes
    location: str | None = None

    def triple(self) -> tuple[int, str, bytes]:
        return self.status, self.content_type, self.body


def _html(status: int, text: str) -> Answer:
    return Answer(status, HTML, text.encode("utf-8"))


class LiveView:
    """The health page's content, made on each load from the last sync's analysis
    and the sources' state (what the service keeps; nothing is read from the
    calendars here). ``clock`` gives now; ``analysis()`` the last analysis (None
    before the first sync); ``sources()`` the report's source statuses."""

    def __init__(self, *, config: Callable[[], Any], analysis: Callable[[], Any],
                 sources: Callable[[], Sequence[Any]], clock: Callable[[], datetime],
                 overdue: Callable[[date], Mapping[str, Sequence[Any]]] | None = None,
                 synced: Callable[[], datetime | None] | None = None) -> None:
        self.config = config
        self.analysis = analysis
        self.sources = sources
        self.clock = clock
        self.overdue = overdue
        self.synced = synced

    @property
    def tz(self) -> tzinfo:
        return self.config().owner.tz

    def now(self) -> datetime:
        return self.clock().astimezone(self.tz)

    def report(self) -> Report | None:
        analysis = self.analysis()
        if analysis is None:
            return None
        now = self.now()
        overdue = self.overdue(now.date()) if self.overdue else None
        return build_report(analysis, self.config(), now, sources=list(self.sources()),
                            overdue=overdue)

    def last_sync(self) -> str | None:
        when = self.synced() if self.synced else None
        return f"{when.astimezone(self.tz):%a %d %b %H:%M}" if when else None

    def relationship(self, person: str) -> Any:
        analysis = self.analysis()
        for rel in analysis.relationships if analysis else ():
            if rel.person == person:
                return rel
        return None


class Site:
    """The pages and forms; the HTTP handler calls :meth:`get` and :meth:`post`."""

    def __init__(self, *, secret: str, store: Any, feed: Callable[[], bytes],
                 index: Callable[[], list[tuple[str, str]]], live: LiveView | None,
                 csrf_key: bytes) -> None:
        self.secret = secret
        self.store = store
        self.feed = feed
        self.index = index
        self.live = live
        self._key = csrf_key

    @property
    def base(self) -> str:
        return f"/{self.secret}"

    # --- addresses and tokens --------------------------------------------------------

    def agenda_href(self, person: str) -> str:
        return f"{self.base}/agenda/{quote(person.strip().lower(), safe='@')}"

    def person_href(self, person: str) -> str:
        return f"{self.base}/person/{quote(person.strip().lower(), safe='@')}"

    def token(self, person: str) -> str:
        """The CSRF token of ``person``'s agenda page (and its forms)."""
        message = f"agenda/{person.strip().lower()}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def _split(self, target: str) -> list[str] | None:
        """The path's segments after the secret, or None when the secret is wrong."""
        path = target.partition("?")[0].partition("#")[0]
        segments = path[1:].split("/") if path.startswith("/") else [""]
        first = segments[0].encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(first, self.secret.encode("ascii")):
            return None
        return segments[1:] or [""]

    @staticmethod
    def _person(segment: str) -> str | None:
        try:
            from connectors.base import plain_address
            return plain_address(unquote(segment, errors="strict"))
        except (InvalidPerson, UnicodeDecodeError):
            return None

    # --- GET -------------------------------------------------------------------------

    def get(self, target: str) -> Answer:
        rest = self._split(target)
        if rest is None:
            return Answer(HTTPStatus.NOT_FOUND, EMPTY, b"")
        if rest == [""]:
            return self._index()
        if rest == ["calendar.ics"]:
            return Answer(HTTPStatus.OK, "text/calendar; charset=utf-8", self.feed())
        if len(rest) == 2 and rest[0] in ("agenda", "person") and rest[1]:
            person = self._person(rest[1])
            if person is None:
                return _not_found("There is no agenda with this name.")
            return self._agenda(person) if rest[0] == "agenda" else self._history(person)
        return _not_found("There is nothing here.")

    def _names(self) -> dict[str, str]:
        return {email.strip().lower(): name for email, name in self.index()}

    def _name(self, person: str) -> str:
        live = self.live.relationship(person) if self.live else None
        return (live.name if live else None) or self._names().get(person) or person

    def _index(self) -> Answer:
        report = self.live.report() if self.live else None
        if report is None:
            return _html(HTTPStatus.OK, self._listing())
        people = {r.person for r in report.rows} | {a.person for a in report.attention}
        agendas = {email.strip().lower(): self.agenda_href(email) for email, _ in self.index()}
        return _html(HTTPStatus.OK, health_page(
            report, base=self.base, person_href={p: self.person_href(p) for p in people},
            agenda_href=agendas, synced=self.live.last_sync() if self.live else None))

    def _listing(self) -> str:
        items = []
        for email, name in self.index():
            href = self.agenda_href(email)
            items.append(f'<li><a href="{escape(href)}">{escape(name or email)}</a> '
                         f'<span class="muted">{escape(email)}</span></li>')
        listing = (f"<ul>\n{chr(10).join(items)}\n</ul>" if items
                   else '<p class="muted">No 1:1s yet.</p>')
        body = (
            "<main>\n<h1>1:1 agendas</h1>\n"
            f"{listing}\n"
            f'<footer><p>Subscribe your calendar app to <a href="{escape(self.base)}'
            '/calendar.ics">calendar.ics</a> to see each upcoming 1:1 with a link to its '
            "agenda. These addresses are secret: share them with no one.</p></footer>\n</main>"
        )
        return page(body, title="1:1 agendas")

    def _history(self, person: str) -> Answer:
        rel = self.live.relationship(person) if self.live else None
        if rel is None or self.live is None:
            return _not_found("cadenced knows no 1:1s with this person (yet).")
        now = self.live.now()
        report = self.live.report()
        row = next((r for r in report.rows if r.person == person), None) if report else None
        analysis = self.live.analysis()
        # up to the end of the analysis window, not a rule's far future
        ahead = [o for o in rel.occurrences if o.start <= analysis.window_end]
        history = instances(ahead, now=now, tz=self.live.tz, shortened=analysis.shortened)
        has_agenda = person in {e.strip().lower() for e, _ in self.index()}
        return _html(HTTPStatus.OK, person_page(
            name=rel.name or person, email=person, row=row, history=history,
            months=minutes_by_month(history, now=now), base=self.base,
            agenda_href=self.agenda_href(person) if has_agenda else None))

    def _clock(self) -> tuple[datetime, tzinfo]:
        if self.live is not None:
            return self.live.now(), self.live.tz
        return datetime.now(UTC), UTC

    def _agenda(self, person: str, *, message: str | None = None,
                status: int = HTTPStatus.OK, revision: Revision | None = None) -> Answer:
        revision = revision or self.store.read(person)
        if revision is None:
            return _not_found("There is no agenda for this person yet.")
        now, tz = self._clock()
        doc = parse(revision.text, tz=tz)
        coming = forms.coming_section(doc, now)
        target = (f"the 1:1 on {coming.when:%a %d %b, %H:%M}" if coming and coming.when
                  else "the next 1:1 (it waits under Next time until that 1:1's section is "
                  "added)")
        past = [s for s in doc.sections
                if s.key and s.when is not None and s.when <= now][:NOTES_SHOWN]
        notes = [NotesForm(s.key, s.heading or "a past meeting",  # type: ignore[arg-type]
                           forms.notes_of(revision.text, s.key) or "")
                 for s in past if s.key]
        has_history = self.live is not None and self.live.relationship(person) is not None
        return _html(status, agenda_page(
            name=self._name(person), text=revision.text, version=revision.version,
            token=self.token(person), action=self.agenda_href(person), base=self.base,
            person_href=self.person_href(person) if has_history else None,
            items=forms.task_lines(revision.text), notes=notes, topic_target=target,
            message=message))

    # --- POST ------------------------------------------------------------------------

    def accepts_post(self, target: str) -> bool:
        """Whether ``target`` is a form's address (its shape; the secret is checked
        later, with the same empty 404 as for GET)."""
        path = target.partition("?")[0]
        parts = path.split("/")
        return len(parts) == 5 and parts[0] == "" and parts[2] == "agenda" \
            and parts[4] in ACTIONS

    def post(self, target: str, body: bytes) -> Answer:
        rest = self._split(target)
        if rest is None or len(rest) != 3 or rest[0] != "agenda" or rest[2] not in ACTIONS:
            return Answer(HTTPStatus.NOT_FOUND, EMPTY, b"")
        person = self._person(rest[1])
        if person is None:
            return _not_found("There is no agenda with this name.")
        try:
            fields = parse_qs(body.decode("utf-8"), keep_blank_values=True,
                              max_num_fields=MAX_FIELDS)
        except (UnicodeDecodeError, ValueError):
            return Answer(HTTPStatus.BAD_REQUEST, EMPTY, b"")
        form = {k: v[0] for k, v in fields.items() if len(v) == 1}
        if not hmac.compare_digest(form.get("token", ""), self.token(person)):
            return _html(HTTPStatus.FORBIDDEN, message_page(
                "Not saved", "This form did not come from this page (its token is missing "
                "or old). Open the agenda again and repeat the change.",
                back=self.agenda_href(person)))
        return self._save(person, rest[2], form)

    def _save(self, person: str, action: str, form: dict[str, str]) -> Answer:
        revision = self.store.read(person)
        if revision is None:
            return _not_found("There is no agenda for this person yet.")
        field, extra = _kept(action, form)
        if form.get("version") != revision.version:
            return self._conflict(person, action, revision, form, field, extra)
        now, tz = self._clock()
        try:
            if action == "topic":
                new = forms.add_topic(revision.text, form.get("topic", ""), now=now, tz=tz)
            elif action == "item":
                new = forms.set_done(revision.text, int(form.get("index", "-1")),
                                     form.get("line", ""), form.get("done") == "1")
            else:
                new = forms.set_notes(revision.text, form.get("key", ""),
                                      form.get("notes", ""))
        except (forms.EditError, ValueError) as exc:
            return self._agenda(person, message=f"Not saved: {exc}.",
                                status=HTTPStatus.CONFLICT, revision=revision)
        try:
            self.store.write(person, new, expected=revision.version)
        except Conflict:
            newer = self.store.read(person) or revision
            return self._conflict(person, action, newer, form, field, extra)
        return Answer(HTTPStatus.SEE_OTHER, EMPTY, b"", location=self.agenda_href(person))

    def _conflict(self, person: str, action: str, revision: Revision, form: dict[str, str],
                  field: str | None, extra: dict[str, str]) -> Answer:
        return _html(HTTPStatus.CONFLICT, conflict_page(
            name=self._name(person), text=revision.text, version=revision.version,
            token=self.token(person), action=f"{self.agenda_href(person)}/{action}",
            field=field or "", yours=form.get(field, "") if field else "", extra=extra,
            agenda_href=self.agenda_href(person)))


def _kept(action: str, form: dict[str, str]) -> tuple[str | None, dict[str, str]]:
    """The field a person typed into, and the hidden fields to send again."""
    if action == "topic":
        return "topic", {}
    if action == "notes":
        return "notes", {"key": form.get("key", "")}
    return None, {k: form.get(k, "") for k in ("index", "line", "done")}


def _not_found(message: str) -> Answer:
    body = page(f"<main>\n<p>{escape(message)}</p>\n</main>", title="Not found")
    return _html(HTTPStatus.NOT_FOUND, body)
