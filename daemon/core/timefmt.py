"""Plain words for intervals and days, shared by every output. Pure."""

from __future__ import annotations

from datetime import datetime


def cadence_words(days: float | None) -> str:
    """"weekly", "every 2 weeks", ...; None (nothing says how often): "no series"."""
    if days is None:
        return "no series"
    if abs(days - 7) < 0.01:
        return "weekly"
    if abs(days - 14) < 0.01:
        return "every 2 weeks"
    if abs(days % 7) < 0.01 and days >= 21:
        return f"every {round(days / 7)} weeks"
    if abs(days - 30) < 0.01:
        return "monthly"
    if abs(days - 1) < 0.01:
        return "daily"
    return f"every {days:g} days"


def inferred_words(meetings: int) -> str:
    return f"inferred from {meetings} one-off meetings"


def relationship_cadence(days: float | None, cadence: str, inferred_from: int,
                         unknown: bool = False) -> str:
    """The cadence cell of a relationship: how often, and where that comes from when
    it was inferred from one-offs ("weekly, inferred from 4 one-off meetings").
    When its sources were never read and nothing configured says how often, it is
    "unknown", not "no series": silence of an unread source is not evidence."""
    if days is None and unknown:
        return "unknown"
    words = cadence_words(days)
    return f"{words}, {inferred_words(inferred_from)}" if cadence == "inferred" else words


def days_between(earlier: datetime, later: datetime) -> int:
    """Calendar days from one moment to another, in the zone of ``later``."""
    return (later.date() - earlier.astimezone(later.tzinfo).date()).days
