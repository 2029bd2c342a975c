"""The service with a Microsoft source: the agendas (Google Docs, made with a Google
source's sign-in) linked into the Outlook invites once, the weekly report, and a dry run
that writes nothing. Both emulators, the real clients."""

from __future__ import annotations

import json
import os
from datetime import UTC

from test_microsoft_sync import ADA, series

from connectors.google.auth.scopes import WRITE_SCOPES
from daemon.config import LoadedConfig, parse_config
from daemon.render.report import render_text
from daemon.service.notify import Notifier
from daemon.service.report import report_for
from daemon.service.runner import Runner
from daemon.state.store import Store

from conftest import OWNER, at
from graphserver import config_data, sign_in

BEFORE_NEXT = at("2026-11-22T12:00")  # within a day of Monday 23 Nov 10:00


def both(google, graph, tmp_path):
    google_token = tmp_path / "google.json"
    google_token.write_text(json.dumps(google.issue_token(list(WRITE_SCOPES))))
    os.chmod(google_token, 0o600)
    ms_token = tmp_path / "ms.json"
    sign_in(graph, ms_token)
    return parse_config({
        "owner": {"email": OWNER, "name": "Me", "timezone": "Europe/Berlin"},
        "people": [{"name": "Ada Lovelace", "email": ADA, "cadence_days": 7}],
        "sources": [config_data(graph, ms_token, name="ms"),
                    {"name": "g", "type": "google", "api_root": google.root,
                     "token_file": str(google_token), "timeout_seconds": 5}],
        "agenda": {"store": "google", "google_source": "g"},
    }).config


def runner_for(config, state, tmp_path):
    loaded = LoadedConfig(config, None, ())
    runner = Runner(loaded, state, notifier=Notifier(None), runtime_dir=tmp_path / "run",
                    reload=lambda: loaded, clock=lambda: BEFORE_NEXT.astimezone(UTC),
                    environ={}, data_dir=tmp_path / "data")
    for source in runner.syncer.sources:
        source.sleep = lambda seconds: None
        if hasattr(source, "clock"):
            source.clock = lambda: BEFORE_NEXT
    return runner


def test_the_service_links_the_agenda_doc_into_the_outlook_series_once(
        google, graph, tmp_path):
    master = series(graph)
    google.calendar("primary")  # the Docs' Google account has an empty calendar
    config = both(google, graph, tmp_path)
    with Store.open(tmp_path / "state") as state:
        runner = runner_for(config, state, tmp_path)
        assert runner.sync_job() is not None
        [doc_id] = list(google.drive.files)
        content = graph.events[master["id"]]["body"]["content"]
        assert content.startswith(master["body"]["content"])
        assert f"https://docs.google.com/document/d/{doc_id}/edit" in content
        assert runner.sync_job() is not None
        assert len([r for r in graph.graph_requests() if r.method == "PATCH"]) == 1
        analysis = runner.syncer.sync(BEFORE_NEXT).scan.analysis
        weekly = report_for(analysis, config, state, BEFORE_NEXT)
        assert "all 1 on track" in weekly.subject and weekly.sources == ()
        assert "on track" in render_text(weekly)


def test_a_dry_run_sync_shows_the_change_and_writes_nothing(google, graph, tmp_path):
    from click.testing import CliRunner

    from daemon.cli.main import main

    master = series(graph)
    google.calendar("primary")  # the Docs' Google account has an empty calendar
    config = both(google, graph, tmp_path)
    off = config.model_copy(update={"sources": (
        config.sources[0].model_copy(update={"write_back": False}), config.sources[1])})
    with Store.open(tmp_path / "state") as state:
        runner_for(off, state, tmp_path).sync_job()  # the Doc exists; no invite written
    assert list(google.drive.files)
    patches = len([r for r in graph.graph_requests() if r.method == "PATCH"])
    lines = ["[owner]", f'email = "{OWNER}"', 'timezone = "Europe/Berlin"']
    for source in config.sources:
        lines += ["[[sources]]"] + [f"{k} = {json.dumps(v)}" for k, v in
                                    source.model_dump(exclude_none=True).items()]
    lines += ["[[people]]", 'name = "Ada Lovelace"', f'email = "{ADA}"',
              "[agenda]", 'store = "google"', 'google_source = "g"',
              # The CLI's source reads around the real clock: a wide window keeps
              # November 2026 in it whenever this runs.
              "[cadence]", "lookback_days = 3650"]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["sync", "--config", str(path), "--dry-run",
                                       "--now", BEFORE_NEXT.isoformat()])
    assert len([r for r in graph.graph_requests() if r.method == "PATCH"]) == patches
    assert graph.events[master["id"]]["body"]["content"] == master["body"]["content"]
    assert result.exit_code == 0, result.output
    assert "body + 1 line" in result.output
