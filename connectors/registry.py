"""Builds the configured sources: one typed factory, no plug-ins by string name."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from connectors.base import CalendarSource
from connectors.ics.source import IcsCalendar
from daemon.config import Config


def build_sources(config: Config, *, cache_dir: Path | None = None,
                  checkpoints: Mapping[str, dict[str, str | None]] | None = None,
                  ) -> list[CalendarSource]:
    """One :class:`CalendarSource` per ``[[sources]]`` entry, in config order.

    ``cache_dir`` keeps each source's last good copy; ``checkpoints`` are what
    the sources handed out before a restart (see ``CalendarSource.checkpoint``).
    """
    checkpoints = checkpoints or {}
    if cache_dir is not None:
        cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return [
        IcsCalendar(source, cache_dir=cache_dir,
                    validators=IcsCalendar.validators_from(checkpoints.get(source.name)))
        for source in config.sources
    ]
