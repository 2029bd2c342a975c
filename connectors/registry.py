"""Builds the configured sources: one typed factory, no plug-ins by string name."""

from __future__ import annotations

from connectors.base import CalendarSource
from connectors.ics.source import IcsCalendar
from daemon.config import Config


def build_sources(config: Config) -> list[CalendarSource]:
    """One :class:`CalendarSource` per ``[[sources]]`` entry, in config order."""
    return [IcsCalendar(source) for source in config.sources]
