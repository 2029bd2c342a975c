"""The ``[[sources]]`` sections, one model per kind (ICS, Google, CalDAV, Microsoft 365),
and the :data:`Source` union that picks one by ``type``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from daemon.config.common import _Section, is_loopback_host


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
