"""Nudges before an empty 1:1: one mail to the owner (a real aiosmtpd server) per
meeting whose agenda has no topic yet, never twice, not when a topic is there."""

from __future__ import annotations

import os
import re
import stat
from importlib import resources
from pathlib import Path

from click.testing import CliRunner

from daemon.cli.main import main
from daemon.state.store import Store

DEMO = resources.files("daemon") / "demo"
MONDAY = "2026-11-23T08:00+01:00"  # Jonas's weekly 1:1 is at 14:00
JONAS_KEY = "jonas-weekly@demo|20261123T130000Z"


def config_file(tmp_path: Path, port: int, extra: str = "") -> Path:
    (tmp_path / "demo.ics").write_bytes((DEMO / "demo.ics").read_bytes())
    text = re.sub(r'(?m)^url = .*$', f'url = "{tmp_path / "demo.ics"}"',
                  (DEMO / "config.toml").read_text())
    text += (f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
             f'from = "cadenced@example.com"\n\n[report]\nenabled = false\n{extra}')
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def sync(config: Path, now: str = MONDAY):
    done = CliRunner().invoke(main, ["--config", str(config), "sync", "--now", now])
    assert done.exit_code == 0, done.output
    return done


def agenda_file(person: str) -> Path:
    return Path(os.environ["XDG_DATA_HOME"]) / "cadenced" / "agendas" / f"{person}.md"


def state_dir() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "cadenced"


def test_an_empty_agenda_gets_one_nudge_and_only_one(tmp_path, inbox):
    config = config_file(tmp_path, inbox.port)
    sync(config)
    nudges = [m for m in inbox.messages if "has no topics yet" in m["Subject"]]
    assert [m["Subject"] for m in nudges] == ["Your 1:1 with Jonas Mon 14:00 has no topics yet"]
    [nudge] = nudges
    assert nudge["To"] == "maya@example.com" and nudge["Auto-Submitted"] == "auto-generated"
    assert str(agenda_file("jonas@example.com")) in nudge.get_content()
    sync(config, "2026-11-23T08:15+01:00")
    sync(config, "2026-11-23T12:00+01:00")
    assert len([m for m in inbox.messages if "Jonas" in m["Subject"]]) == 1


def test_a_topic_on_the_agenda_means_no_nudge(tmp_path, inbox):
    config = config_file(tmp_path, inbox.port, "\n[nudge]\nagenda_empty_hours = 1\n")
    sync(config)  # prepares the section; the 1:1 is 6 hours away: no nudge yet
    assert not [m for m in inbox.messages if "Jonas" in m["Subject"]]
    path = agenda_file("jonas@example.com")
    text = path.read_text()
    assert "### Topics\n" in text
    path.write_text(text.replace("### Topics\n", "### Topics\n- the promotion case\n", 1))
    sync(config, "2026-11-23T13:30+01:00")
    assert not [m for m in inbox.messages if "Jonas" in m["Subject"]]


def test_a_nudge_interrupted_by_a_crash_is_not_sent_again(tmp_path, inbox):
    config = config_file(tmp_path, inbox.port, "\n[nudge]\nagenda_empty_hours = 1\n")
    sync(config)
    with Store.open(state_dir()) as store:  # what a crash right before the send leaves
        store.save_document("nudges", JONAS_KEY, {"sending": "2026-11-23T12:30:00+00:00",
                                                  "person": "jonas@example.com"})
        store.commit()
    sync(config, "2026-11-23T13:30+01:00")
    assert not [m for m in inbox.messages if "Jonas" in m["Subject"]]


def test_notify_command_gets_the_title_and_the_text(tmp_path, inbox):
    out = tmp_path / "notified.txt"
    script = tmp_path / "notify"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{out}"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    config = config_file(tmp_path, inbox.port,
                         f'\n[nudge]\nnotify_command = ["{script}"]\n')
    sync(config)
    title, *text = out.read_text().splitlines()
    assert title == "Your 1:1 with Jonas Mon 14:00 has no topics yet"
    assert "still empty" in " ".join(text)


def test_the_nudge_lists_the_overdue_action_items_of_that_person(tmp_path, inbox):
    config = config_file(tmp_path, inbox.port, "\n[nudge]\nagenda_empty_hours = 1\n")
    sync(config)
    path = agenda_file("jonas@example.com")
    path.write_text(path.read_text() + (
        "## Mon 16 Nov 2026 · 14:00–14:45 (45 min)\n"
        "<!-- cadenced:meeting key=jonas-weekly@demo|20261116T130000Z -->\n\n"
        "### Action items\n- [ ] Maya: send the offer letter (due 2026-11-18)\n"
        "- [ ] Jonas: draft the design doc (due 2026-12-20)\n"
        "- [x] Maya: book the room (due 2026-11-17)\n"))
    sync(config, "2026-11-23T13:30+01:00")
    [nudge] = [m for m in inbox.messages if "Jonas" in m["Subject"]]
    body = nudge.get_content().replace("\r\n", "\n")
    assert "Overdue from earlier 1:1s:\n- Maya: send the offer letter (due 18 Nov)" in body
    assert "design doc" not in body  # not due yet
    assert "book the room" not in body  # done
