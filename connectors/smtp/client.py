"""Sending through the user's SMTP server: connection, verified TLS, AUTH, the
envelope, and the final reply (:func:`send`, :class:`SmtpMailer`)."""

from __future__ import annotations

import contextlib
import copy
import email.utils
import logging
import smtplib
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from connectors.base import MailError, Outgoing
from connectors.smtp.credentials import resolve_password
from connectors.smtp.failures import _WHERE_FROM, _reply, _translate
from daemon.config import Smtp

log = logging.getLogger(__name__)


class Sent(str):
    """What :func:`send` returns: the server's final reply (``"250 2.0.0 Ok: queued"``)
    as a ``str``, plus ``refused``: the recipients the server refused while it
    accepted others, ``{address: (code, reply)}`` (empty when all were accepted).
    """

    refused: Mapping[str, tuple[int, str]]

    def __new__(cls, reply: str, refused: Mapping[str, tuple[int, str]] | None = None) -> Sent:
        self = super().__new__(cls, reply)
        self.refused = dict(refused or {})
        return self


# --- sending ---------------------------------------------------------------------


class _KeepsFinalReply:
    """Remembers the reply to the end of DATA, which ``sendmail`` drops."""

    final_reply: tuple[int, bytes] | None = None

    def data(self, msg: Any) -> tuple[int, bytes]:
        reply = super().data(msg)  # type: ignore[misc]
        self.final_reply = reply
        return reply


class _SMTP(_KeepsFinalReply, smtplib.SMTP):
    pass


class _SMTPSSL(_KeepsFinalReply, smtplib.SMTP_SSL):
    pass


class SmtpMailer:
    """The ``[smtp]`` server as a :class:`~connectors.base.Mailer`: the password is
    resolved for each message (a rotated credential is picked up), then :func:`send`."""

    def __init__(self, smtp: Smtp) -> None:
        self.smtp = smtp

    def send(self, outgoing: Outgoing) -> Sent:
        return send(outgoing, self.smtp, password=resolve_password(self.smtp))


def send(
    outgoing: Outgoing, smtp: Smtp, *, password: str | None, timeout: float | None = None
) -> Sent:
    """Send ``outgoing`` through ``smtp``; return the server's final reply.

    ``password`` is what :func:`resolve_password` returned; AUTH happens only when
    ``smtp.username`` is set. ``timeout`` (default ``smtp.timeout_seconds``) bounds
    every network operation: connecting, the TLS handshake, each reply.

    A message without ``Date`` or ``Message-ID`` gets them (on a copy). When the
    server refuses some recipients but accepts others, the message is sent: the
    refused ones are logged as a warning and returned in ``Sent.refused``. When it
    refuses all of them, nothing is sent and :class:`MailError` is raised (transient
    if one of the refusals was a 4xx).

    Raises :class:`MailError` for every failure.
    """
    where = f"{smtp.host}:{smtp.port}"
    _check_outgoing(outgoing)
    if smtp.security == "none" and not smtp.is_loopback:
        raise MailError(
            f"refusing to send unencrypted to {where}: security = \"none\" is only for "
            "localhost", transient=False, hint='set smtp.security = "starttls" or "ssl"',
        )
    if smtp.username and not password:
        raise MailError(
            f"no password for {smtp.username!r} at {where}", transient=False,
            hint=f"provide it through {_WHERE_FROM}",
        )
    seconds = smtp.timeout_seconds if timeout is None else timeout
    if not seconds > 0:
        raise MailError(f"invalid SMTP timeout {seconds!r}", transient=False,
                        hint="set smtp.timeout_seconds to a positive number")
    message = _complete(outgoing.message, outgoing.sender)
    context = _tls_context(smtp)

    client: _SMTP | _SMTPSSL | None = None
    stage = "connect"
    ok = False
    try:
        if smtp.security == "ssl":
            client = _SMTPSSL(smtp.host, smtp.port, timeout=seconds, context=context)
            stage = "ehlo"
            client.ehlo_or_helo_if_needed()
        else:
            client = _SMTP(smtp.host, smtp.port, timeout=seconds)
            stage = "ehlo"
            if smtp.security == "starttls":
                _ehlo(client)
                if not client.has_extn("starttls"):
                    raise MailError(
                        f"{where} does not offer STARTTLS: refusing to send in plain text",
                        transient=False,
                        hint='check smtp.port; if the server speaks TLS from the start '
                        '(usually port 465), set smtp.security = "ssl"',
                    )
                stage = "starttls"
                client.starttls(context=context)
                stage = "ehlo"
                _ehlo(client)
            else:
                client.ehlo_or_helo_if_needed()
        if smtp.username:
            stage = "login"
            client.login(smtp.username, password or "")
        stage = "send"
        refused = client.send_message(
            message, from_addr=outgoing.sender, to_addrs=list(outgoing.recipients)
        )
        final = client.final_reply
        ok = True
    except (smtplib.SMTPException, OSError, UnicodeError) as exc:
        raise _translate(exc, smtp, stage, password, seconds) from None
    finally:
        if client is not None:
            _close(client, polite=ok)

    reply = _reply(*final, password=password) if final else "250"
    refused_clean = {
        address: (code, _reply(code, text, password=password))
        for address, (code, text) in refused.items()
    }
    if refused_clean:
        log.warning(
            "%s accepted the message but refused %d recipient%s: %s",
            where, len(refused_clean), "s" if len(refused_clean) != 1 else "",
            "; ".join(f"{a} ({r})" for a, (_, r) in refused_clean.items()),
        )
    log.debug("sent through %s to %d recipients: %s", where,
              len(outgoing.recipients) - len(refused_clean), reply)
    return Sent(reply, refused_clean)


def _check_outgoing(outgoing: Outgoing) -> None:
    """Refuse header values (and envelope addresses) with CR or LF, before connecting."""
    hint = "this is a bug in whatever built the message; nothing was sent"
    for part in outgoing.message.walk():
        for name, value in (*part.raw_items(), *part.items()):
            if _has_line_break(name) or _has_line_break(str(value)):
                raise MailError(
                    f"refusing to send: the {name.strip()!r} header contains a line break "
                    "(CR or LF)", transient=False, hint=hint,
                )
    if not outgoing.recipients:
        raise MailError("refusing to send: no recipients", transient=False, hint=hint)
    for address in (outgoing.sender, *outgoing.recipients):
        if not address or _has_line_break(address) or address != address.strip():
            raise MailError(f"refusing to send: invalid envelope address {address!r}",
                            transient=False, hint=hint)


def _has_line_break(text: str) -> bool:
    return "\r" in text or "\n" in text


def _complete(message: EmailMessage, sender: str) -> EmailMessage:
    """``message``, or a copy with the ``Date`` and ``Message-ID`` it lacks."""
    if "Date" in message and "Message-ID" in message:
        return message
    message = copy.deepcopy(message)
    if "Date" not in message:
        message["Date"] = email.utils.format_datetime(datetime.now(UTC))
    if "Message-ID" not in message:
        domain = sender.rpartition("@")[2] or "localhost"
        message["Message-ID"] = email.utils.make_msgid("cadenced", domain=domain)
    return message


def _tls_context(smtp: Smtp) -> ssl.SSLContext:
    """A verifying context (smtplib's default verifies nothing), trusting ca_file too."""
    context = ssl.create_default_context()
    if smtp.ca_file:
        try:
            context.load_verify_locations(cafile=smtp.ca_file)
        except FileNotFoundError:
            raise MailError(f"smtp.ca_file {smtp.ca_file} does not exist", transient=False,
                            hint="give the path of the CA certificate (PEM)") from None
        except (ssl.SSLError, OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or "not a PEM certificate"
            raise MailError(f"cannot use smtp.ca_file {smtp.ca_file}: {reason}",
                            transient=False,
                            hint="give the path of the CA certificate (PEM)") from None
    return context


def _ehlo(client: smtplib.SMTP) -> None:
    code, reply = client.ehlo()
    if not 200 <= code < 300:
        raise smtplib.SMTPHeloError(code, reply)


def _close(client: smtplib.SMTP, *, polite: bool) -> None:
    """QUIT after success; after a failure, just drop the connection (it may hang)."""
    if polite:
        try:
            client.quit()
            return
        except (smtplib.SMTPException, OSError):
            pass
    with contextlib.suppress(OSError):
        client.close()


