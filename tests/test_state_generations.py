"""A corrupt state file is never read as a new state: the previous generation
(``state.json.1``) is read instead, with a warning naming both files, status says so,
and a report already sent is never sent again. Both bad: cadenced refuses, saying how
to start afresh. Files and folders found open to other users are made private."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_report_send import MONDAY, _toml, demo_data

from daemon.cli.main import main
from daemon.state.files import tighten
from daemon.state.store import StateError, Store

CORRUPT = {
    "empty": b"",
    "white space": b"  \n\t\n",
    "a list": b"[1,2,3]",
    "a table that is a number": b'{"sources": 5}',
    "a foreign source": b'{"sources": {"1": {"name": "x", "evil": true}}}',
    "not UTF-8": b'{"meta": "\xff\xfe"}',
    "cut off": b'{"meta": {"1": {"key": "schema", "ver',
}


def good_state(directory: Path) -> dict:
    with Store.open(directory) as store:
        store.save_document("reports", "2026-W48", {"sent_at": "2026-11-23T07:00:00+00:00"})
        store.commit()
        store.save_document("agendas", "server", {"secret": "s3cret"})
        store.commit()
    return json.loads((directory / "state.json").read_bytes())


def test_each_replace_keeps_the_file_it_replaces_as_the_previous_generation(tmp_path):
    with Store.open(tmp_path) as store:
        store.save_document("reports", "a", {"n": 1})
        store.commit()
        first = (tmp_path / "state.json").read_bytes()
        assert not (tmp_path / "state.json.1").exists()
        store.save_document("reports", "a", {"n": 2})
        store.commit()
    assert (tmp_path / "state.json.1").read_bytes() == first
    assert stat.S_IMODE((tmp_path / "state.json.1").stat().st_mode) == 0o600


@pytest.mark.parametrize("what", CORRUPT)
def test_a_corrupt_state_falls_back_to_its_previous_generation(tmp_path, caplog, what):
    good = good_state(tmp_path)
    (tmp_path / "state.json.1").write_bytes(json.dumps(good).encode())
    (tmp_path / "state.json").write_bytes(CORRUPT[what])
    with caplog.at_level(logging.WARNING), Store.open(tmp_path) as store:
        assert store.document("agendas", "server")["secret"] == "s3cret"
        assert store.document("reports", "2026-W48") is not None
        assert "state.json.1" in store.recovered["message"]
        store.commit()  # writes a good file again, and keeps the good generation
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert str(tmp_path / "state.json") in warning and str(tmp_path / "state.json.1") in warning
    assert json.loads((tmp_path / "state.json.1").read_bytes()) == good
    with Store.open(tmp_path) as store:  # the new file is good: no fall-back now
        assert store.storage.fallback is None and store.recovered is not None


@pytest.mark.parametrize("what", ["empty", "a list", "not UTF-8"])
def test_both_generations_bad_is_refused_with_the_way_out(tmp_path, what):
    (tmp_path / "state.json").write_bytes(CORRUPT[what])
    (tmp_path / "state.json.1").write_bytes(CORRUPT["cut off"])
    with pytest.raises(StateError) as refused:
        Store.open(tmp_path)
    assert "corrupt too" in refused.value.message
    assert f"mv {tmp_path / 'state.json.1'} " in refused.value.hint
    assert (tmp_path / "state.json").read_bytes() == CORRUPT[what]  # nothing overwritten


def config_file(tmp_path, inbox) -> Path:
    data = demo_data(tmp_path, inbox.port)
    path = tmp_path / "config.toml"
    path.write_text("\n".join(_toml(data)))
    return path


def test_an_emptied_state_never_sends_the_report_twice(tmp_path, inbox):
    config = config_file(tmp_path, inbox)
    send = ["--config", str(config), "report", "--now", MONDAY, "--send"]
    assert CliRunner().invoke(main, send).exit_code == 0
    assert len(inbox.messages) == 1
    state = Path(os.environ["XDG_STATE_HOME"]) / "cadenced" / "state.json"
    state.write_bytes(b"")  # `: > state.json`

    again = CliRunner().invoke(main, send)
    assert "already sent" in again.stderr
    assert len(inbox.messages) == 1
    assert "previous generation" in again.stderr

    status = CliRunner().invoke(main, ["--config", str(config), "status", "--json"])
    assert "state.json.1" in json.loads(status.stdout)["recovered"]["message"]
    table = CliRunner().invoke(main, ["--config", str(config), "status"])
    assert "State recovered: the state file" in " ".join(table.stdout.split())


def test_both_bad_is_one_line_and_exit_1_from_every_command(tmp_path, inbox):
    config = config_file(tmp_path, inbox)
    assert CliRunner().invoke(main, ["--config", str(config), "sync", "--now", MONDAY]
                              ).exit_code == 0
    folder = Path(os.environ["XDG_STATE_HOME"]) / "cadenced"
    (folder / "state.json").write_bytes(b"[1,2,3]")
    (folder / "state.json.1").write_bytes(b"")
    for args in (["sync", "--now", MONDAY], ["status"], ["report", "--send", "--now", MONDAY]):
        done = CliRunner().invoke(main, ["--config", str(config), *args])
        assert done.exit_code == 1, (args, done.output)
        lines = done.stderr.strip().splitlines()
        assert len(lines) <= 2 and "is corrupt" in lines[0] and "internal error" not in done.stderr
        assert "mv " in done.stderr
    assert len(inbox.messages) == 0


def test_a_state_folder_open_to_others_is_made_private_with_a_warning(tmp_path, caplog):
    folder = tmp_path / "state"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    with caplog.at_level(logging.WARNING), Store.open(folder):
        pass
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert any(str(folder) in r.getMessage() and "0755" in r.getMessage()
               for r in caplog.records)


def test_tighten_leaves_private_files_alone_and_never_widens(tmp_path, caplog):
    private = tmp_path / "token.json"
    private.write_text("{}")
    os.chmod(private, 0o400)
    with caplog.at_level(logging.WARNING):
        assert tighten(private, 0o600) is False
    assert stat.S_IMODE(private.stat().st_mode) == 0o400 and not caplog.records
    os.chmod(private, 0o664)
    assert tighten(private, 0o600) is True
    assert stat.S_IMODE(private.stat().st_mode) == 0o600


def test_a_token_file_open_to_others_is_made_0600_when_it_is_read(tmp_path, google, caplog):
    from connectors.google.auth.scopes import READ_SCOPES
    from connectors.google.auth.token import TokenFile

    path = tmp_path / "google" / "work.json"
    path.parent.mkdir()
    path.write_text(json.dumps(google.issue_token(list(READ_SCOPES))))
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING):
        assert TokenFile(path, source="work").credentials().token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert any(str(path) in r.getMessage() and "0644" in r.getMessage() for r in caplog.records)
