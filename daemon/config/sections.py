"""The typed sections of the configuration (pydantic models): ``[owner]``,
``[[sources]]``, ``[[people]]``, ``[cadence]``, ``[smtp]``, ``[report]``, ``[agenda]``,
``[server]``, ``[sync]``, and :class:`Config` that holds them."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def _email(value: str) -> str:
    value = value.strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value.lower()


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` names this machine: localhost, 127.0.0.0/8 or ::1."""
    host = host.strip().lower().strip("[]")
    if host in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def system_timezone_name() -> str:
    """The host's IANA zone name, or "UTC" when it cannot be told."""
    try:
        import tzlocal

        name = tzlocal.get_localzone_name()
    except Exception:  # noqa: BLE001 - tzlocal raises several kinds; any means "unknown"
        return "UTC"
    return name or "UTC"


class _Section(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True)


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


class IcsSource(_Section):
    name: str = Field(min_length=1)
    type: Literal["ics"] = "ics"
    url: str = Field(min_length=1)
    user_agent: str | None = None
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    max_mb: float = Field(default=20.0, gt=0, le=1024)
    max_events: int = Field(default=50_000, gt=0, le=10_000_000)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme and scheme not in {"file", "http", "https", "webcal", "webcals"}:
            raise ValueError(
                f"unsupported URL scheme {scheme!r}: use a path, file://, http(s):// or webcal://"
            )
        return value

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1024 * 1024)


GOOGLE_API_ROOT = "https://www.googleapis.com/"


class GoogleSource(_Section):
    """A Google calendar read through the Calendar API (``type = "google"``).

    ``write_back`` None means: on when the sign-in granted the write scopes.
    ``token_file`` None means ``google/<name>.json`` in the state directory (the
    caller resolves it). ``api_root`` is one root for Calendar, Drive and Docs;
    at its default each API keeps its own Google host.
    """

    name: str = Field(min_length=1)
    type: Literal["google"]
    calendar_id: str = Field(default="primary", min_length=1)
    write_back: bool | None = None
    send_updates: Literal["none", "all", "externalOnly"] = "none"
    book_send_updates: Literal["none", "all", "externalOnly"] = "all"
    token_file: str | None = Field(default=None, min_length=1)
    api_root: str = GOOGLE_API_ROOT
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    @field_validator("api_root")
    @classmethod
    def _api_root(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme not in {"https", "http"} or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL such as {GOOGLE_API_ROOT!r}")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise ValueError(
                f"{value!r} would send your Google token unencrypted: plain http is only "
                "allowed to localhost, 127.0.0.1 or ::1; use https"
            )
        return value if value.endswith("/") else value + "/"


# --- CalDAV (type = "caldav") ------------------------------------------------------


class CaldavSource(_Section):
    """A calendar on a CalDAV server (``type = "caldav"``): Fastmail, iCloud, Nextcloud,
    Radicale, Baïkal, SOGo, Zimbra.

    ``url`` is the server (its calendars are discovered through
    ``current-user-principal`` and ``calendar-home-set``) or a calendar collection.
    ``calendar`` picks one by display name or path; None: the only calendar, or
    the URL itself when it is a calendar. The password is never in the file: see
    :func:`connectors.caldav.credentials.resolve_password`.
    """

    name: str = Field(min_length=1)
    type: Literal["caldav"]
    url: str = Field(min_length=1)
    username: str = Field(min_length=1)
    password_command: str | None = Field(default=None, min_length=1)
    calendar: str | None = Field(default=None, min_length=1)
    write_back: bool = False
    send_updates: Literal["none", "all"] = "none"
    auth: Literal["basic", "digest"] = "basic"
    ca_file: str | None = Field(default=None, min_length=1)
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data: Any) -> Any:
        if isinstance(data, dict) and "password" in data:
            raise ValueError(
                "never put the password in the config file in clear: use password_command, "
                "$CREDENTIALS_DIRECTORY/caldav-<name>-password (systemd LoadCredential=) "
                "or the keyring"
            )
        return data

    @field_validator("url")
    @classmethod
    def _caldav_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme not in {"https", "http"} or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL such as "
                             "'https://caldav.fastmail.com/'")
        if parts.username or parts.password:
            raise ValueError("put no user name or password in the url: use username and "
                             "password_command")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise ValueError(
                f"{value!r} would send your password unencrypted: plain http is only "
                "allowed to localhost, 127.0.0.1 or ::1; use https"
            )
        return value if value.endswith("/") else value + "/"

    @field_validator("password_command")
    @classmethod
    def _caldav_command(cls, value: str | None) -> str | None:
        import shlex

        if value is not None:
            try:
                argv = shlex.split(value)
            except ValueError as exc:
                raise ValueError(f"password_command cannot be split into words: {exc}") from None
            if not argv:
                raise ValueError("password_command is empty")
        return value

    _caldav_ca = field_validator("ca_file")(
        classmethod(lambda cls, v: None if v is None else str(Path(v).expanduser())))


# --- the [[sources]] union ----------------------------------------------------------


# --- Microsoft 365 / Outlook (Microsoft Graph) ----------------------------------------

GRAPH_API_ROOT = "https://graph.microsoft.com/"
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com/"


def _https_root(value: str, default: str, what: str) -> str:
    """An https URL ending in '/'; plain http is refused (MSAL requires https too)."""
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{value!r} is not an https URL such as {default!r} "
                         f"({what} must be reached over TLS)")
    return value if value.endswith("/") else value + "/"


class MicrosoftSource(_Section):
    """A Microsoft 365 / Outlook calendar read through Microsoft Graph
    (``type = "microsoft"``).

    ``calendar`` None is the user's default calendar, else a calendar's id or name.
    ``client_id`` None: the one the sign-in saved in the token file. ``write_back``
    None: on when the sign-in granted ``Calendars.ReadWrite``. ``token_file`` None:
    ``microsoft/<name>.json`` in the state directory (the caller resolves it).
    ``ca_file``: a CA bundle to trust instead of the system's (a TLS-inspecting
    proxy; the tests' emulator).
    """

    name: str = Field(min_length=1)
    type: Literal["microsoft"]
    calendar: str | None = Field(default=None, min_length=1)
    client_id: str | None = Field(default=None, min_length=1)
    tenant: str = Field(default="common", min_length=1, pattern=r"^[A-Za-z0-9.\-_]+$")
    write_back: bool | None = None
    token_file: str | None = Field(default=None, min_length=1)
    api_root: str = GRAPH_API_ROOT
    authority: str = MICROSOFT_AUTHORITY
    ca_file: str | None = Field(default=None, min_length=1)
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    @field_validator("api_root")
    @classmethod
    def _api_root(cls, value: str) -> str:
        return _https_root(value, GRAPH_API_ROOT, "Microsoft Graph")

    @field_validator("authority")
    @classmethod
    def _authority(cls, value: str) -> str:
        return _https_root(value, MICROSOFT_AUTHORITY, "the Microsoft sign-in")

    @field_validator("ca_file")
    @classmethod
    def _ca(cls, value: str | None) -> str | None:
        return None if value is None else str(Path(value).expanduser())


SOURCE_TYPES = frozenset({"ics", "google", "caldav", "microsoft"})


def _source_type(value: Any) -> str:
    if isinstance(value, dict):
        kind = value.get("type", "ics")
        return kind if kind in SOURCE_TYPES else "unknown"
    return getattr(value, "type", "ics")


Source = Annotated[
    Annotated[IcsSource, Tag("ics")] | Annotated[GoogleSource, Tag("google")]
    | Annotated[CaldavSource, Tag("caldav")]
    | Annotated[MicrosoftSource, Tag("microsoft")],
    Discriminator(
        _source_type,
        custom_error_type="source_type",
        custom_error_message='type must be "ics", "google", "caldav" or "microsoft"',
    ),
]


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
