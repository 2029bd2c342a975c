"""The agenda's own types, shared by the document, the stores and the preparation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime


def meeting_key(uid: str, original_start: datetime) -> str:
    """The identity of a meeting across moves: its UID and planned start (UTC)."""
    return f"{uid}|{original_start.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def key_start(key: str) -> datetime | None:
    """The planned start a :func:`meeting_key` names (None for any other text)."""
    try:
        return datetime.strptime(key.rpartition("|")[2], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class Meeting:
    """One 1:1 a section is (or will be) about."""

    key: str  # meeting_key(uid, original_start)
    start: datetime  # actual start, in the owner's zone
    end: datetime
    title: str
    cancelled: bool = False


@dataclass(frozen=True)
class ActionItem:
    """``- [ ] Owner: what (due 2026-12-01)``; owner and due date are optional."""

    done: bool
    text: str  # the "what", without owner and due date
    owner: str | None = None
    due: date | None = None

    @property
    def key(self) -> str:
        """Identity across sections: the text, case and spacing folded."""
        return " ".join(self.text.lower().split())


@dataclass(frozen=True)
class Carried:
    """An open action item brought into a new section."""

    item: ActionItem
    first_seen: date  # the date of the meeting where it first appeared
    carried: int  # how many sections it has been carried into, this one included
    overdue: bool


@dataclass(frozen=True)
class SectionPlan:
    """Everything a new meeting section says, before it is written."""

    meeting: Meeting
    context: str | None  # the cadence line; None when agenda.show_cadence is off
    carried: tuple[Carried, ...]
    theme: str  # trust | clarity | execution | development
    prompts: tuple[str, ...]
