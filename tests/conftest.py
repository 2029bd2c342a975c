from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon.config import Config, parse_config
from daemon.core.model import Attendee, Event, PartStat, Recurrence, Status

BERLIN = ZoneInfo("Europe/Berlin")
OWNER = "me@example.com"
SHARED = Path(__file__).resolve().parents[2] / "shared"

# 127.0.0.1 servers (Radicale, feeds, the Google and Graph emulators, SMTP); a test CA
pytest_plugins = ("caldavserver", "feedserver", "googleserver", "graphserver", "pki",
                  "smtpserver")


def config(people=(), **cadence) -> Config:
    data = {
        "owner": {"email": OWNER, "aliases": ["me@old.example.com"], "timezone": "Europe/Berlin"},
        "people": [dict(p) for p in people],
    }
    if cadence:
        data["cadence"] = cadence
    return parse_config(data).config


def at(text: str, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def person(email: str, partstat: PartStat = PartStat.ACCEPTED, **kw) -> Attendee:
    return Attendee(email=email, partstat=partstat, **kw)


def one_on_one(uid: str, start: datetime, minutes: int = 30, *, other: str = "ada@example.com",
               rrule: str | None = None, exdates=(), recurrence_id: datetime | None = None,
               status: Status = Status.CONFIRMED, other_partstat=PartStat.ACCEPTED,
               owner_partstat=PartStat.ACCEPTED, summary: str = "Ada / me",
               source: str = "test", extra_attendees=()) -> Event:
    return Event(
        source=source,
        uid=uid,
        start=start,
        end=start + timedelta(minutes=minutes),
        summary=summary,
        status=status,
        organizer=Attendee(OWNER, partstat=PartStat.ACCEPTED),
        attendees=(person(OWNER, owner_partstat), person(other, other_partstat),
                   *extra_attendees),
        recurrence=Recurrence(rrules=(rrule,), exdates=tuple(exdates)) if rrule else None,
        recurrence_id=recurrence_id,
    )


@pytest.fixture
def shared_corpus() -> Path:
    folder = SHARED / "ics-corpus" / "recurring-ical-events"
    if not folder.is_dir():
        pytest.skip("../shared/ics-corpus is not present")
    return folder


@pytest.fixture(autouse=True)
def _restore_root_logging():
    """`cadenced` commands install a handler on the root logger; undo it after each test."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _private_xdg(tmp_path_factory, monkeypatch):
    """No test reads or writes the real home: every XDG directory is a temporary one.

    Subprocesses inherit these too. A test that needs its own sets them again.
    """
    base = tmp_path_factory.mktemp("xdg")
    for variable, folder in (("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"),
                             ("XDG_DATA_HOME", "data"), ("XDG_RUNTIME_DIR", "run")):
        monkeypatch.setenv(variable, str(base / folder))
    for variable in ("STATE_DIRECTORY", "RUNTIME_DIRECTORY", "CREDENTIALS_DIRECTORY",
                     "NOTIFY_SOCKET", "WATCHDOG_USEC", "JOURNAL_STREAM"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def demo(tmp_path):
    """The bundled demo's configuration as a dict, its calendar copied into tmp_path."""
    import shutil
    import tomllib
    from importlib import resources

    folder = resources.files("daemon") / "demo"
    shutil.copy(folder / "demo.ics", tmp_path / "demo.ics")
    data = tomllib.loads((folder / "config.toml").read_text())
    data["sources"][0]["url"] = str(tmp_path / "demo.ics")
    return data
