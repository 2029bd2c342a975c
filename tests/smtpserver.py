"""pytest plugin: the ``inbox`` fixture, a real SMTP server (aiosmtpd) on 127.0.0.1
that keeps what it accepted (``messages``, ``envelopes``); set ``reply`` to refuse."""

from __future__ import annotations

import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []
        self.reply = "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if not self.reply.startswith("250"):
            return self.reply
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return self.reply


@pytest.fixture
def inbox():
    handler = Inbox()
    with socket.socket() as probe:  # aiosmtpd probes its port on start: it can't be 0
        probe.bind(("127.0.0.1", 0))
        handler.port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()
