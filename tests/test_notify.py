"""daemon.service.notify: sd_notify datagrams against real AF_UNIX sockets."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.service import notify
from daemon.service.notify import STATUS_MAX_CHARS, Notifier, watchdog_interval


def _receiver(address: str | bytes) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(5)
    return sock


@pytest.fixture
def path_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = str(tmp_path / "notify.sock")
    assert len(path) < 100, "AF_UNIX paths are limited to 108 bytes"
    sock = _receiver(path)
    yield path, sock
    sock.close()


@pytest.fixture
def notifier(path_socket: tuple[str, socket.socket]) -> Iterator[Notifier]:
    n = Notifier(path_socket[0])
    yield n
    n.close()


def recv(sock: socket.socket) -> str:
    return sock.recv(4096).decode("utf-8")


def assert_nothing_received(sock: socket.socket) -> None:
    sock.settimeout(0.05)
    with pytest.raises(TimeoutError):
        sock.recv(4096)


def test_ready(notifier: Notifier, path_socket) -> None:
    notifier.ready()
    assert recv(path_socket[1]) == "READY=1"


def test_ready_with_status(notifier: Notifier, path_socket) -> None:
    notifier.ready("watching 3 calendars")
    assert recv(path_socket[1]) == "READY=1\nSTATUS=watching 3 calendars"


def test_status(notifier: Notifier, path_socket) -> None:
    notifier.status("synced 2 sources")
    assert recv(path_socket[1]) == "STATUS=synced 2 sources"


def test_status_is_one_line(notifier: Notifier, path_socket) -> None:
    notifier.status("first line\nsecond  line\r\n\nthird\n")
    assert recv(path_socket[1]) == "STATUS=first line second  line third"


def test_status_is_shortened(notifier: Notifier, path_socket) -> None:
    notifier.status("x" * 1000)
    payload = recv(path_socket[1])
    assert payload.startswith("STATUS=xxx")
    assert len(payload) == len("STATUS=") + STATUS_MAX_CHARS
    assert payload.endswith("…")


def test_watchdog(notifier: Notifier, path_socket) -> None:
    notifier.watchdog()
    assert recv(path_socket[1]) == "WATCHDOG=1"


def test_stopping(notifier: Notifier, path_socket) -> None:
    notifier.stopping()
    assert recv(path_socket[1]) == "STOPPING=1"


def test_reloading_carries_monotonic_usec(notifier: Notifier, path_socket) -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    notifier.reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    first, second = recv(path_socket[1]).split("\n")
    assert first == "RELOADING=1"
    key, _, value = second.partition("=")
    assert key == "MONOTONIC_USEC"
    assert value.isdigit()
    assert before <= int(value) <= after


def test_one_datagram_per_call_in_order(notifier: Notifier, path_socket) -> None:
    notifier.ready()
    notifier.watchdog()
    notifier.status("ok")
    notifier.stopping()
    sock = path_socket[1]
    assert [recv(sock) for _ in range(4)] == ["READY=1", "WATCHDOG=1", "STATUS=ok", "STOPPING=1"]


def test_socket_is_opened_once(notifier: Notifier, path_socket, monkeypatch) -> None:
    opened = []
    real_socket = socket.socket

    def counting_socket(*args, **kwargs):
        sock = real_socket(*args, **kwargs)
        opened.append(sock)
        return sock

    monkeypatch.setattr(notify.socket, "socket", counting_socket)
    for _ in range(3):
        notifier.watchdog()
    assert len(opened) == 1
    assert [recv(path_socket[1]) for _ in range(3)] == ["WATCHDOG=1"] * 3


def test_abstract_socket() -> None:
    name = f"cadenced-test-{secrets.token_hex(8)}"
    sock = _receiver(b"\0" + name.encode())
    try:
        with Notifier(f"@{name}") as n:
            assert n.enabled
            n.ready("up")
            n.watchdog()
        assert recv(sock) == "READY=1\nSTATUS=up"
        assert recv(sock) == "WATCHDOG=1"
    finally:
        sock.close()


def test_from_environ(path_socket) -> None:
    with Notifier.from_environ({"NOTIFY_SOCKET": path_socket[0]}) as n:
        assert n.enabled
        n.stopping()
    assert recv(path_socket[1]) == "STOPPING=1"


@pytest.mark.parametrize("environ", [{}, {"NOTIFY_SOCKET": ""}])
def test_no_op_without_notify_socket(environ, monkeypatch) -> None:
    def no_socket(*args, **kwargs):
        raise AssertionError("no socket may be opened")

    monkeypatch.setattr(notify.socket, "socket", no_socket)
    n = Notifier.from_environ(environ)
    assert not n.enabled
    n.ready("x")
    n.status("x")
    n.watchdog()
    n.stopping()
    n.reloading()
    n.close()


def test_from_environ_defaults_to_os_environ(monkeypatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not Notifier.from_environ().enabled


def test_missing_socket_path_does_not_raise(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="daemon.service.notify")
    with Notifier(str(tmp_path / "no-such.sock")) as n:
        n.ready()
        n.watchdog()
    assert "sd_notify" in caplog.text


def test_missing_abstract_socket_does_not_raise() -> None:
    with Notifier(f"@cadenced-test-absent-{secrets.token_hex(8)}") as n:
        n.ready()


def test_receiver_gone_does_not_raise(tmp_path: Path) -> None:
    path = str(tmp_path / "gone.sock")
    sock = _receiver(path)
    with Notifier(path) as n:
        n.watchdog()
        assert recv(sock) == "WATCHDOG=1"
        sock.close()
        os.unlink(path)
        n.watchdog()


def test_close_makes_later_calls_no_ops(notifier: Notifier, path_socket) -> None:
    notifier.watchdog()
    notifier.close()
    notifier.close()
    assert not notifier.enabled
    notifier.watchdog()
    sock = path_socket[1]
    assert recv(sock) == "WATCHDOG=1"
    assert_nothing_received(sock)


def test_watchdog_interval_is_half_the_timeout() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0


def test_watchdog_interval_for_this_process() -> None:
    environ = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    assert watchdog_interval(environ) == 15.0


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)},
        {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "not-a-pid"},
        {"WATCHDOG_USEC": "0"},
        {"WATCHDOG_USEC": "-5"},
        {"WATCHDOG_USEC": "soon"},
        {"WATCHDOG_PID": str(os.getpid())},
    ],
)
def test_watchdog_interval_off(environ) -> None:
    assert watchdog_interval(environ) is None


def test_watchdog_interval_defaults_to_os_environ(monkeypatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "4000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert watchdog_interval() == 2.0
    monkeypatch.delenv("WATCHDOG_USEC")
    assert watchdog_interval() is None
