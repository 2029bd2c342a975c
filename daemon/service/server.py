"""``cadenced serve``: the health of the 1:1s, the agendas with their forms, and an
overlay calendar, over local HTTP.

Every address starts with a secret path segment (:func:`new_secret`): the base URL
``http://127.0.0.1:8765/<secret>`` is a credential, like a calendar's secret
address. The pages (:mod:`daemon.service.site`) are GET (and HEAD); the agenda
forms POST to ``/<secret>/agenda/<email>/{topic,item,notes}``, and POST is
answered nowhere else (405, like any other method).

A POST is refused before it reaches the store unless

* its ``Host`` is one the server serves (every request: DNS rebinding gets 421);
* its ``Origin`` is this server (a loopback name or ``[server] host``, http, this
  port): a page elsewhere cannot submit a form here (403);
* it is ``application/x-www-form-urlencoded`` with a ``Content-Length`` of at most
  :data:`MAX_BODY` bytes (411, 415, 413);
* it carries the page's CSRF token (an HMAC of the page's path under a key made
  when the server starts), so a form must come from a page this server rendered.

Anything whose first segment is not exactly the secret (compared in constant time)
gets the same empty 404. Request lines are logged (at DEBUG) with the first path
segment replaced by ``…``. Every response carries a strict Content-Security-Policy
(no script at all, forms only to this server, no framing), ``nosniff``,
``Referrer-Policy: same-origin`` (no address of this server reaches another site) and
``no-store``.
"""

from __future__ import annotations

import logging
import re
import secrets
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from daemon.config import is_loopback_host
from daemon.core.errors import CadencedError
from daemon.service.overlay import CALNAME, overlay_calendar
from daemon.service.site import Answer, LiveView, Site
from daemon.state.agendas import LocalAgendaStore

__all__ = ["CALNAME", "MAX_BODY", "SECURITY_HEADERS", "AgendaServer", "new_secret",
           "overlay_calendar"]

log = logging.getLogger(__name__)

SECURITY_HEADERS = (
    ("Content-Security-Policy",
     "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
     "frame-ancestors 'none'; base-uri 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    # same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" with
    # the forms, and the Origin check needs the real one. No other site gets a referrer.
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
    ("X-Frame-Options", "DENY"),
)
MAX_BODY = 64 * 1024  # bytes of one form
FORM_TYPE = "application/x-www-form-urlencoded"
_SECRET = re.compile(r"[A-Za-z0-9_\-]{16,}")
_HIDDEN = "…"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def new_secret() -> str:
    """A fresh secret path segment (32 URL-safe characters, 192 bits)."""
    return secrets.token_urlsafe(24)


class AgendaServer:
    """The HTTP server of ``cadenced serve``, in a daemon thread.

    ``feed()`` returns the overlay calendar's bytes, ``index()`` the people to list
    as ``(email, display name)``; ``live`` (optional) gives the health and history
    pages their content. All are called on each request, from the server's threads.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        secret: str,
        store: LocalAgendaStore | Any,
        feed: Callable[[], bytes],
        index: Callable[[], list[tuple[str, str]]],
        live: LiveView | None = None,
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
        self.site = Site(secret=secret, store=store, feed=feed, index=index, live=live,
                         csrf_key=secrets.token_bytes(32))
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

    def _names(self) -> set[str]:
        return {*LOOPBACK_NAMES, self.host.strip("[]").lower()}

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
        return name in self._names()

    def same_origin(self, origin: str | None) -> bool:
        """Whether a form's ``Origin`` is this server: http, a name it serves, its
        port. A missing or ``null`` Origin is refused (browsers send one with every
        POST)."""
        if not origin or origin.strip().lower() == "null":
            return False
        try:
            parts = urlsplit(origin.strip())
            port = parts.port or 80
        except ValueError:
            return False
        return (parts.scheme == "http" and (parts.hostname or "") in self._names()
                and port == self.port and not parts.path.strip("/"))

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
        return self.site.get(target).triple()


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


_EMPTY = "text/plain; charset=utf-8"


class _Handler(BaseHTTPRequestHandler):
    server_version = "cadenced"
    timeout = 30  # a silent client does not hold a thread forever
    error_content_type = _EMPTY
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

    def do_POST(self) -> None:
        if not self.agenda.site.accepts_post(self.path):
            self._not_allowed()
            return
        if not self.agenda.serves(self.headers.get("Host")):
            self._refuse(HTTPStatus.MISDIRECTED_REQUEST)
            return
        if not self.agenda.same_origin(self.headers.get("Origin")):
            log.warning("agenda server: refused a form from another origin (%s)",
                        self.agenda.scrub(str(self.headers.get("Origin")))[:100])
            self._refuse(HTTPStatus.FORBIDDEN)
            return
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != FORM_TYPE:
            self._refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
            return
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.strip().isdigit():
            self._refuse(HTTPStatus.LENGTH_REQUIRED)
            return
        length = int(length_text)
        if length > MAX_BODY:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return
        body = self.rfile.read(length) if length else b""
        try:
            answer = self.agenda.site.post(self.path, body)
        except Exception as exc:  # noqa: BLE001 - one bad request must not stop the server
            log.error("cannot answer POST %s: %s", self._logged_path(),
                      self.agenda.scrub(str(exc)))
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, _EMPTY, b"", head=False)
            return
        self._answer(answer, head=False)

    def __getattr__(self, name: str) -> Any:
        # Any other method (PUT, DELETE, OPTIONS, made-up ones): 405.
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _refuse(self, status: HTTPStatus) -> None:
        self.close_connection = True  # the request body, if any, is never read
        self._send(status, _EMPTY, b"", head=False)

    def _not_allowed(self) -> None:
        self.close_connection = True
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, _EMPTY, b"", head=False,
                   extra=(("Allow", "GET, HEAD"),))

    def _respond(self, *, head: bool) -> None:
        if not self.agenda.serves(self.headers.get("Host")):
            # DNS rebinding: a page on another name reaching this port is not answered.
            self.close_connection = True
            self._send(HTTPStatus.MISDIRECTED_REQUEST, _EMPTY, b"", head=head)
            return
        try:
            answer = self.agenda.site.get(self.path)
        except Exception as exc:  # noqa: BLE001 - one bad request must not stop the server
            log.error("cannot answer %s %s: %s", self.command, self._logged_path(),
                      self.agenda.scrub(str(exc)))
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, _EMPTY, b"", head=head)
            return
        self._answer(answer, head=head)

    def _answer(self, answer: Answer, *, head: bool) -> None:
        extra = (("Location", answer.location),) if answer.location else ()
        self._send(answer.status, answer.content_type, answer.body, head=head, extra=extra)

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
