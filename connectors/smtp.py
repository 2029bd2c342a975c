"""Send one email through the user's own SMTP server: the
:class:`~connectors.base.Mailer` contract, filled by :class:`SmtpMailer`.

The contract is small: :func:`send` either returns the server's final reply or
raises a :class:`MailError` naming ``host:port``, what went wrong and what to do;
no ``smtplib``, ``ssl`` or ``OSError`` exception escapes it. ``MailError.transient``
tells the caller whether a later cycle may succeed (network trouble, timeouts, 4xx
replies) or whether the user must act first (authentication, 5xx rejections, an
untrusted certificate, configuration).

Security, whatever ``smtplib``'s defaults:

* TLS always verifies the server (``ssl.create_default_context()``, plus
  ``smtp.ca_file`` when set); STARTTLS that the server does not offer is an error,
  never a fall back to plain text. Plain SMTP is for loopback only.
* The password is never in the configuration, a message or a log line:
  :func:`resolve_password` reads it from a command, a systemd credential or the
  keyring, and every server reply shown is redacted.
* A header value holding CR or LF is refused before connecting (header injection).
"""

from __future__ import annotations

import contextlib
import copy
import email.utils
import logging
import os
import shlex
import smtplib
import socket
import ssl
import subprocess
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from connectors.base import MailError, Outgoing
from daemon.config import Smtp
from daemon.service.logs import redact

__all__ = ["MailError", "Outgoing", "Sent", "SmtpMailer", "resolve_password", "send"]

log = logging.getLogger(__name__)

PASSWORD_COMMAND_TIMEOUT = 30.0
KEYRING_TIMEOUT = 30.0
KEYRING_SERVICE = "cadenced"
CREDENTIAL_NAME = "smtp-password"  # in $CREDENTIALS_DIRECTORY (systemd LoadCredential=)

_WHERE_FROM = (
    "smtp.password_command, $CREDENTIALS_DIRECTORY/smtp-password (systemd "
    "LoadCredential=) or the keyring (service 'cadenced', your smtp.username)"
)
_RETRY = "cadenced will try again on a later cycle"
_MAX_REPLY = 300


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


# --- the password ----------------------------------------------------------------


def resolve_password(smtp: Smtp, *, environ: Mapping[str, str] = os.environ) -> str | None:
    """The SMTP password, or None when there is none to use.

    None when no ``smtp.username`` is configured (no AUTH). Otherwise, the first
    source that is there, in this order:

    1. ``smtp.password_command`` (split like a shell would, run without a shell, for
       at most 30 s): the first line of its output. When it is configured, it is the
       only source: failing is an error, not a reason to look elsewhere.
    2. ``$CREDENTIALS_DIRECTORY/smtp-password`` (systemd ``LoadCredential=``): its
       first line.
    3. The keyring (``pip install keyring``): service ``cadenced``, user
       ``smtp.username``. Not installed, no backend or nothing stored: None.

    Surrounding white space is stripped. Raises :class:`MailError` when a source is
    there but unusable; its message never contains the command's output.
    """
    if not smtp.username:
        return None
    if smtp.password_command:
        return _from_command(smtp.password_command)
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if directory:
        found = _from_credential(Path(directory) / CREDENTIAL_NAME)
        if found is not None:
            return found
    return _from_keyring(smtp.username)


def _first_line(text: str) -> str:
    lines = text.splitlines()
    return lines[0].strip() if lines else ""


def _from_command(command: str) -> str:
    argv = shlex.split(command)  # the config validated that this works
    program = argv[0]
    what = f"smtp.password_command ({program})"
    hint = "run the command by hand to see why (its output is not shown: it may be the password)"
    try:
        done = subprocess.run(  # noqa: S603 - the user's own command, without a shell
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=PASSWORD_COMMAND_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise MailError(
            f"{what}: no such program", transient=False,
            hint="install it, or give its full path in smtp.password_command",
        ) from None
    except subprocess.TimeoutExpired:
        raise MailError(
            f"{what} did not finish within {PASSWORD_COMMAND_TIMEOUT:.0f} s", transient=True,
            hint="it may be waiting for a passphrase or an unlocked agent; " + _RETRY,
        ) from None
    except OSError as exc:
        raise MailError(
            f"{what} could not be started: {exc.strerror or type(exc).__name__}",
            transient=False, hint="check smtp.password_command",
        ) from None
    if done.returncode != 0:
        status = (
            f"exited with status {done.returncode}"
            if done.returncode > 0
            else f"was killed by signal {-done.returncode}"
        )
        raise MailError(f"{what} {status}", transient=False, hint=hint)
    try:
        password = _first_line(done.stdout.decode("utf-8"))
    except UnicodeDecodeError:
        raise MailError(f"{what} printed something that is not UTF-8 text", transient=False,
                        hint=hint) from None
    if not password:
        raise MailError(f"{what} printed nothing (exit status 0)", transient=False, hint=hint)
    return password


def _from_credential(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise MailError(f"cannot read the credential {path}: {reason}", transient=False,
                        hint="check LoadCredential= in the service unit") from None
    password = _first_line(text)
    if not password:
        raise MailError(f"the credential {path} is empty", transient=False,
                        hint="check LoadCredential= in the service unit")
    return password


def _from_keyring(username: str) -> str | None:
    try:
        import keyring  # optional: pip install "cadenced[keyring]"
        from keyring.errors import NoKeyringError
    except ImportError:
        log.debug("keyring is not installed: no SMTP password from the keyring")
        return None

    outcome: list[tuple[str | None, BaseException | None]] = []

    def look_up() -> None:
        try:
            outcome.append((keyring.get_password(KEYRING_SERVICE, username), None))
        except NoKeyringError:
            outcome.append((None, None))
        except Exception as exc:  # noqa: BLE001 - backends raise anything (D-Bus, ...)
            outcome.append((None, exc))

    # A locked keyring may wait for a prompt nobody answers: never hang the service.
    worker = threading.Thread(target=look_up, name="cadenced-keyring", daemon=True)
    worker.start()
    worker.join(KEYRING_TIMEOUT)
    if not outcome:
        raise MailError(
            f"the keyring did not answer within {KEYRING_TIMEOUT:.0f} s", transient=True,
            hint="it may be locked; " + _RETRY,
        )
    password, error = outcome[0]
    if error is not None:
        raise MailError(
            f"the keyring could not be read: {type(error).__name__}: "
            f"{_clean(str(error))}",
            transient=True, hint="it may be locked; " + _RETRY,
        )
    return password or None


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
