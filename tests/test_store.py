"""The state store: atomic, one write per cycle, locked, versioned, private."""

from __future__ import annotations

import json
import os
import stat

import pytest

from daemon.state.store import SCHEMA_VERSION, SourceState, StateError, Store


def test_state_is_private_and_written_once_per_commit(tmp_path):
    with Store.open(tmp_path / "state") as store:
        store.save_source(SourceState("work", checkpoint={"etag": '"v1"'}))
        store.save_document("history", "history", {"a": 1})
        assert store.storage.commits == 0  # nothing reaches the disk before commit
        assert store.commit() is True
        assert store.storage.commits == 1
    folder = tmp_path / "state"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "state.json").stat().st_mode) == 0o600
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_unchanged_state_is_not_written(tmp_path):
    with Store.open(tmp_path) as store:
        store.save_source(SourceState("work"))
        store.commit()
        before = (tmp_path / "state.json").stat().st_mtime_ns
        store.save_source(SourceState("work"))  # the same values again
        store.save_document("people", "x", {"n": 1})
        store.commit()
        store.save_document("people", "x", {"n": 1})
        assert store.commit() is False
        assert store.storage.commits == 2
    assert (tmp_path / "state.json").stat().st_mtime_ns >= before


def test_state_survives_reopen(tmp_path):
    with Store.open(tmp_path) as store:
        store.save_source(SourceState("work", error="HTTP 500", failing_since="2026-11-20"))
        store.commit()
    with Store.open(tmp_path) as store:
        assert store.source("work").error == "HTTP 500"
        assert store.source("other") == SourceState("other")


def test_rollback_forgets_uncommitted_changes(tmp_path):
    with Store.open(tmp_path) as store:
        store.save_source(SourceState("work", error="kept"))
        store.commit()
        store.save_source(SourceState("work", error="dropped"))
        store.rollback()
        assert store.source("work").error == "kept"
        assert store.commit() is False


def test_second_process_on_the_same_state_is_refused(tmp_path):
    with Store.open(tmp_path), pytest.raises(StateError) as info:
        Store.open(tmp_path)
    assert f"another cadenced (pid {os.getpid()})" in info.value.message
    assert "systemctl --user stop cadenced" in info.value.hint
    with Store.open(tmp_path):  # released on close
        pass


def test_readers_do_not_take_the_lock(tmp_path):
    with Store.open(tmp_path), Store.open(tmp_path, lock=False) as reader:
        assert reader.sources() == []


def test_state_from_a_newer_version_is_refused(tmp_path):
    (tmp_path / "state.json").write_text(json.dumps(
        {"meta": {"1": {"key": "schema", "version": SCHEMA_VERSION + 1}}}))
    with pytest.raises(StateError, match="newer cadenced"):
        Store.open(tmp_path)


def test_corrupt_state_names_the_file_and_the_way_out(tmp_path):
    (tmp_path / "state.json").write_text('{"meta": ')
    with pytest.raises(StateError) as info:
        Store.open(tmp_path)
    assert str(tmp_path / "state.json") in info.value.message
    assert f"mv {tmp_path / 'state.json'} " in info.value.hint


def test_older_schema_is_migrated(tmp_path, monkeypatch):
    from daemon.state import store as store_module

    (tmp_path / "state.json").write_text(json.dumps(
        {"meta": {"1": {"key": "schema", "version": 0}}, "old": {"1": {"x": 1}}}))

    def rename(document):
        document["sources"] = document.pop("old")
        return document

    monkeypatch.setitem(store_module.MIGRATIONS, 0, rename)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 1)
    with Store.open(tmp_path) as store:
        assert store.db.table("sources").all() == [{"x": 1}]
        assert store.document("meta", "schema")["version"] == 1
