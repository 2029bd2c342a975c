"""Builds the configured connectors: one typed factory, no plug-ins by string name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from connectors.base import CalendarSource, Mailer
from daemon.config import CaldavSource, Config, GoogleSource, IcsSource, MicrosoftSource, Smtp


def build_sources(config: Config, *, cache_dir: Path | None = None,
                  checkpoints: Mapping[str, dict[str, str | None]] | None = None,
                  state_dir: Path | None = None, read_only: bool = False
                  ) -> list[CalendarSource]:
    """One :class:`CalendarSource` per ``[[sources]]`` entry, in config order.

    ``cache_dir`` keeps each source's last good copy; ``checkpoints`` are what
    the sources handed out before a restart (see ``CalendarSource.checkpoint``);
    ``state_dir`` holds Google sign-ins whose token_file is not configured.
    ``read_only`` (a dry run): the kept copies are read, never created or written.
    """
    from connectors.ics.source import IcsCalendar

    checkpoints = checkpoints or {}
    if cache_dir is not None and not read_only:
        cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    sources: list[CalendarSource] = []
    for source in config.sources:
        if isinstance(source, IcsSource):
            sources.append(IcsCalendar(
                source, cache_dir=cache_dir, persist=not read_only,
                validators=IcsCalendar.validators_from(checkpoints.get(source.name))))
        elif isinstance(source, CaldavSource):
            sources.append(_caldav(source, config, cache_dir=cache_dir, persist=not read_only))
        elif isinstance(source, MicrosoftSource):
            sources.append(_microsoft(config, source, cache_dir=cache_dir,
                                      state_dir=state_dir, persist=not read_only))
        else:
            sources.append(_google(source, cache_dir=cache_dir, state_dir=state_dir,
                                   persist=not read_only))
    return sources


# --- Microsoft 365 (Graph) -----------------------------------------------------------

def _microsoft(config: Config, source: MicrosoftSource, *, cache_dir: Path | None,
               state_dir: Path | None, persist: bool) -> CalendarSource:
    from connectors.microsoft.calendar import MicrosoftCalendar
    from connectors.microsoft.token import TokenFile, token_path
    from daemon.state import paths

    token = TokenFile(token_path(source, state_dir or paths.state_dir()), source=source)
    return MicrosoftCalendar(source, token=token, lookback_days=config.cadence.lookback_days,
                             lookahead_days=config.cadence.lookahead_days,
                             cache_dir=cache_dir, persist=persist)


def _google(source: GoogleSource, *, cache_dir: Path | None, state_dir: Path | None,
            persist: bool) -> CalendarSource:
    from connectors.google.auth.token import TokenFile, token_path
    from connectors.google.calendar import GoogleCalendar
    from daemon.state import paths

    token = TokenFile(token_path(source, state_dir or paths.state_dir()), source=source.name,
                      timeout=source.timeout_seconds)
    return GoogleCalendar(source, token=token, cache_dir=cache_dir, persist=persist)


def _caldav(source: CaldavSource, config: Config, *, cache_dir: Path | None,
            persist: bool) -> CalendarSource:
    from connectors.caldav.source import CaldavCalendar

    return CaldavCalendar(source, cache_dir=cache_dir, persist=persist,
                          owner=config.owner.addresses)


def build_agenda_store(config: Config, sources: Sequence[Any], data_dir: Path) -> Any:
    """The ``[agenda] store``: local Markdown files, or Google Docs made with the
    sign-in of ``agenda.google_source`` (the first Google source by default)."""
    from daemon.state.agendas import local_store

    if config.agenda.store == "local":
        return local_store(config, data_dir)
    from connectors.google.docs.store import GoogleDocsAgendaStore

    name = config.agenda.google_source or next(
        s.name for s in config.sources if isinstance(s, GoogleSource))
    calendar = next(s for s in sources if s.name == name)
    return GoogleDocsAgendaStore(
        calendar.docs_services, source=name,
        owner_name=config.owner.name or config.owner.email,
        share=config.agenda.share, notify=config.agenda.notify)


def build_mailer(smtp: Smtp) -> Mailer:
    """The ``[smtp]`` section as the :class:`~connectors.base.Mailer` that sends the report."""
    from connectors.smtp.client import SmtpMailer

    return SmtpMailer(smtp)
