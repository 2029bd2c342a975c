"""Talking to a CalDAV server through the ``caldav`` library, and its failures as ours.

:class:`Server` holds one signed-in client (the password is asked for once, when
the first request is made). :func:`talking` wraps every call: whatever the library
or its HTTP stack raises leaves as :class:`CaldavError` (with the HTTP status, the
``DAV:error`` preconditions and a server's Retry-After) or, for a refused login,
:class:`~daemon.core.errors.NeedsSignIn` naming the command that fixes it.

Discovery (:meth:`Server.calendars`) follows ``current-user-principal`` and
``calendar-home-set``; :meth:`Server.pick` chooses the configured calendar by
display name or path.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from caldav.elements.base import ValuedBaseElement

from connectors.caldav.credentials import resolve_password
from daemon.config import CaldavSource
from daemon.core.errors import NeedsSignIn, SourceError

log = logging.getLogger(__name__)


class CaldavError(SourceError):
    """A CalDAV request failed. ``status`` is the HTTP status (0: no answer: network,
    timeout, TLS), ``preconditions`` the ``DAV:error`` elements of the answer (Clark
    notation), ``retry_after`` the seconds the server asked to wait (429, 503)."""

    def __init__(self, source: str, reason: str, *, status: int = 0,
                 preconditions: tuple[str, ...] = (), retry_after: float | None = None,
                 hint: str | None = None) -> None:
        super().__init__(source, reason, hint=hint)
        self.status = status
        self.preconditions = preconditions
        self.retry_after = retry_after


VALID_SYNC_TOKEN = "{DAV:}valid-sync-token"  # noqa: S105 - an XML element name
SUPPORTED_REPORT = "{DAV:}supported-report"


class GetCTag(ValuedBaseElement):
    """The collection tag of calendarserver.org (``CS:getctag``): changes whenever any
    resource of the calendar does."""

    tag: ClassVar[str] = "{http://calendarserver.org/ns/}getctag"


def sign_in_hint(source: str) -> str:
    return (f"check username and the password (an app password for Fastmail and iCloud), "
            f"then run: cadenced auth caldav --source {source}")


@contextlib.contextmanager
def talking(source: str, what: str) -> Iterator[None]:
    """Turn whatever goes wrong inside into :class:`CaldavError` / NeedsSignIn."""
    from caldav.lib import error
    from caldav.lib.http_sync import requests as http
    from lxml.etree import XMLSyntaxError

    try:
        yield
    except SourceError:
        raise
    except error.RateLimitError as exc:
        wait = exc.retry_after_seconds
        raise CaldavError(
            source, f"{what}: HTTP {exc.status or 429} (the server is busy"
            + (f"; it asks to wait {wait:.0f} s)" if wait is not None else ")"),
            status=exc.status or 429, retry_after=wait,
            hint="kept the last good copy; cadenced tries again when the server allows") \
            from None
    except error.AuthorizationError as exc:
        if exc.status == 401 or exc.status is None:
            raise NeedsSignIn(source, f"{what}: the server refused the login (HTTP 401)",
                              hint=sign_in_hint(source)) from None
        raise CaldavError(source, f"{what}: HTTP {exc.status} Forbidden", status=exc.status,
                          preconditions=tuple(exc.preconditions),
                          hint="this account may not read that calendar; check calendar "
                          f"(cadenced auth caldav --source {source} lists them)") from None
    except error.NotFoundError as exc:
        raise CaldavError(source, f"{what}: HTTP 404 Not Found", status=exc.status or 404,
                          hint=f"check url and calendar; cadenced auth caldav --source {source} "
                          "lists the calendars") from None
    except error.DAVError as exc:
        status = exc.status or _status_in(exc.reason)
        text = f"HTTP {status}" if status else _clean(exc.reason)
        raise CaldavError(source, f"{what}: {text}", status=status,
                          preconditions=tuple(exc.preconditions),
                          hint=_hint(status)) from None
    except http.exceptions.SSLError:
        raise CaldavError(source, f"{what}: TLS verification failed",
                          hint="check the system's CA certificates, or ca_file for a server "
                          "with a private certificate") from None
    except http.exceptions.Timeout:
        raise CaldavError(source, f"{what} timed out", hint="check the network; cadenced "
                          "tries again at its next sync (timeout_seconds sets the wait)") from None
    except (http.exceptions.ConnectionError, OSError) as exc:
        raise CaldavError(source, f"{what}: cannot connect ({type(exc).__name__})",
                          hint="check the url and the network; cadenced tries again at its "
                          "next sync") from None
    except http.exceptions.RequestException as exc:
        raise CaldavError(source, f"{what} failed: {type(exc).__name__}",
                          hint="check the url; cadenced tries again at its next sync") from None
    except (XMLSyntaxError, ValueError) as exc:
        raise CaldavError(source, f"{what}: the server's answer is not CalDAV XML "
                          f"({type(exc).__name__})",
                          hint="check the url: it should be the CalDAV address, not a web "
                          "page (docs/caldav.md lists them)") from None


def _status_in(reason: str) -> int:
    for word in str(reason).split():
        if len(word) == 3 and word.isdigit():
            return int(word)
    return 0


def _clean(text: str) -> str:
    return " ".join(str(text).split())[:200]


def _hint(status: int) -> str:
    if status >= 500:
        return "the server has a problem; kept the last good copy, cadenced tries again"
    return "cadenced tries again at its next sync"


@dataclass(frozen=True)
class Found:
    """One calendar of the account."""

    url: str
    path: str
    name: str | None  # display name


class Server:
    """One CalDAV account, signed in on the first request."""

    def __init__(self, config: CaldavSource, *,
                 password: Callable[[CaldavSource], str] = resolve_password) -> None:
        self.config = config
        self._password = password
        self._client: Any = None

    @property
    def name(self) -> str:
        return self.config.name

    def client(self) -> Any:
        if self._client is None:
            import caldav

            secret = self._password(self.config)
            with talking(self.name, "connecting"):
                self._client = caldav.DAVClient(
                    url=self.config.url, username=self.config.username, password=secret,
                    auth_type=self.config.auth, timeout=self.config.timeout_seconds,
                    ssl_verify_cert=self.config.ca_file or True, enable_rfc6764=False,
                    headers={"User-Agent": "cadenced"})
        return self._client

    def forget(self) -> None:
        """Drop the signed-in client: the next request asks for the password again
        (after a refused login, the user may have fixed it)."""
        self._client = None

    def calendar_at(self, url: str) -> Any:
        """The calendar collection at ``url`` (no request)."""
        import caldav

        return caldav.Calendar(client=self.client(), url=url)

    def calendars(self) -> list[Found]:
        """Every calendar of the account (principal, then its calendar-home-set), or
        the url itself when it is a calendar without a principal to discover."""
        client = self.client()
        with talking(self.name, "finding the calendars"):
            principal = client.principal()
            found = principal.calendars()
        out = []
        for calendar in found:
            with talking(self.name, "reading a calendar's name"):
                name = calendar.get_display_name()
            url = str(calendar.url)
            out.append(Found(url, unquote(urlsplit(url).path), name))
        return out

    def pick(self) -> Found:
        """The configured calendar (by display name or path), else the url when it is
        one of the account's calendars, else the only one. Raises SourceError."""
        found = self.calendars()
        wanted = self.config.calendar
        listing = ", ".join(f"{f.name or '(no name)'} ({f.path})" for f in found) or "none"
        if wanted:
            path = unquote(urlsplit(wanted).path).rstrip("/")
            for f in found:
                if f.name == wanted or (path and f.path.rstrip("/") == path):
                    return f
            for f in found:
                if f.name and f.name.casefold() == wanted.casefold():
                    return f
            raise SourceError(self.name, f"no calendar {wanted!r}; there are: {listing}",
                              hint="set calendar to one of them (its name or its path)")
        own = unquote(urlsplit(self.config.url).path).rstrip("/")
        for f in found:
            if f.path.rstrip("/") == own:
                return f
        if len(found) == 1:
            return found[0]
        raise SourceError(self.name, f"{len(found)} calendars and none chosen: {listing}",
                          hint="set calendar to one of them (its name or its path)")
