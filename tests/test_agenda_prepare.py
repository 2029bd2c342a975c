"""Preparing agendas from the analysis: sections before each 1:1, never clobbering."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from daemon.cli.main import main
from daemon.config import LoadedConfig, parse_config
from daemon.service.agendas import overdue_items, prepare
from daemon.service.notify import Notifier
from daemon.service.runner import Runner
from daemon.service.sync import Syncer
from daemon.state.agendas import LocalAgendaStore
from daemon.state.store import Store

SUNDAY = "2026-11-22T15:00:00+01:00"  # Jonas's 1:1 is Monday 14:00, Priya's Tuesday 10:00


def at(text):
    return datetime.fromisoformat(text)


@pytest.fixture
def demo(demo, tmp_path):
    demo["agenda"] = {"dir": str(tmp_path / "agendas")}
    return demo


def run_cycle(config, state, agendas, now):
    done = []
    Syncer(config, state).sync(now, steps=[
        lambda analysis, moment: done.extend(prepare(analysis, config, agendas, state, moment))])
    return done


def test_sections_are_added_within_lead_hours_and_only_once(tmp_path, demo):
    config = parse_config(demo).config
    agendas = LocalAgendaStore(tmp_path / "agendas")
    with Store.open(tmp_path / "state") as state:
        done = run_cycle(config, state, agendas, at(SUNDAY))
        assert [(p.person, len(p.added)) for p in done if p.added] == [("jonas@example.com", 1)]
        text = agendas.read("jonas@example.com").text
        assert "## Mon 23 Nov 2026 · 14:00–14:45 (45 min)" in text
        assert "_Last held 6 days ago" in text
        again = run_cycle(config, state, agendas, at(SUNDAY) + timedelta(minutes=15))
        assert not any(p.added for p in again)
        assert agendas.read("jonas@example.com").text == text
        later = run_cycle(config, state, agendas, at("2026-11-23T11:00+01:00"))
        assert [p.person for p in later if p.added] == ["priya@example.com"]


def test_a_section_a_human_deleted_is_not_brought_back(tmp_path, demo):
    config = parse_config(demo).config
    agendas = LocalAgendaStore(tmp_path / "agendas")
    with Store.open(tmp_path / "state") as state:
        run_cycle(config, state, agendas, at(SUNDAY))
        current = agendas.read("jonas@example.com")
        cut = current.text[:current.text.index("## Mon 23 Nov")]
        agendas.write("jonas@example.com", cut, expected=current.version)
        run_cycle(config, state, agendas, at(SUNDAY) + timedelta(minutes=15))
        assert agendas.read("jonas@example.com").text == cut


def test_moved_and_cancelled_meetings_update_only_their_heading(tmp_path, demo):
    config = parse_config(demo).config
    agendas = LocalAgendaStore(tmp_path / "agendas")
    feed = tmp_path / "demo.ics"
    original = feed.read_bytes()
    with Store.open(tmp_path / "state") as state:
        run_cycle(config, state, agendas, at(SUNDAY))
        before = agendas.read("jonas@example.com").text
        moved = original.replace(b"END:VCALENDAR", (
            b"BEGIN:VEVENT\r\nUID:jonas-weekly@demo\r\nDTSTAMP:20261119T120000Z\r\n"
            b"RECURRENCE-ID;TZID=Europe/Berlin:20261123T140000\r\n"
            b"DTSTART;TZID=Europe/Berlin:20261123T160000\r\n"
            b"DTEND;TZID=Europe/Berlin:20261123T163000\r\nSUMMARY:1:1 Jonas\r\n"
            b"ORGANIZER;CN=Maya Chen:mailto:maya@example.com\r\n"
            b"ATTENDEE;PARTSTAT=ACCEPTED:mailto:maya@example.com\r\n"
            b"ATTENDEE;PARTSTAT=ACCEPTED:mailto:jonas@example.com\r\n"
            b"END:VEVENT\r\nEND:VCALENDAR"))
        feed.write_bytes(moved)
        run_cycle(config, state, agendas, at(SUNDAY) + timedelta(hours=1))
        after = agendas.read("jonas@example.com").text
        assert "## Mon 23 Nov 2026 · 16:00–16:30 (30 min)" in after
        assert after.replace("16:00–16:30 (30 min)", "14:00–14:45 (45 min)") == before
        feed.write_bytes(moved.replace(  # only the override: the series goes on
            b"DTEND;TZID=Europe/Berlin:20261123T163000\r\n",
            b"DTEND;TZID=Europe/Berlin:20261123T163000\r\nSTATUS:CANCELLED\r\n"))
        run_cycle(config, state, agendas, at(SUNDAY) + timedelta(hours=2))
        cancelled = agendas.read("jonas@example.com").text
        assert "(30 min) — cancelled" in cancelled
        assert "### Prompts" in cancelled  # marked, not deleted


def test_a_human_edit_during_the_write_is_kept(tmp_path, demo):
    config = parse_config(demo).config

    class EditingStore(LocalAgendaStore):
        edited = False

        def write(self, person, text, *, expected):
            if not self.edited and self.read(person) is not None:
                self.edited = True  # the report saves a note just before cadenced writes
                current = self.read(person)
                super().write(person, current.text + "\nA note typed meanwhile.\n",
                              expected=current.version)
            return super().write(person, text, expected=expected)

    agendas = EditingStore(tmp_path / "agendas")
    with Store.open(tmp_path / "state") as state:
        run_cycle(config, state, agendas, at(SUNDAY))
        run_cycle(config, state, agendas, at("2026-11-29T15:00+01:00"))
    text = agendas.read("jonas@example.com").text
    assert "A note typed meanwhile." in text
    assert text.count("## Mon 30 Nov 2026") == 1 and text.count("## Mon 23 Nov 2026") == 1


def test_overdue_action_items_reach_the_state_and_the_report(tmp_path, demo):
    config = parse_config(demo).config
    agendas = LocalAgendaStore(tmp_path / "agendas")
    with Store.open(tmp_path / "state") as state:
        run_cycle(config, state, agendas, at(SUNDAY))
        current = agendas.read("jonas@example.com")
        edited = current.text.replace(
            "### Action items\n", "### Action items\n- [ ] Jonas: write the proposal "
            "(due 2026-11-25)\n- [x] Maya: book the room\n", 1)
        agendas.write("jonas@example.com", edited, expected=current.version)
        run_cycle(config, state, agendas, at("2026-11-29T15:00+01:00"))
        overdue = overdue_items(state, at("2026-11-29T15:00+01:00").date())
        assert [(c.item.owner, c.item.text) for c in overdue["jonas@example.com"]] == [
            ("Jonas", "write the proposal")]
        text = agendas.read("jonas@example.com").text
        assert "- [ ] Jonas: write the proposal (due 2026-11-25)" in text.split("## Mon 23")[0]
        assert "book the room" not in text.split("## Mon 23")[0]


def test_cli_agenda_prints_without_writing_then_writes(tmp_path, demo, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = tmp_path / "config.toml"
    path.write_text(f'''[owner]
email = "maya@example.com"
name = "Maya Chen"
timezone = "Europe/Berlin"
[[sources]]
name = "demo"
url = "{tmp_path / 'demo.ics'}"
''')
    runner = CliRunner()
    shown = runner.invoke(main, ["--config", str(path), "agenda", "--now", SUNDAY, "--print"])
    assert shown.exit_code == 0, shown.output
    assert "## Mon 23 Nov 2026" in shown.stdout
    assert not (tmp_path / "data").exists()
    done = runner.invoke(main, ["--config", str(path), "agenda", "--now", SUNDAY])
    assert done.exit_code == 0, done.output
    written = tmp_path / "data" / "cadenced" / "agendas" / "jonas@example.com.md"
    assert written.exists() and "1 section(s) added" in done.stdout
    again = runner.invoke(main, ["--config", str(path), "agenda", "--now", SUNDAY])
    assert "nothing due" in again.stderr


def test_service_serves_the_agendas_and_the_overlay_feed(tmp_path, demo):
    demo["server"] = {"enabled": True, "port": 0}
    loaded = LoadedConfig(parse_config(demo).config, None, ())
    with Store.open(tmp_path / "state") as state:
        runner = Runner(loaded, state, notifier=Notifier(None), runtime_dir=tmp_path / "run",
                        reload=lambda: loaded, clock=lambda: at(SUNDAY), environ={},
                        data_dir=tmp_path / "data")
        runner.start_server()
        try:
            runner.sync_job()
            base = runner.server.base_url
            page = urllib.request.urlopen(f"{base}/agenda/jonas@example.com", timeout=5).read()
            assert b"Mon 23 Nov 2026" in page and b"cadenced:meeting" not in page
            feed = urllib.request.urlopen(f"{base}/calendar.ics", timeout=5).read()
            events = Calendar.from_ical(feed).walk("VEVENT")
            jonas = [e for e in events if "Jonas" in str(e.get("DESCRIPTION"))]
            assert jonas and str(jonas[0]["URL"]).startswith(base + "/agenda/jonas")
            runtime = json.loads((tmp_path / "run" / "runtime.json").read_text())
            assert runtime["server"] == base
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(base.rsplit("/", 1)[0] + "/wrong/calendar.ics", timeout=5)
        finally:
            runner.stop()
