"""Sending mail: real aiosmtpd servers on 127.0.0.1, plain, STARTTLS and implicit TLS,
with a throw-away CA; every failure is a MailError that says whether to retry."""

from __future__ import annotations

import base64
import email
import email.policy
import email.utils
import logging
import shlex
import socket
import sys
import time
import types
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from connectors.base import MailError, Outgoing
from connectors.smtp.client import Sent, send
from connectors.smtp.credentials import resolve_password
from daemon.config import Smtp, parse_config
from daemon.core.errors import ConfigError

pytestmark = pytest.mark.timeout(30)

PASSWORD = "c0rrect-h0rse-battery"
USERNAME = "me@example.com"
SENDER = "me@example.com"
BOSS = "boss@example.com"


# --- servers -----------------------------------------------------------------------


class Collector:
    """An aiosmtpd handler keeping what it accepted; it can refuse recipients or DATA."""

    def __init__(self, *, data_reply: str = "250 OK queued as TEST1",
                 refuse: dict[str, str] | None = None) -> None:
        self.data_reply = data_reply
        self.refuse = refuse or {}
        self.envelopes: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply.startswith("250"):
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return self.data_reply


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def serve():
    """serve(handler=None, **aiosmtpd_options) -> (port, handler): a running server."""
    running: list[Controller] = []

    def start(handler: Collector | None = None, **options) -> tuple[int, Collector]:
        handler = handler or Collector()
        port = _free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
        controller.start()
        running.append(controller)
        return port, handler

    yield start
    for controller in running:
        controller.stop()


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == USERNAME.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd replies 535


# --- helpers -----------------------------------------------------------------------


def smtp(port: int, **options) -> Smtp:
    return Smtp.model_validate({"host": "127.0.0.1", "port": port, "timeout_seconds": 5,
                                **options})


def report(*, to: tuple[str, ...] = (BOSS,), headers: bool = True) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "1:1 cadence — week 47"
    message["From"] = f"Me <{SENDER}>"
    message["To"] = ", ".join(to)
    if headers:
        message["Date"] = email.utils.format_datetime(datetime(2026, 11, 20, 9, tzinfo=UTC))
        message["Message-ID"] = "<report-2026-47@example.com>"
    message.set_content("Ana Silva: no 1:1 for 50d\n")
    message.add_alternative("<p>Ana Silva: <b>no 1:1 for 50d</b></p>\n", subtype="html")
    return message


def outgoing(message: EmailMessage | None = None, *, to: tuple[str, ...] = (BOSS,)) -> Outgoing:
    return Outgoing(message=message or report(to=to), sender=SENDER, recipients=to)


def received(handler: Collector, index: int = 0) -> EmailMessage:
    return email.message_from_bytes(handler.envelopes[index][2], policy=email.policy.default)


def shown(error: MailError) -> str:
    """What a user reads: the message and the hint."""
    return f"{error} / {error.hint}"


# --- delivery ------------------------------------------------------------------------


def test_plain_to_loopback_delivers_every_header_and_both_alternatives(serve):
    port, handler = serve()
    reply = send(outgoing(), smtp(port, security="none"), password=None)

    assert isinstance(reply, Sent)
    assert reply == "250 OK queued as TEST1"
    assert reply.refused == {}
    mail_from, rcpt_tos, _ = handler.envelopes[0]
    assert (mail_from, rcpt_tos) == (SENDER, [BOSS])
    message = received(handler)
    assert message["Subject"] == "1:1 cadence — week 47"
    assert message["From"].addresses[0].addr_spec == SENDER
    assert message["To"].addresses[0].addr_spec == BOSS
    assert message["Date"].datetime == datetime(2026, 11, 20, 9, tzinfo=UTC)
    assert message["Message-ID"] == "<report-2026-47@example.com>"
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert plain.get_content().splitlines() == ["Ana Silva: no 1:1 for 50d"]
    assert html.get_content_type() == "text/html"
    assert "<b>no 1:1 for 50d</b>" in html.get_content()


def test_missing_date_and_message_id_are_added_on_a_copy(serve):
    port, handler = serve()
    message = report(headers=False)
    send(outgoing(message), smtp(port, security="none"), password=None)

    arrived = received(handler)
    assert abs(arrived["Date"].datetime - datetime.now(UTC)) < timedelta(minutes=1)
    assert arrived["Message-ID"].endswith("@example.com>")
    assert "Date" not in message and "Message-ID" not in message  # the caller's is untouched


# --- TLS -----------------------------------------------------------------------------


def test_starttls_refuses_a_self_signed_certificate_without_ca_file(serve, pki):
    port, handler = serve(tls_context=pki.server_context(), require_starttls=True)
    with pytest.raises(MailError) as caught:
        send(outgoing(), smtp(port, security="starttls"), password=None)
    assert caught.value.transient is False
    assert "smtp.ca_file" in str(caught.value)
    assert "not trusted" in str(caught.value)
    assert handler.envelopes == []


def test_starttls_accepts_the_server_when_ca_file_names_its_ca(serve, pki):
    port, handler = serve(tls_context=pki.server_context(), require_starttls=True)
    reply = send(outgoing(), smtp(port, security="starttls", ca_file=str(pki.ca_file)),
                 password=None)
    assert reply.startswith("250")
    assert received(handler)["Subject"] == "1:1 cadence — week 47"


def test_starttls_required_but_not_offered_never_falls_back_to_plain(serve, pki):
    port, handler = serve()  # no tls_context: EHLO does not list STARTTLS
    with pytest.raises(MailError) as caught:
        send(outgoing(), smtp(port, security="starttls", ca_file=str(pki.ca_file)),
             password=None)
    assert caught.value.transient is False
    assert "does not offer STARTTLS" in str(caught.value)
    assert handler.envelopes == []


def test_implicit_tls_with_the_ca_delivers(serve, pki):
    port, handler = serve(ssl_context=pki.server_context())
    reply = send(outgoing(), smtp(port, security="ssl", ca_file=str(pki.ca_file)),
                 password=None)
    assert reply == "250 OK queued as TEST1"
    assert handler.envelopes[0][1] == [BOSS]


def test_implicit_tls_to_a_plain_server_is_a_configuration_error(serve, pki):
    port, _ = serve()
    with pytest.raises(MailError) as caught:
        send(outgoing(), smtp(port, security="ssl", ca_file=str(pki.ca_file)), password=None)
    assert caught.value.transient is False
    assert "TLS" in str(caught.value)


def test_a_missing_ca_file_is_a_configuration_error(tmp_path):
    config = smtp(_free_port(), ca_file=str(tmp_path / "nope.pem"))
    with pytest.raises(MailError) as caught:
        send(outgoing(), config, password=None)
    assert caught.value.transient is False
    assert "smtp.ca_file" in str(caught.value)


# --- AUTH ----------------------------------------------------------------------------


@pytest.fixture
def auth_server(serve, pki):
    return serve(tls_context=pki.server_context(), require_starttls=True,
                 authenticator=_authenticator, auth_require_tls=True, auth_required=True)


def test_auth_over_starttls_with_the_right_password_delivers(auth_server, pki):
    port, handler = auth_server
    config = smtp(port, username=USERNAME, ca_file=str(pki.ca_file))
    assert send(outgoing(), config, password=PASSWORD).startswith("250")
    assert handler.envelopes[0][1] == [BOSS]


def test_auth_with_a_wrong_password_names_the_username_check_and_never_the_password(
    auth_server, pki, caplog
):
    caplog.set_level(logging.DEBUG)
    port, handler = auth_server
    config = smtp(port, username=USERNAME, ca_file=str(pki.ca_file))
    wrong = "Wr0ng-s3cret-passw0rd"
    with pytest.raises(MailError) as caught:
        send(outgoing(), config, password=wrong)
    error = caught.value
    assert error.transient is False
    assert error.code == 535
    assert "check smtp.username and the password source" in str(error)
    assert wrong not in shown(error)
    encoded = base64.b64encode(wrong.encode()).decode()
    assert all(wrong not in r.getMessage() and encoded not in r.getMessage()
               for r in caplog.records)
    assert handler.envelopes == []


def test_a_username_without_a_password_is_refused_before_connecting(monkeypatch):
    monkeypatch.setattr(socket, "create_connection", _no_connection)
    with pytest.raises(MailError) as caught:
        send(outgoing(), smtp(587, username=USERNAME), password=None)
    assert caught.value.transient is False
    assert "password_command" in caught.value.hint


# --- password sources -------------------------------------------------------------------


def _python(code: str) -> str:
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def test_password_command_first_line_is_the_password(tmp_path):
    command = _python("print('  s3cret pass  '); print('second line')")
    config = smtp(587, username=USERNAME, password_command=command)
    # the command wins over a credential file
    (tmp_path / "smtp-password").write_text("from-credentials\n")
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert resolve_password(config, environ=env) == "s3cret pass"


def test_password_command_failing_names_its_exit_status_never_its_output():
    command = _python("import sys; print('t0p-secret-output'); sys.exit(3)")
    config = smtp(587, username=USERNAME, password_command=command)
    with pytest.raises(MailError) as caught:
        resolve_password(config, environ={})
    assert "exited with status 3" in str(caught.value)
    assert "t0p-secret-output" not in shown(caught.value)
    assert caught.value.transient is False


def test_password_command_printing_nothing_or_missing_is_an_error():
    for command, said in ((_python("pass"), "printed nothing"),
                          ("/nonexistent/pass-helper show smtp", "no such program")):
        config = smtp(587, username=USERNAME, password_command=command)
        with pytest.raises(MailError, match=said):
            resolve_password(config, environ={})


def test_password_from_the_systemd_credentials_directory(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "keyring", None)
    (tmp_path / "smtp-password").write_text("  cred-s3cret \nignored\n")
    config = smtp(587, username=USERNAME)
    assert resolve_password(config, environ={"CREDENTIALS_DIRECTORY": str(tmp_path)}) == (
        "cred-s3cret"
    )


def test_no_password_source_means_none(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "keyring", None)  # `import keyring` fails
    config = smtp(587, username=USERNAME)
    assert resolve_password(config, environ={}) is None
    # a credentials directory without smtp-password is no source either
    assert resolve_password(config, environ={"CREDENTIALS_DIRECTORY": str(tmp_path)}) is None
    # no username: no AUTH, so no password, whatever is configured
    command = _python("print('unused')")
    assert resolve_password(smtp(587, password_command=command), environ={}) is None


def _fake_keyring(monkeypatch, get_password) -> None:
    errors = types.ModuleType("keyring.errors")

    class NoKeyringError(RuntimeError):
        pass

    errors.NoKeyringError = NoKeyringError
    module = types.ModuleType("keyring")
    module.errors = errors
    module.get_password = lambda service, user: get_password(service, user, NoKeyringError)
    monkeypatch.setitem(sys.modules, "keyring", module)
    monkeypatch.setitem(sys.modules, "keyring.errors", errors)


def test_password_from_the_keyring_under_service_cadenced(monkeypatch):
    asked = []

    def get_password(service, user, _):
        asked.append((service, user))
        return "k3yring-secret"

    _fake_keyring(monkeypatch, get_password)
    assert resolve_password(smtp(587, username=USERNAME), environ={}) == "k3yring-secret"
    assert asked == [("cadenced", USERNAME)]


def test_a_keyring_without_backend_or_entry_means_none(monkeypatch):
    def no_backend(service, user, no_keyring_error):
        raise no_keyring_error("No recommended backend was available.")

    _fake_keyring(monkeypatch, no_backend)
    assert resolve_password(smtp(587, username=USERNAME), environ={}) is None
    _fake_keyring(monkeypatch, lambda service, user, _: None)
    assert resolve_password(smtp(587, username=USERNAME), environ={}) is None


def test_a_failing_or_hanging_keyring_is_a_transient_error(monkeypatch):
    def broken(service, user, _):
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")

    _fake_keyring(monkeypatch, broken)
    with pytest.raises(MailError, match="keyring could not be read") as caught:
        resolve_password(smtp(587, username=USERNAME), environ={})
    assert caught.value.transient is True

    def locked(service, user, _):
        time.sleep(1)
        return "too-late"

    _fake_keyring(monkeypatch, locked)
    monkeypatch.setattr("connectors.smtp.credentials.KEYRING_TIMEOUT", 0.1)
    with pytest.raises(MailError, match="did not answer") as caught:
        resolve_password(smtp(587, username=USERNAME), environ={})
    assert caught.value.transient is True


# --- configuration ------------------------------------------------------------------


OWNER = {"email": "me@example.com", "timezone": "UTC"}


def test_config_with_a_password_key_is_refused_without_echoing_it():
    with pytest.raises(ConfigError) as caught:
        parse_config({"owner": OWNER,
                      "smtp": {"host": "smtp.example.com", "password": "hunter2-in-clear"}})
    [(key, message)] = caught.value.problems
    assert key == "smtp"
    assert message.startswith("never put the password in the config file in clear")
    assert "password_command" in message and "CREDENTIALS_DIRECTORY" in message
    assert "keyring" in message
    assert "hunter2-in-clear" not in repr(caught.value.problems)


def test_security_none_to_a_non_loopback_host_is_refused_by_the_config():
    with pytest.raises(ConfigError) as caught:
        parse_config({"owner": OWNER, "smtp": {"host": "smtp.example.com", "security": "none"}})
    [(key, message)] = caught.value.problems
    assert key == "smtp"
    assert "only allowed to localhost" in message
    for host in ("localhost", "127.0.0.1", "::1"):
        loaded = parse_config({"owner": OWNER, "smtp": {"host": host, "security": "none"}})
        assert loaded.config.smtp.is_loopback


def test_config_defaults_ports_by_security_and_reads_from():
    def load(**section):
        return parse_config({"owner": OWNER, "smtp": {"host": "smtp.example.com", **section}})

    default = load().config.smtp
    assert (default.port, default.security, default.sender, default.timeout_seconds) == (
        587, "starttls", None, 30.0)
    assert load(security="ssl").config.smtp.port == 465
    assert parse_config({"owner": OWNER, "smtp": {"host": "localhost", "security": "none"}}
                        ).config.smtp.port == 25
    assert load(port=2525).config.smtp.port == 2525
    loaded = load(**{"from": "Reports@Example.com"})
    assert loaded.config.smtp.sender == "reports@example.com"
    assert loaded.warnings == ()
    assert parse_config({"owner": OWNER}).config.smtp is None


# --- failures and whether to retry ---------------------------------------------------------


def _no_connection(*args, **kwargs):
    raise AssertionError("send() connected although it should have refused first")


def test_a_closed_port_is_transient():
    config = smtp(_free_port(), security="none")
    with pytest.raises(MailError) as caught:
        send(outgoing(), config, password=None)
    assert caught.value.transient is True
    assert "refused the connection" in str(caught.value)


def test_a_server_that_never_answers_times_out_within_the_timeout():
    with socket.socket() as silent:  # accepts (the kernel's backlog) and never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        config = smtp(silent.getsockname()[1], security="none", timeout_seconds=30)
        started = time.monotonic()
        with pytest.raises(MailError) as caught:
            send(outgoing(), config, password=None, timeout=0.5)
        elapsed = time.monotonic() - started
    assert caught.value.transient is True
    assert "timed out" in str(caught.value)
    assert elapsed < 3


def test_a_5xx_rejection_is_not_transient(serve):
    port, _ = serve(Collector(data_reply="554 rejected"))
    with pytest.raises(MailError) as caught:
        send(outgoing(), smtp(port, security="none"), password=None)
    assert caught.value.transient is False
    assert caught.value.code == 554
    assert "554 rejected" in str(caught.value)


def test_a_4xx_reply_is_transient(serve):
    port, _ = serve(Collector(data_reply="451 try later"))
    with pytest.raises(MailError) as caught:
        send(outgoing(), smtp(port, security="none"), password=None)
    assert caught.value.transient is True
    assert caught.value.code == 451


def test_partial_acceptance_is_sent_and_returns_and_logs_the_refused(serve, caplog):
    ghost = "ghost@example.com"
    port, handler = serve(Collector(refuse={ghost: "550 no such user"}))
    reply = send(outgoing(to=(BOSS, ghost)), smtp(port, security="none"), password=None)
    assert reply == "250 OK queued as TEST1"
    assert reply.refused == {ghost: (550, "550 no such user")}
    assert handler.envelopes[0][1] == [BOSS]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(ghost in w and "550" in w for w in warnings)


@pytest.mark.parametrize(("refusal", "transient"), [("550 no such user", False),
                                                    ("450 mailbox busy", True)])
def test_every_recipient_refused_is_an_error(serve, refusal, transient):
    port, handler = serve(Collector(refuse={BOSS: refusal}))
    with pytest.raises(MailError) as caught:
        send(outgoing(), smtp(port, security="none"), password=None)
    assert caught.value.transient is transient
    assert BOSS in str(caught.value)
    assert handler.envelopes == []


def _injected_compat32() -> EmailMessage:
    message = EmailMessage(policy=email.policy.compat32)
    message["Subject"] = "report\r\nBcc: victim@example.com"
    message.set_payload("x")
    return message


def _injected_raw() -> EmailMessage:
    message = report()
    message.set_raw("X-Note", "fine\nBcc: victim@example.com")
    return message


@pytest.mark.parametrize("build", [_injected_compat32, _injected_raw])
def test_a_header_with_cr_or_lf_is_refused_before_connecting(monkeypatch, build):
    monkeypatch.setattr(socket, "create_connection", _no_connection)
    with pytest.raises(MailError) as caught:
        send(outgoing(build()), smtp(25, security="none"), password=None)
    assert caught.value.transient is False
    assert "line break" in str(caught.value)
