"""The typed sections of the configuration (pydantic models): ``[owner]``,
``[[people]]``, ``[cadence]``, ``[smtp]``, ``[report]``, ``[agenda]``, ``[server]``,
``[sync]``, ``[nudge]``, ``[suggest]``, and :class:`Config` that holds them; the
``[[sources]]`` models live in :mod:`daemon.config.sources`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from daemon.config.common import _email, _Section, is_loopback_host, system_timezone_name
from daemon.config.sources import GoogleSource, Source


class Owner(_Section):
    email: str
    name: str | None = None
    aliases: tuple[str, ...] = ()
    timezone: str = Field(default_factory=system_timezone_name)

    _norm_email = field_validator("email")(classmethod(lambda cls, v: _email(v)))

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_email(v) for v in values)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as 'Europe/Berlin'"
            ) from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def addresses(self) -> frozenset[str]:
        """Every address that is the owner: email and aliases, lowercase."""
        return frozenset((self.email, *self.aliases))


_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock(value: str | None) -> str | None:
    if value is not None and not _CLOCK.match(value):
        raise ValueError(f"{value!r} is not a time of day: write it as HH:MM, e.g. \"09:00\"")
    return value


def _known_zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}: use an IANA name such as 'Europe/Berlin'"
        ) from None
    return value


class Person(_Section):
    name: str = Field(min_length=1)
    email: str
    aliases: tuple[str, ...] = ()
    cadence_days: float | None = Field(default=None, ge=0, le=366)  # 0: none expected
    # Their own working day, for make-up slots (default: the [suggest] hours, owner's zone).
    timezone: str | None = None
    day_start: str | None = None
    day_end: str | None = None

    _norm_email = field_validator("email")(classmethod(lambda cls, v: _email(v)))
    _norm_zone = field_validator("timezone")(classmethod(lambda cls, v: _known_zone(v)))
    _norm_clock = field_validator("day_start", "day_end")(classmethod(lambda cls, v: _clock(v)))

    @property
    def alias_emails(self) -> tuple[str, ...]:
        """Aliases that are email addresses (other accounts of the same person)."""
        return tuple(a.lower() for a in self.aliases if "@" in a)

    @property
    def alias_names(self) -> tuple[str, ...]:
        """Aliases that are names, matched in titles like the person's name."""
        return tuple(a for a in self.aliases if "@" not in a)


class Cadence(_Section):
    lookback_days: int = Field(default=90, ge=1, le=3650)
    lookahead_days: int = Field(default=14, ge=0, le=365)
    shortened_minutes: int = Field(default=5, ge=1, le=600)
    missed_factor: float = Field(default=1.5, ge=1.0, le=10.0)


_SMTP_DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


class Smtp(_Section):
    """``[smtp]``: the user's own mail server, for the weekly report.

    ``port`` is always set after validation (587 for starttls, 465 for ssl, 25 for
    none). ``sender`` is the TOML key ``from``; None means the owner's address (the
    caller resolves it). The password is never in the file: see
    :func:`connectors.smtp.credentials.resolve_password`.
    """

    model_config = ConfigDict(
        extra="allow", frozen=True, str_strip_whitespace=True, populate_by_name=True
    )

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    sender: str | None = Field(default=None, alias="from")
    username: str | None = Field(default=None, min_length=1)
    password_command: str | None = Field(default=None, min_length=1)
    ca_file: str | None = Field(default=None, min_length=1)
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    @model_validator(mode="before")
    @classmethod
    def _no_password_and_default_port(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "password" in data:
            raise ValueError(
                "never put the password in the config file in clear: use password_command, "
                "$CREDENTIALS_DIRECTORY/smtp-password (systemd LoadCredential=) or the keyring"
            )
        if data.get("port") is None:
            security = data.get("security", "starttls")
            default = _SMTP_DEFAULT_PORTS.get(security) if isinstance(security, str) else None
            data = {**data, "port": default or 587}
        return data

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if value.startswith("[") and value.endswith("]"):
            value = value[1:-1]  # [::1]
        name, colon, port = value.rpartition(":")
        if (
            "://" in value
            or any(c.isspace() or c in "/@[]" for c in value)
            or (colon and port.isdigit() and ":" not in name)
        ):
            raise ValueError(
                f"{value!r} is not a host name: write only the name, e.g. "
                "'smtp.example.com' (the port goes in smtp.port)"
            )
        return value

    _norm_sender = field_validator("sender")(
        classmethod(lambda cls, v: None if v is None else _email(v))
    )

    @field_validator("password_command")
    @classmethod
    def _command(cls, value: str | None) -> str | None:
        import shlex

        if value is not None:
            try:
                argv = shlex.split(value)
            except ValueError as exc:
                raise ValueError(f"password_command cannot be split into words: {exc}") from None
            if not argv:
                raise ValueError("password_command is empty")
        return value

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, value: str | None) -> str | None:
        return None if value is None else str(Path(value).expanduser())

    @model_validator(mode="after")
    def _plain_only_on_loopback(self) -> Smtp:
        if self.security == "none" and not self.is_loopback:
            raise ValueError(
                f'security = "none" sends mail (and any password) unencrypted: it is only '
                f"allowed to localhost, 127.0.0.1 or ::1, not {self.host!r}; "
                'use "starttls" or "ssl"'
            )
        return self

    @property
    def is_loopback(self) -> bool:
        """Whether ``host`` is this machine (localhost, 127.0.0.0/8, ::1)."""
        return is_loopback_host(self.host)


class WeeklyReport(_Section):
    """``[report]``: the weekly cadence-health email."""

    enabled: bool = True
    recipients: tuple[str, ...] = ()  # empty: the owner
    weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                     "sunday"] = "monday"
    time: str = "08:00"

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_email(v) for v in values)

    @field_validator("weekday", mode="before")
    @classmethod
    def _weekday(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
        if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            raise ValueError(f"{value!r} is not a time of day such as '08:00'")
        return f"{int(match.group(1)):02d}:{match.group(2)}"


class Agenda(_Section):
    """``[agenda]``: the living 1:1 documents."""

    enabled: bool = True
    store: Literal["local", "google"] = "local"
    dir: str | None = None  # default: agendas/ under the data directory (resolved by the caller)
    google_source: str | None = None  # store = "google": whose sign-in creates the Docs
    share: bool = True  # store = "google": share each Doc with the person, as writer
    notify: bool = False  # store = "google": let Google email the person when sharing
    lead_hours: float = Field(default=24, gt=0, le=24 * 14)
    show_cadence: bool = True


class Server(_Section):
    """``[server]``: the local HTTP server for agendas and the overlay feed."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)


class Sync(_Section):
    interval_minutes: int = Field(default=15, ge=1, le=1440)
    jitter_seconds: int = Field(default=60, ge=0, le=3600)


class Nudge(_Section):
    """``[nudge]``: a word to the owner before a 1:1 whose agenda is still empty."""

    agenda_empty_hours: float = Field(default=24, ge=0, le=168)  # 0: never
    notify_command: tuple[str, ...] = ()  # e.g. ["notify-send"]: title and text appended


class Suggest(_Section):
    """``[suggest]``: where make-up slots may go."""

    horizon_days: int = Field(default=5, ge=1, le=30)  # working days ahead
    working_days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = (
        "mon", "tue", "wed", "thu", "fri")
    day_start: str = "09:00"
    day_end: str = "17:30"
    buffer_minutes: int = Field(default=10, ge=0, le=120)
    free_busy: bool = True  # ask Google's free/busy when the other person is busy

    _norm_clock = field_validator("day_start", "day_end")(classmethod(lambda cls, v: _clock(v)))

    @model_validator(mode="after")
    def _order(self) -> Suggest:
        if self.day_start >= self.day_end:
            raise ValueError(f"day_start {self.day_start} must come before day_end "
                             f"{self.day_end}")
        return self


class Config(_Section):
    owner: Owner
    sources: tuple[Source, ...] = ()
    people: tuple[Person, ...] = ()
    cadence: Cadence = Field(default_factory=Cadence)
    sync: Sync = Field(default_factory=Sync)
    smtp: Smtp | None = None
    report: WeeklyReport = Field(default_factory=WeeklyReport)
    agenda: Agenda = Field(default_factory=Agenda)
    server: Server = Field(default_factory=Server)
    suggest: Suggest = Field(default_factory=Suggest)
    nudge: Nudge = Field(default_factory=Nudge)

    @model_validator(mode="after")
    def _unique(self) -> Config:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique; repeated: {', '.join(dupes)}")
        google = [s.name for s in self.sources if isinstance(s, GoogleSource)]
        if self.agenda.store == "google":
            if self.agenda.google_source is None and not google:
                raise ValueError('agenda.store = "google" needs a source with type = "google"')
            if self.agenda.google_source is not None and self.agenda.google_source not in google:
                raise ValueError(f"agenda.google_source {self.agenda.google_source!r} is not "
                                 'the name of a source with type = "google"')
        seen: dict[str, str] = {}
        for person in self.people:
            for address in (person.email, *person.alias_emails):
                if address in seen and seen[address] != person.name:
                    raise ValueError(
                        f"{address} belongs to both {seen[address]!r} and {person.name!r}"
                    )
                if address in self.owner.addresses:
                    raise ValueError(f"{address} is the owner's address, not a person's")
                seen[address] = person.name
        return self
