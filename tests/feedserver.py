"""A real HTTP server on 127.0.0.1 whose replies each test sets per path."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Reply:
    """What the test server answers on one path."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/calendar"})
    content_length: int | str | None = (
        "auto"  # "auto": len(body); None: no header (close-delimited)
    )
    trickle: float = 0.0  # seconds to wait between 64-byte pieces of the body
    delay: float = 0.0  # seconds to wait before answering
    etag: str | None = None  # answer 304 when If-None-Match matches


class FeedServer:
    """Plain HTTP, or HTTPS with ``tls`` (a server context, e.g. ``pki.server_context()``)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Reply] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stop = threading.Event()
        handler = type("Handler", (_Handler,), {"feed": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def headers_of_last(self, path: str) -> dict[str, str]:
        return [h for p, h in self.requests if p == path][-1]


class _Handler(BaseHTTPRequestHandler):
    feed: FeedServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.feed.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        reply = self.feed.routes.get(self.path, Reply(status=404, body=b"no route"))
        if reply.delay and self.feed.stop.wait(reply.delay):
            return
        try:
            if reply.etag is not None and self.headers.get("If-None-Match") == reply.etag:
                self.send_response(304)
                self.send_header("ETag", reply.etag)
                self.end_headers()
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.etag is not None:
                self.send_header("ETag", reply.etag)
            if reply.content_length == "auto":
                self.send_header("Content-Length", str(len(reply.body)))
            elif reply.content_length is not None:
                self.send_header("Content-Length", str(reply.content_length))
            self.end_headers()
            if not reply.trickle:
                self.wfile.write(reply.body)
                return
            for i in range(0, len(reply.body), 64):
                if self.feed.stop.wait(reply.trickle):
                    return
                self.wfile.write(reply.body[i:i + 64])
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[FeedServer]:
    """A started :class:`FeedServer`, shut down on leaving."""
    feed = FeedServer(tls)
    feed.thread.start()
    try:
        yield feed
    finally:
        feed.stop.set()
        feed.httpd.shutdown()
        feed.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with serving() as feed:
        yield feed


