"""pytest plugin: ``radicale``, a real CalDAV server (Radicale) on 127.0.0.1 per test.

Radicale runs in-process as a WSGI application under a threading wsgiref server,
with its storage in a temporary folder and htpasswd authentication (one user,
:data:`USER` / :data:`PASSWORD`). A thin layer in front of it counts the requests
and can make the server misbehave the way real ones do: answer with a status
(401, 429 with Retry-After, 503), be slow, lack ``sync-collection`` (RFC 6578), or
let someone else edit a resource just before a PUT reaches it (an etag race).

The test side writes calendars straight over HTTP with :meth:`Radicale.put`
(the way another client would), never through the code under test.
"""

from __future__ import annotations

import base64
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest

USER = "owner"
PASSWORD = "s3cret-app-password"
CALENDAR = "work"  # the calendar folder the fixture makes: /owner/work/
DISPLAY_NAME = "Work"


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Fault:
    """What the server answers instead of Radicale, to requests that match."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    method: str | None = None  # None: any
    times: int | None = 1  # None: until cleared
    delay: float = 0.0  # seconds before answering (a timeout, when long enough)
    match: bytes | None = None  # only requests whose body holds this


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Radicale:
    """A started Radicale with one user and one calendar, and the faults it can show."""

    def __init__(self, folder: Path, *, tls: Any = None, ca_file: Path | None = None) -> None:
        import radicale
        from radicale import config as radicale_config

        users = folder / "users"
        users.write_text(f"{USER}:{PASSWORD}\n")
        configuration = radicale_config.load()
        configuration.update({
            "auth": {"type": "htpasswd", "htpasswd_filename": str(users),
                     "htpasswd_encryption": "plain", "delay": "0"},
            # a test server: no fsync of its storage (much faster, nothing to survive)
            "storage": {"filesystem_folder": str(folder / "collections"),
                        "_filesystem_fsync": "False"},
            "rights": {"type": "owner_only"},
            "logging": {"level": "warning", "mask_passwords": "True"},
        }, "cadenced tests", privileged=True)
        self.app = radicale.Application(configuration)
        self.requests: list[Seen] = []
        self.faults: list[Fault] = []
        self.sync_collection = True  # False: REPORT sync-collection is refused
        self.before_put: Callable[[], None] | None = None  # runs once, before the next PUT
        self.stop = threading.Event()
        self.httpd = make_server("127.0.0.1", 0, self._wsgi, server_class=_ThreadingServer,
                                 handler_class=_QuietHandler)
        self.port = self.httpd.server_address[1]
        self.scheme = "https" if tls is not None else "http"
        if tls is not None:  # an ssl.SSLContext for the server side (tests/pki.py)
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.admin = httpx.Client(base_url=self.url("/"), auth=(USER, PASSWORD), timeout=10,
                                  trust_env=False,
                                  verify=ssl.create_default_context(cafile=str(ca_file))
                                  if ca_file else True)

    # --- addresses ------------------------------------------------------------------

    def url(self, path: str = "/") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    @property
    def calendar_path(self) -> str:
        return f"/{USER}/{CALENDAR}/"

    # --- the WSGI layer in front of Radicale --------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        import io

        environ["wsgi.input"] = io.BytesIO(body)
        method = environ["REQUEST_METHOD"]
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        if not environ.get("HTTP_X_CADENCED_TEST_ADMIN"):
            self.requests.append(Seen(method, environ.get("PATH_INFO", ""), headers, body))
            fault = self._fault(method, body)
            if fault is not None:
                if fault.delay and self.stop.wait(fault.delay):
                    start_response("503 Service Unavailable", [])
                    return [b""]
                start_response(f"{fault.status} Fault", list(fault.headers.items()))
                return [fault.body]
            if method == "REPORT" and b"sync-collection" in body and not self.sync_collection:
                start_response("403 Forbidden", [("Content-Type", "application/xml")])
                return [b'<?xml version="1.0"?><D:error xmlns:D="DAV:">'
                        b"<D:supported-report/></D:error>"]
            if method == "PUT" and self.before_put is not None:
                hook, self.before_put = self.before_put, None
                hook()
        return self.app(environ, start_response)

    def _fault(self, method: str, body: bytes) -> Fault | None:
        for fault in list(self.faults):
            if (fault.method is None or fault.method == method) and (
                    fault.match is None or fault.match in body):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def fail(self, status: int, *, method: str | None = None, times: int | None = 1,
             headers: dict[str, str] | None = None, delay: float = 0.0,
             match: bytes | None = None, body: bytes = b"") -> None:
        self.faults.append(Fault(status, headers or {}, body, method, times, delay, match))

    # --- what another client does (not counted) -----------------------------------

    def _admin(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"X-Cadenced-Test-Admin": "1", **kw.pop("headers", {})}
        return self.admin.request(method, path, headers=headers, **kw)

    def make_calendar(self, name: str = CALENDAR, display_name: str = DISPLAY_NAME) -> str:
        body = ('<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" '
                'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
                f"<D:displayname>{display_name}</D:displayname></D:prop></D:set>"
                "</C:mkcalendar>")
        path = f"/{USER}/{name}/"
        response = self._admin("MKCALENDAR", path, content=body.encode())
        assert response.status_code == 201, response.text
        return path

    def put(self, name: str, ics: bytes | str, *, calendar: str = CALENDAR) -> str:
        """Store ``ics`` as ``<name>.ics``; returns its new etag."""
        data = ics.encode() if isinstance(ics, str) else ics
        response = self._admin("PUT", f"/{USER}/{calendar}/{name}.ics", content=data,
                               headers={"Content-Type": "text/calendar"})
        assert response.status_code in (201, 204), response.text
        return response.headers["etag"]

    def get(self, name: str, *, calendar: str = CALENDAR) -> bytes:
        response = self._admin("GET", f"/{USER}/{calendar}/{name}.ics")
        assert response.status_code == 200, response.text
        return response.content

    def delete(self, name: str, *, calendar: str = CALENDAR) -> None:
        response = self._admin("DELETE", f"/{USER}/{calendar}/{name}.ics")
        assert response.status_code in (200, 204), response.text

    def names(self, *, calendar: str = CALENDAR) -> list[str]:
        body = b'<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/>' \
            b"</D:prop></D:propfind>"
        response = self._admin("PROPFIND", f"/{USER}/{calendar}/", content=body,
                               headers={"Depth": "1"})
        import re

        return sorted(re.findall(rf"/{USER}/{calendar}/([^/<]+)\.ics</", response.text))

    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    def count(self, method: str | None = None, since: int = 0) -> int:
        return len([r for r in self.requests[since:] if method is None or r.method == method])


def _started(server: Radicale) -> Iterator[Radicale]:
    server.thread.start()
    server.make_calendar()
    try:
        yield server
    finally:
        server.stop.set()
        server.httpd.shutdown()
        server.httpd.server_close()
        server.admin.close()


@pytest.fixture
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    """A started Radicale on 127.0.0.1 with user ``owner`` and the calendar ``Work``."""
    yield from _started(Radicale(tmp_path_factory.mktemp("radicale")))


@pytest.fixture
def radicale_tls(tmp_path_factory: pytest.TempPathFactory, pki: Any) -> Iterator[Radicale]:
    """The same over https, with the test CA's certificate for 127.0.0.1."""
    yield from _started(Radicale(tmp_path_factory.mktemp("radicale"), tls=pki.server_context(),
                                 ca_file=pki.ca_file))
