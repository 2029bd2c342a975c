"""``cadenced serve``: the 1:1 documents and an overlay calendar over local HTTP.

Every address starts with a secret path segment (:func:`new_secret`): the base URL
``http://127.0.0.1:8765/<secret>`` is a credential, like a calendar's secret
address. Routes (GET and HEAD; any other method gets 405):

``/<secret>/``
    an index page linking every person's agenda and the calendar feed;
``/<secret>/agenda/<email>``
    the person's document as a safe HTML page (:mod:`daemon.render.agenda`), 404 when
    there is none;
``/<secret>/calendar.ics``
    the overlay feed (:func:`overlay_calendar`): one event per upcoming 1:1 with a
    link to its agenda, to subscribe to next to the real calendar.

Anything whose first segment is not exactly the secret (compared in constant time)
gets the same empty 404. Request lines are logged (at DEBUG) with the first path
segment replaced by ``…``, so neither the secret nor a near miss of it reaches the
log. Every response carries a strict Content-Security-Policy, ``nosniff``,
``no-referrer`` and ``no-store``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from connectors.base import InvalidPerson
from daemon.config import is_loopback_host
from daemon.core.agenda.model import Meeting
from daemon.core.errors import CadencedError
from daemon.render.agenda import page, render_document
from daemon.state.agendas import LocalAgendaStore

__all__ = ["SECURITY_HEADERS", "AgendaServer", "new_secret", "overlay_calendar"]

log = logging.getLogger(__name__)

SECURITY_HEADERS = (
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
    ("X-Frame-Options", "DENY"),
)
CALNAME = "cadenced agendas"
_SECRET = re.compile(r"[A-Za-z0-9_\-]{16,}")
_HIDDEN = "…"


def new_secret() -> str:
    """A fresh secret path segment (32 URL-safe characters, 192 bits)."""
    return secrets.token_urlsafe(24)


# --- the overlay calendar ------------------------------------------------------------


def _uid(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24] + "@cadenced"


def _text(value: str) -> str:
    """A text value without control characters (line breaks become ``\\n``)."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in value if c == "\n" or c == "\t" or (ord(c) >= 0x20 and c != "\x7f"))


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {value.isoformat()}")
    return value


def _in_zone(value: datetime, *, utc: bool) -> datetime:
    """``value`` in its IANA zone (written with TZID), else in UTC."""
    zone = value.tzinfo
    if not utc and isinstance(zone, ZoneInfo) and zone.key and zone.key != "UTC":
        return value
    return value.astimezone(UTC)


def overlay_calendar(
    meetings: Sequence[tuple[Meeting, str | None, str]], *, now: datetime
) -> bytes:
    """An RFC 5545 calendar with one event per upcoming 1:1 (``end > now``).

    ``meetings`` holds ``(meeting, agenda url or None, person name)``. Each event:
    UID from ``meeting.key`` (stable across runs and moves), DTSTAMP ``now``,
    DTSTART/DTEND in the meeting's zone (TZID, with its VTIMEZONE) or UTC, SUMMARY
    ``1:1 agenda: <title>``, DESCRIPTION with the person and ``Agenda: <url>``, URL,
    STATUS (CANCELLED for a cancelled one) and TRANSP:TRANSPARENT (the overlay
    never makes you look busy: the real meeting already does).
    """
    now = _aware(now, "now")
    upcoming: dict[str, tuple[Meeting, str | None, str]] = {}
    for meeting, url, name in meetings:
        _aware(meeting.start, f"the start of {meeting.key}")
        _aware(meeting.end, f"the end of {meeting.key}")
        if meeting.end > now and meeting.key not in upcoming:
            upcoming[meeting.key] = (meeting, url, name)
    ordered = sorted(upcoming.values(), key=lambda m: (m[0].start, m[0].key))
    calendar = _calendar(ordered, now=now, utc=False)
    if calendar.get_missing_tzids():  # a zone icalendar cannot describe: use UTC
        calendar = _calendar(ordered, now=now, utc=True)
    return calendar.to_ical()


def _calendar(meetings: list[tuple[Meeting, str | None, str]], *, now: datetime,
              utc: bool) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//cadenced//agendas//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", CALNAME)
    calendar.add("x-published-ttl", "PT15M")
    calendar.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    stamp = now.astimezone(UTC).replace(microsecond=0)
    for meeting, url, name in meetings:
        event = Event()
        event.add("uid", _uid(meeting.key))
        event.add("dtstamp", stamp)
        event.add("dtstart", _in_zone(meeting.start, utc=utc))
        event.add("dtend", _in_zone(meeting.end, utc=utc))
        event.add("summary", _text(f"1:1 agenda: {meeting.title}"))
        lines = [f"1:1 with {name}"]
        if url:
            lines.append(f"Agenda: {url}")
        if meeting.cancelled:
            lines.append("This 1:1 is cancelled.")
        event.add("description", _text("\n".join(lines)))
        if url:
            event.add("url", _text(url))
        event.add("status", "CANCELLED" if meeting.cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    if meetings and not utc:
        first = min(m.start for m, _, _ in meetings).date() - timedelta(days=366)
        last = max(m.end for m, _, _ in meetings).date() + timedelta(days=366)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    return calendar


# --- the server ----------------------------------------------------------------------


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class AgendaServer:
    """The HTTP server of ``cadenced serve``, in a daemon thread.

    ``feed()`` returns the overlay calendar's bytes, ``index()`` the people to list
    as ``(email, display name)``; both are called on each request, from the
    server's threads.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        secret: str,
        store: LocalAgendaStore,
        feed: Callable[[], bytes],
        index: Callable[[], list[tuple[str, str]]],
    ) -> None:
        if not _SECRET.fullmatch(secret):
            raise ValueError("the secret must be at least 16 URL-safe characters "
                             "(use new_secret())")
        self.host = host
        self.port = port
        self.secret = secret
        self.store = store
        self.feed = feed
        self.index = index
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind (port 0 picks a free port) and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("the agenda server is already running")
        server_class = _Server6 if ":" in self.host else _Server
        try:
            server = server_class((self.host, self.port), _Handler)
        except OSError as exc:
            raise CadencedError(
                f"cannot serve agendas on {self.host}:{self.port}: {exc.strerror or exc}",
                hint="another program may use this port (choose another one), or the "
                "address is not one of this machine's",
            ) from None
        server.agenda = self  # type: ignore[attr-defined]
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="cadenced-serve",
                                        daemon=True)
        self._thread.start()
        if not is_loopback_host(self.host):
            log.warning("the agenda server listens on %s, reachable from other machines; "
                        "anyone who learns its address can read your 1:1 documents",
                        self.host)
        log.info("serving agendas on %s:%d", self.host, self.port)

    def serves(self, host_header: str | None) -> bool:
        """Whether a request with this ``Host`` is for this server: the loopback names
        and the configured host, with or without the port. No header (HTTP/1.0 from a
        local tool) is allowed; a browser always sends one."""
        if host_header is None:
            return True
        name = host_header.strip().lower()
        if name.startswith("["):  # [::1]:8765
            name = name[1:].split("]", 1)[0]
        elif name.count(":") == 1:
            name = name.split(":", 1)[0]
        return name in {*LOOPBACK_NAMES, self.host.strip("[]").lower()}

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/{self.secret}"

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> AgendaServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what the handler asks -----------------------------------------------------

    def scrub(self, text: str) -> str:
        """``text`` with the secret replaced by ``…``."""
        return text.replace(self.secret, _HIDDEN)

    def route(self, target: str) -> tuple[int, str, bytes]:
        """``(status, content type, body)`` for a GET of ``target``."""
        path = target.partition("?")[0].partition("#")[0]
        segments = path[1:].split("/", 1) if path.startswith("/") else [""]
        first = segments[0].encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(first, self.secret.encode("ascii")):
            return HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b""
        rest = segments[1] if len(segments) > 1 else ""
        if rest == "":
            return HTTPStatus.OK, "text/html; charset=utf-8", self._index_page().encode()
        if rest == "calendar.ics":
            return HTTPStatus.OK, "text/calendar; charset=utf-8", self.feed()
        kind, _, person = rest.partition("/")
        if kind == "agenda" and person and "/" not in person:
            try:
                return self._agenda(unquote(person, errors="strict"))
            except (InvalidPerson, UnicodeDecodeError):
                return _not_found("There is no agenda with this name.")
        return _not_found("There is nothing here.")

    def _agenda(self, person: str) -> tuple[int, str, bytes]:
        revision = self.store.read(person)
        if revision is None:
            return _not_found("There is no agenda for this person yet.")
        names = {email.strip().lower(): name for email, name in self._people()}
        name = names.get(person.strip().lower()) or person
        body = render_document(revision.text, title=f"1:1 with {name}")
        return HTTPStatus.OK, "text/html; charset=utf-8", body.encode()

    def _people(self) -> list[tuple[str, str]]:
        return list(self.index())

    def _index_page(self) -> str:
        base = f"/{self.secret}"
        items = []
        for email, name in self._people():
            href = f"{base}/agenda/{quote(email.strip().lower(), safe='@')}"
            items.append(
                f'<li><a href="{escape(href)}">{escape(name or email)}</a> '
                f'<span class="muted">{escape(email)}</span></li>'
            )
        listing = (f"<ul>\n{chr(10).join(items)}\n</ul>" if items
                   else '<p class="muted">No 1:1s yet.</p>')
        body = (
            "<main>\n<h1>1:1 agendas</h1>\n"
            f"{listing}\n"
            f'<footer><p>Subscribe your calendar app to <a href="{escape(base)}/calendar.ics">'
            "calendar.ics</a> to see each upcoming 1:1 with a link to its agenda. "
            "These addresses are secret: share them with no one.</p></footer>\n</main>"
        )
        return page(body, title="1:1 agendas")


def _not_found(message: str) -> tuple[int, str, bytes]:
    body = page(f"<main>\n<p>{escape(message)}</p>\n</main>", title="Not found")
    return HTTPStatus.NOT_FOUND, "text/html; charset=utf-8", body.encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server_version = "cadenced"
    timeout = 30  # a silent client does not hold a thread forever
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = ""  # errors the base class sends have an empty body

    def version_string(self) -> str:
        return self.server_version  # no Python version on the wire

    @property
    def agenda(self) -> AgendaServer:
        return self.server.agenda  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def __getattr__(self, name: str) -> Any:
        # Any other method (POST, PUT, DELETE, OPTIONS, made-up ones): 405.
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self.close_connection = True  # the request body, if any, is never read
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", b"",
                   head=False, extra=(("Allow", "GET, HEAD"),))

    def _respond(self, *, head: bool) -> None:
        if not self.agenda.serves(self.headers.get("Host")):
            # DNS rebinding: a page on another name reaching this port is not answered.
            self.close_connection = True
            self._send(HTTPStatus.MISDIRECTED_REQUEST, "text/plain; charset=utf-8", b"",
                       head=head)
            return
        try:
            status, content_type, body = self.agenda.route(self.path)
        except Exception as exc:  # noqa: BLE001 - one bad request must not stop the server
            log.error("cannot answer %s %s: %s", self.command, self._logged_path(),
                      self.agenda.scrub(str(exc)))
            status, content_type, body = (HTTPStatus.INTERNAL_SERVER_ERROR,
                                          "text/plain; charset=utf-8", b"")
        self._send(status, content_type, body, head=head)

    def _send(self, status: int, content_type: str, body: bytes, *, head: bool,
              extra: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (*SECURITY_HEADERS, *extra):
            self.send_header(name, value)
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def end_headers(self) -> None:
        # Errors sent by the base class (400, 414, 431...) get the headers too.
        buffered = b"".join(getattr(self, "_headers_buffer", None) or ())
        if b"Content-Security-Policy:" not in buffered:
            for name, value in SECURITY_HEADERS:
                self.send_header(name, value)
        super().end_headers()

    # --- logging -----------------------------------------------------------------

    def _logged_path(self) -> str:
        path = getattr(self, "path", "") or ""
        if path.startswith("/"):
            _, _, rest = path[1:].partition("/")
            return f"/{_HIDDEN}/{rest}" if rest or path[1:].endswith("/") else f"/{_HIDDEN}"
        return _HIDDEN if path else ""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        status = code.value if isinstance(code, HTTPStatus) else code
        log.debug("%s %s %s %s", self.address_string(), getattr(self, "command", None) or "-",
                  self._logged_path(), status)

    def log_error(self, format: str, *args: Any) -> None:
        log.info("agenda server: %s", self.agenda.scrub(format % args))

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("agenda server: %s", self.agenda.scrub(format % args))
