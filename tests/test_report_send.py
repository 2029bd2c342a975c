"""Sending the weekly report through a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import shutil
import tomllib
from datetime import datetime, timedelta
from importlib import resources

import pytest
from click.testing import CliRunner

from connectors.base import MailError
from daemon.cli.main import main
from daemon.config import LoadedConfig, parse_config
from daemon.service.notify import Notifier
from daemon.service.report import is_due, report_for, scheduled_time, send_report, week_key
from daemon.service.runner import Runner
from daemon.service.sync import Syncer
from daemon.state.store import Store

MONDAY = "2026-11-23T08:00:00+01:00"


def demo_data(tmp_path, port, **report):
    demo = resources.files("daemon") / "demo"
    shutil.copy(demo / "demo.ics", tmp_path / "demo.ics")
    data = tomllib.loads((demo / "config.toml").read_text())
    data["sources"][0]["url"] = str(tmp_path / "demo.ics")
    data["smtp"] = {"host": "127.0.0.1", "port": port, "security": "none",
                    "from": "cadenced@example.com", "timeout_seconds": 5}
    data["report"] = {"weekday": "monday", "time": "08:00", **report}
    data["nudge"] = {"agenda_empty_hours": 0}  # these tests count the report's mails only
    return data


def at(text):
    return datetime.fromisoformat(text)


@pytest.fixture
def setup(tmp_path, inbox):
    config = parse_config(demo_data(tmp_path, inbox.port)).config
    with Store.open(tmp_path / "state") as store:
        yield config, store


def sync_and_report(config, store, now):
    result = Syncer(config, store).sync(now)
    return report_for(result.scan.analysis, config, store, now)


def test_report_is_due_from_its_time_until_sent_once_per_week(setup, inbox):
    config, store = setup
    assert scheduled_time(config, at("2026-11-25T12:00+01:00")) == at(MONDAY)
    assert not is_due(config, store, at("2026-11-23T07:59+01:00"))
    assert is_due(config, store, at(MONDAY))
    send_report(sync_and_report(config, store, at(MONDAY)), config, store, at(MONDAY))
    assert not is_due(config, store, at("2026-11-23T08:15+01:00"))
    assert not is_due(config, store, at("2026-11-29T23:59+01:00"))
    assert is_due(config, store, at("2026-11-30T08:00+01:00"))  # the next week


def test_machine_off_at_the_scheduled_time_catches_up_once(setup, inbox):
    config, store = setup
    wednesday = at("2026-11-25T10:00+01:00")
    assert is_due(config, store, wednesday)
    send_report(sync_and_report(config, store, wednesday), config, store, wednesday)
    assert not is_due(config, store, wednesday + timedelta(minutes=15))
    assert len(inbox.messages) == 1


def test_received_report_has_subject_parts_and_headers(setup, inbox):
    config, store = setup
    weekly = sync_and_report(config, store, at(MONDAY))
    sent = send_report(weekly, config, store, at(MONDAY))
    [message] = inbox.messages
    assert message["Subject"] == "1:1s: 4 need attention, 2 on track (week 48)"
    assert message["From"] == "cadenced@example.com"
    assert message["To"] == "maya@example.com"
    assert message["Message-ID"] == sent.message_id
    assert message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    text, html = [part.get_content_type() for part in message.iter_parts()]
    assert (text, html) == ("text/plain", "text/html")
    body = message.get_body(("plain",)).get_content()
    assert "Tom Becker" in body and "needs attention" in body.lower()
    assert "<table" in message.get_body(("html",)).get_content()
    assert store.document("reports", "2026-W48")["sent_at"]


def test_rejected_message_leaves_no_sent_marker_and_waits_a_day(setup, inbox):
    config, store = setup
    inbox.reply = "554 5.7.1 rejected"
    with pytest.raises(MailError) as info:
        send_report(sync_and_report(config, store, at(MONDAY)), config, store, at(MONDAY))
    assert info.value.transient is False
    marker = store.document("reports", "2026-W48")
    assert "sent_at" not in marker and marker["transient"] is False
    assert not is_due(config, store, at(MONDAY) + timedelta(hours=1))
    assert is_due(config, store, at(MONDAY) + timedelta(hours=24))


def test_transient_failure_is_retried_at_the_next_sync(setup, inbox):
    config, store = setup
    inbox.reply = "451 4.3.0 try again later"
    with pytest.raises(MailError) as info:
        send_report(sync_and_report(config, store, at(MONDAY)), config, store, at(MONDAY))
    assert info.value.transient is True
    later = at(MONDAY) + timedelta(minutes=15)
    assert is_due(config, store, later)
    inbox.reply = "250 OK"
    send_report(sync_and_report(config, store, later), config, store, later)
    assert len(inbox.messages) == 1 and not is_due(config, store, later)


def test_crash_between_acceptance_and_marker_sends_again_with_the_same_message_id(
        tmp_path, inbox, monkeypatch):
    config = parse_config(demo_data(tmp_path, inbox.port)).config
    with Store.open(tmp_path / "state") as store:
        weekly = sync_and_report(config, store, at(MONDAY))

        def crash(**_):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(store, "commit", crash)  # the marker never reaches the disk
        with pytest.raises(OSError):
            send_report(weekly, config, store, at(MONDAY))
        assert len(inbox.messages) == 1  # the server had accepted it
    with Store.open(tmp_path / "state") as store:  # the process restarts
        assert "sent_at" not in (store.document("reports", "2026-W48") or {})
        assert is_due(config, store, at(MONDAY) + timedelta(minutes=15))
        send_report(sync_and_report(config, store, at(MONDAY)), config, store, at(MONDAY))
        assert store.document("reports", "2026-W48")["sent_at"]
    first, second = inbox.messages
    assert first["Message-ID"] == second["Message-ID"]  # clients show the repeat once


def test_cli_report_preview_send_and_once_per_week(tmp_path, inbox, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    data = demo_data(tmp_path, inbox.port, recipients=["maya@example.com", "lead@example.com"])
    config_path = tmp_path / "config.toml"
    config_path.write_text("\n".join(_toml(data)))
    runner = CliRunner()
    preview = tmp_path / "report.html"
    done = runner.invoke(main, ["--config", str(config_path), "report", "--now", MONDAY,
                                "--preview", str(preview)])
    assert done.exit_code == 0, done.output
    assert "<table" in preview.read_text() and inbox.messages == []
    done = runner.invoke(main, ["--config", str(config_path), "report", "--now", MONDAY])
    assert "Tom Becker" in done.stdout and "<" not in done.stdout.split("\n")[0]
    done = runner.invoke(main, ["--config", str(config_path), "report", "--now", MONDAY,
                                "--send"])
    assert done.exit_code == 0, done.output
    assert inbox.envelopes[0].rcpt_tos == ["maya@example.com", "lead@example.com"]
    again = runner.invoke(main, ["--config", str(config_path), "report", "--now", MONDAY,
                                 "--send"])
    assert "already sent" in again.stderr and len(inbox.messages) == 1
    forced = runner.invoke(main, ["--config", str(config_path), "report", "--now", MONDAY,
                                  "--send", "--force"])
    assert forced.exit_code == 0 and len(inbox.messages) == 2


def _toml(data):
    """A tiny TOML writer for the test's flat tables."""
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"[{key}]")
            lines += [f"{k} = {_value(v)}" for k, v in value.items()]
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                lines.append(f"[[{key}]]")
                lines += [f"{k} = {_value(v)}" for k, v in item.items()]
    return lines


def _value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_service_sends_when_due_and_not_again(tmp_path, inbox):
    loaded = LoadedConfig(parse_config(demo_data(tmp_path, inbox.port)).config, None, ())
    clock = Clock(at("2026-11-23T07:45+01:00"))
    with Store.open(tmp_path / "state") as store:
        runner = Runner(loaded, store, notifier=Notifier(None), runtime_dir=tmp_path / "run",
                        reload=lambda: loaded, clock=clock, environ={})
        runner.sync_job()
        assert inbox.messages == []  # not yet time
        clock.now = at(MONDAY)
        runner.sync_job()
        clock.now = at(MONDAY) + timedelta(minutes=15)
        runner.sync_job()
        assert len(inbox.messages) == 1
        assert week_key(clock.now) == "2026-W48"


def test_service_keeps_running_when_the_mail_server_is_down(tmp_path, caplog):
    loaded = LoadedConfig(parse_config(demo_data(tmp_path, 9)).config, None, ())  # closed port
    with Store.open(tmp_path / "state") as store:
        runner = Runner(loaded, store, notifier=Notifier(None), runtime_dir=tmp_path / "run",
                        reload=lambda: loaded, clock=Clock(at(MONDAY)), environ={})
        assert runner.sync_job() is not None
        assert "weekly report not sent" in caplog.text and "next sync" in caplog.text


def test_calendar_values_cannot_inject_headers_or_markup(tmp_path, inbox):
    hostile = (resources.files("daemon") / "demo" / "demo.ics").read_bytes().replace(
        b"SUMMARY:1:1 Jonas\r\n", b"SUMMARY:<script>alert(1)</script>\"><img src=x onerror=1>\r\n"
    ).replace(b"CN=Priya Raman", b'CN="Priya\\r\\nBcc: evil@example.com <b>"')
    data = demo_data(tmp_path, inbox.port)
    (tmp_path / "demo.ics").write_bytes(hostile)
    del data["people"][0]  # Priya's name now comes from the calendar
    config = parse_config(data).config
    with Store.open(tmp_path / "state") as store:
        send_report(sync_and_report(config, store, at(MONDAY)), config, store, at(MONDAY))
    [message] = inbox.messages
    assert inbox.envelopes[0].rcpt_tos == ["maya@example.com"]
    assert "Bcc" not in message
    html = message.get_body(("html",)).get_content()
    assert "<script" not in html and "onerror=1>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_report_preview_works_while_the_service_holds_the_state(tmp_path, inbox, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    config_path = tmp_path / "config.toml"
    config_path.write_text("\n".join(_toml(demo_data(tmp_path, inbox.port))))
    runner = CliRunner()
    with Store.open(tmp_path / "xdg" / "cadenced"):  # the service
        shown = runner.invoke(main, ["--config", str(config_path), "report", "--now", MONDAY])
        assert shown.exit_code == 0, shown.output
        assert "Tom Becker" in shown.stdout
        refused = runner.invoke(main, ["--config", str(config_path), "report", "--now", MONDAY,
                                       "--send"])
        assert refused.exit_code == 1 and "another cadenced" in refused.stderr
    assert inbox.messages == []
