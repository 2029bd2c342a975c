"""The state stays bounded over months of running: every table that grows with
meetings, weeks or series drops what is older than the retention (``KEEP``), or what
no calendar holds any more. Found by bench/soak.py: before, the nudge and report
markers, the series' intervals and the agendas' records grew without end."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from importlib import resources
from pathlib import Path

from click.testing import CliRunner

from connectors.memory import MemoryCalendar
from daemon.cli.main import main
from daemon.config import load_config
from daemon.core.history import KEEP, from_json
from daemon.service.report import report_for, send_report
from daemon.service.sync import Syncer
from daemon.state.store import Store

from conftest import at, config, one_on_one

DEMO = resources.files("daemon") / "demo"
MONDAY = "2026-11-23T08:00+01:00"
LONG_AGO = at("2026-11-23T08:00") - KEEP - timedelta(days=7)
ADA = {"name": "Ada Lovelace", "email": "ada@example.com"}


def _demo_config(tmp_path: Path, port: int, *, report: bool = False) -> Path:
    (tmp_path / "demo.ics").write_bytes((DEMO / "demo.ics").read_bytes())
    text = re.sub(r'(?m)^url = .*$', f'url = "{tmp_path / "demo.ics"}"',
                  (DEMO / "config.toml").read_text())
    text += (f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
             f'from = "cadenced@example.com"\n\n[report]\nenabled = {str(report).lower()}\n')
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def _sync(config_path: Path, now: str = MONDAY) -> None:
    done = CliRunner().invoke(main, ["--config", str(config_path), "sync", "--now", now])
    assert done.exit_code == 0, done.output


def _state() -> Store:
    return Store.open(Path(os.environ["XDG_STATE_HOME"]) / "cadenced")


def test_report_markers_of_weeks_older_than_the_retention_are_dropped(tmp_path, inbox):
    cfg = load_config(_demo_config(tmp_path, inbox.port, report=True)).config
    now = at("2026-11-23T09:00")
    with Store.open(tmp_path / "state") as store:
        old_week = LONG_AGO.isocalendar()
        old = f"{old_week[0]}-W{old_week[1]:02d}"
        store.save_document("reports", old, {"sent_at": LONG_AGO.isoformat()})
        store.save_document("reports", "2026-W40", {"sent_at": "2026-09-28T07:00:00+00:00"})
        result = Syncer(cfg, store).sync(now)
        send_report(report_for(result.scan.analysis, cfg, store, now), cfg, store, now)
        assert sorted(d["key"] for d in store.documents("reports")) == ["2026-W40", "2026-W48"]


def test_nudge_markers_older_than_the_retention_are_dropped(tmp_path, inbox):
    config_path = _demo_config(tmp_path, inbox.port)
    _sync(config_path, "2026-11-16T08:00+01:00")  # the state exists
    with _state() as store:
        store.save_document("nudges", "old|20250601T120000Z",
                            {"sending": LONG_AGO.isoformat(), "person": "jonas@example.com"})
        store.save_document("nudges", "recent|20261110T120000Z",
                            {"sending": "2026-11-10T11:00:00+00:00",
                             "person": "jonas@example.com"})
        store.commit()
    _sync(config_path)
    with _state() as store:
        keys = {d["key"] for d in store.documents("nudges")}
    assert "old|20250601T120000Z" not in keys
    assert "recent|20261110T120000Z" in keys
    assert "jonas-weekly@demo|20261123T130000Z" in keys  # today's nudge, sent and marked


def test_agenda_records_forget_sections_older_than_the_retention(tmp_path, inbox):
    config_path = _demo_config(tmp_path, inbox.port)
    old_key = f"gone-weekly@demo|{LONG_AGO.strftime('%Y%m%dT%H%M%SZ')}"
    recent_key = "left-weekly@demo|20261001T090000Z"
    _sync(config_path, "2026-11-16T08:00+01:00")
    with _state() as store:
        # someone no longer in any calendar, met last long ago: forgotten
        store.save_document("agendas", "gone@example.com",
                            {"carried_into": {old_key: ["an item"]}, "open": []})
        # someone who left recently: kept while the retention lasts
        store.save_document("agendas", "left@example.com",
                            {"carried_into": {recent_key: []}, "open": []})
        # a current person's record loses only its sections older than the retention
        jonas = store.document("agendas", "jonas@example.com") or {"open": []}
        jonas["carried_into"] = {**jonas.get("carried_into", {}), old_key: ["x"]}
        store.save_document("agendas", "jonas@example.com", jonas)
        store.commit()
    _sync(config_path)
    with _state() as store:
        people = {d["key"]: d for d in store.documents("agendas")}
    assert "gone@example.com" not in people
    assert people["left@example.com"]["carried_into"] == {recent_key: []}
    jonas_keys = people["jonas@example.com"]["carried_into"]
    assert old_key not in jonas_keys
    assert "jonas-weekly@demo|20261123T130000Z" in jonas_keys


def test_history_keeps_the_interval_only_of_series_still_seen(tmp_path):
    weekly = one_on_one("ada-weekly", at("2026-01-05T10:00"), rrule="FREQ=WEEKLY;BYDAY=MO")
    other = one_on_one("bob-weekly", at("2026-01-06T10:00"), rrule="FREQ=WEEKLY;BYDAY=TU",
                       other="bob@example.com")
    source = MemoryCalendar("work", [weekly, other])
    now = at("2026-11-20T09:00")
    with Store.open(tmp_path / "state") as store:
        syncer = Syncer(config([ADA]), store, [source])
        syncer.sync(now)
        assert set(from_json(store.document("history", "history")).intervals) == {
            "ada-weekly", "bob-weekly"}
        source.events = (weekly,)  # Bob's series deleted
        syncer.sync(now + timedelta(days=1))
        assert set(from_json(store.document("history", "history")).intervals) == {"ada-weekly"}
        # an in-place edit of a series still seen is still found
        source.events = (one_on_one("ada-weekly", at("2026-01-05T10:00"),
                                    rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"),)
        result = syncer.sync(now + timedelta(days=2))
        assert any(f.kind == "cadence_reduced" for r in result.scan.analysis.relationships
                   for f in r.flags)
