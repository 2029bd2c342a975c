"""Tell systemd how the service is doing (``sd_notify``), without a dependency.

systemd passes a service of ``Type=notify`` the address of a datagram socket in
``$NOTIFY_SOCKET``; the service sends it short ``KEY=value`` lines: ``READY=1`` once
it is up, ``STATUS=...`` for ``systemctl status``, ``WATCHDOG=1`` as a keep-alive,
``STOPPING=1`` / ``RELOADING=1`` around shutdown and reload. See sd_notify(3).

Outside systemd (``$NOTIFY_SOCKET`` unset) every call is a no-op, and a
notification never raises: a failure to tell systemd must not stop the daemon.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from types import TracebackType

__all__ = ["STATUS_MAX_CHARS", "Notifier", "watchdog_interval"]

log = logging.getLogger(__name__)

STATUS_MAX_CHARS = 200
# A stuck receiver must not hang the daemon: give up on a datagram after this long.
_SEND_TIMEOUT = 1.0


class Notifier:
    """Sends sd_notify datagrams to ``$NOTIFY_SOCKET``; a no-op when it is unset.

    ``socket_path`` is the value of ``$NOTIFY_SOCKET``: a filesystem path, or
    ``@name`` for a socket in the abstract namespace. ``None`` or ``""`` disables
    the notifier. The socket is opened on the first notification and reused until
    :meth:`close`; after :meth:`close` every call is a no-op. Thread-safe.
    """

    def __init__(self, socket_path: str | None) -> None:
        self._address: str | bytes | None = _address(socket_path)
        self._socket_path = socket_path or None
        self._sock: socket.socket | None = None
        self._closed = False
        self._lock = threading.Lock()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Notifier:
        """A notifier for ``$NOTIFY_SOCKET`` in ``environ``."""
        return cls(environ.get("NOTIFY_SOCKET"))

    @property
    def enabled(self) -> bool:
        """True when there is a socket to notify (and :meth:`close` was not called)."""
        return self._address is not None and not self._closed

    def __repr__(self) -> str:
        return f"Notifier({self._socket_path!r})"

    # --- the messages ---------------------------------------------------------------

    def ready(self, status: str | None = None) -> None:
        """``READY=1``: start-up is complete (and, optionally, a status line)."""
        lines = ["READY=1"]
        if status is not None:
            lines.append(f"STATUS={_one_line(status)}")
        self.send("\n".join(lines))

    def status(self, text: str) -> None:
        """``STATUS=...``: one line for ``systemctl status`` (newlines become spaces,
        at most :data:`STATUS_MAX_CHARS` characters)."""
        self.send(f"STATUS={_one_line(text)}")

    def watchdog(self) -> None:
        """``WATCHDOG=1``: the keep-alive ``WatchdogSec=`` waits for."""
        self.send("WATCHDOG=1")

    def stopping(self) -> None:
        """``STOPPING=1``: shutdown has begun."""
        self.send("STOPPING=1")

    def reloading(self) -> None:
        """``RELOADING=1`` with the ``MONOTONIC_USEC=`` systemd >= 253 requires for
        ``Type=notify-reload``; send :meth:`ready` when the reload is done."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.send(f"RELOADING=1\nMONOTONIC_USEC={usec}")

    def send(self, message: str) -> None:
        """Send ``message`` (newline-separated ``KEY=value`` lines) as one datagram.

        A no-op when disabled; a failure is logged at debug level and swallowed.
        """
        if self._address is None:
            return
        data = message.encode("utf-8", "replace")
        with self._lock:
            if self._closed:
                return
            try:
                if self._sock is None:
                    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                    sock.settimeout(_SEND_TIMEOUT)
                    self._sock = sock
                self._sock.sendto(data, self._address)
            except OSError as exc:
                log.debug("sd_notify to %s failed: %s", self._socket_path, exc)

    # --- lifetime ---------------------------------------------------------------

    def close(self) -> None:
        """Close the socket; later notifications are no-ops. Idempotent."""
        with self._lock:
            self._closed = True
            sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def __enter__(self) -> Notifier:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def watchdog_interval(environ: Mapping[str, str] = os.environ) -> float | None:
    """How often to send ``WATCHDOG=1``, in seconds: half of ``$WATCHDOG_USEC``.

    ``None`` when the watchdog is off: ``$WATCHDOG_USEC`` unset, not a positive
    integer, or ``$WATCHDOG_PID`` set to another process (or not a number).
    """
    pid = environ.get("WATCHDOG_PID")
    if pid:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    return usec / 2 / 1_000_000


def _address(socket_path: str | None) -> str | bytes | None:
    if not socket_path:
        return None
    if socket_path.startswith("@"):
        # Linux abstract namespace: a leading NUL byte instead of the "@".
        return b"\0" + socket_path[1:].encode("utf-8", "surrogateescape")
    return socket_path


def _one_line(text: str) -> str:
    line = " ".join(part.strip() for part in text.splitlines() if part.strip())
    if len(line) > STATUS_MAX_CHARS:
        line = line[: STATUS_MAX_CHARS - 1] + "…"
    return line
