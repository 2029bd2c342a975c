"""Turning every failure of an SMTP exchange into one :class:`MailError`: what went
wrong at ``host:port``, whether a later cycle may succeed, and what to do."""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl

from connectors.base import MailError
from daemon.config import Smtp
from daemon.core.redact import redact

log = logging.getLogger(__name__)

_RETRY = "cadenced will try again on a later cycle"
_MAX_REPLY = 300
_WHERE_FROM = (  # where the password may come from (see .credentials)
    "smtp.password_command, $CREDENTIALS_DIRECTORY/smtp-password (systemd "
    "LoadCredential=) or the keyring (service 'cadenced', your smtp.username)"
)


# --- turning failures into MailError -----------------------------------------------


def _clean(text: str, password: str | None = None) -> str:
    """One line, redacted, the password masked, shortened."""
    text = " ".join(text.split())
    if password:
        text = text.replace(password, "***")
    text = redact(text)
    return text if len(text) <= _MAX_REPLY else text[: _MAX_REPLY - 1] + "…"


def _reply(code: int, text: bytes | str, *, password: str | None) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return _clean(f"{code} {text}".strip(), password)


def _is_4xx(code: int) -> bool:
    return 400 <= code < 500


def _translate(
    exc: BaseException, smtp: Smtp, stage: str, password: str | None, seconds: float
) -> MailError:
    where = f"{smtp.host}:{smtp.port}"
    retry = _RETRY

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        items = [(a, c, _reply(c, t, password=password)) for a, (c, t) in exc.recipients.items()]
        transient = any(_is_4xx(c) for _, c, _ in items)
        listed = "; ".join(f"{a} ({r})" for a, _, r in items)
        return MailError(
            f"{where} refused every recipient: {listed}", transient=transient,
            code=items[0][1] if items else None,
            hint=retry if transient else "check the recipient addresses",
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        reply = _reply(code, exc.smtp_error, password=password)
        transient = _is_4xx(code)
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return MailError(
                f"{where} refused the login of {smtp.username!r}: {reply}"
                + ("" if transient else ": check smtp.username and the password source"),
                transient=transient, code=code,
                hint=retry if transient else f"the password comes from {_WHERE_FROM}",
            )
        if isinstance(exc, smtplib.SMTPSenderRefused):
            return MailError(
                f"{where} refused the sender {exc.sender!r}: {reply}", transient=transient,
                code=code, hint=retry if transient
                else "check smtp.from: servers often accept only your own address",
            )
        if isinstance(exc, smtplib.SMTPDataError):
            what, fix = "rejected the message", "read the server's reply; nothing was sent"
        elif isinstance(exc, smtplib.SMTPConnectError):
            what, fix = "refused the connection", "check smtp.host and smtp.port"
        elif isinstance(exc, smtplib.SMTPHeloError):
            what, fix = "refused the greeting (EHLO)", "check smtp.host and smtp.port"
        elif stage == "starttls":
            what, fix = "refused STARTTLS", "check smtp.security and smtp.port"
        else:
            what, fix = f"answered with an error ({stage})", "read the server's reply"
        return MailError(f"{where} {what}: {reply}", transient=transient, code=code,
                         hint=retry if transient else fix)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        if stage == "login":
            return MailError(
                f"{where} does not offer authentication (AUTH) on this connection",
                transient=False,
                hint="check smtp.security (servers offer AUTH only over TLS), or remove "
                "smtp.username if the server needs no login",
            )
        return MailError(f"{where} does not support what this message needs: "
                         f"{_clean(str(exc), password)}", transient=False,
                         hint="non-ASCII addresses need a server with SMTPUTF8")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if isinstance(exc.__context__, TimeoutError):
            return _timed_out(where, seconds)
        return MailError(f"{where} closed the connection unexpectedly ({stage})",
                         transient=True, hint=retry)
    if isinstance(exc, smtplib.SMTPException):
        # smtplib's own complaints, e.g. "No suitable authentication method found."
        return MailError(f"{where}: {_clean(str(exc), password)}", transient=False,
                         hint="check smtp.security and smtp.username")
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = _clean(exc.verify_message or exc.reason or str(exc), password)
        if "mismatch" in reason.lower():
            return MailError(
                f"the certificate of {where} is not for {smtp.host!r} ({reason})",
                transient=False,
                hint="set smtp.host to the name the server's certificate is for",
            )
        return MailError(
            f"the server's certificate at {where} is not trusted ({reason}): if it is "
            "self-signed or from a private CA, set smtp.ca_file",
            transient=False,
            hint="smtp.ca_file is the CA certificate (PEM) that signed the server's "
            "certificate; it is trusted in addition to the system's",
        )
    if isinstance(exc, ssl.SSLError):
        reason = _clean(exc.reason or str(exc), password)
        if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError | ssl.SSLSyscallError):
            return MailError(f"the TLS connection to {where} broke ({reason})",
                             transient=True, hint=retry)
        fix = (
            'if the port expects STARTTLS (usually 587), set smtp.security = "starttls"'
            if smtp.security == "ssl"
            else "check smtp.security and smtp.port"
        )
        return MailError(f"TLS with {where} failed ({reason})", transient=False, hint=fix)
    if isinstance(exc, TimeoutError):
        return _timed_out(where, seconds)
    if isinstance(exc, ConnectionRefusedError):
        return MailError(f"{where} refused the connection", transient=True,
                         hint=f"is the server running, and smtp.port right? {retry}")
    if isinstance(exc, socket.gaierror):
        return MailError(f"cannot resolve {smtp.host!r}: {exc.strerror or exc}", transient=True,
                         hint=f"check smtp.host and the network; {retry}")
    if isinstance(exc, UnicodeError):
        # smtplib sends the user name and password as ASCII. Never show the exception's
        # text: at login it holds both.
        if stage == "login":
            return MailError(f"{where}: the user name or password is not plain ASCII, which "
                             "smtplib cannot send", transient=False,
                             hint="check smtp.username and the password source")
        return MailError(f"{where}: the message or its addresses cannot be encoded",
                         transient=False, hint="envelope addresses must be ASCII")
    assert isinstance(exc, OSError)
    return MailError(f"cannot talk to {where}: {_clean(exc.strerror or str(exc), password)}",
                     transient=True, hint=retry)


def _timed_out(where: str, seconds: float) -> MailError:
    return MailError(f"{where} did not answer within {seconds:g} s (timed out)", transient=True,
                     hint=f"check smtp.host and smtp.port; {_RETRY}")

