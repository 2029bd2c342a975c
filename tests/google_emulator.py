"""A local stand-in for Google's Calendar, Drive, Docs and OAuth endpoints.

The real google-api-python-client (and google-auth, google-auth-oauthlib,
requests-oauthlib) talk to it over HTTP on 127.0.0.1. Every API lives under one
root, because cadenced rewrites each discovery document's ``rootUrl``:

- Calendar v3  ``/calendar/v3/calendars/{calendarId}/events[/{eventId}]``, ``/calendar/v3/freeBusy``
- Drive v3     ``/drive/v3/files[/{fileId}[/permissions]]``
- Docs v1      ``/v1/documents[/{documentId}[:batchUpdate]]``
- OAuth 2.0    ``/token`` and ``/revoke``; the consent screen is played by
  :meth:`Emulator.authorize` (no HTTP endpoint).

Google behaviours emulated (and only these; anything else is a 400 or 404):

- Bearer access tokens issued here, with expiry, revocation and per-call scopes:
  401 ``UNAUTHENTICATED`` (reason ``authError``) and 403 ``insufficientPermissions``.
- Google's JSON error shape ``{"error": {"code", "message", "errors": [...], "status"}}``;
  OAuth errors use ``{"error": ..., "error_description": ...}``.
- Calendar: etags that change on every change, sync tokens (410 ``fullSyncRequired``,
  400 with incompatible filters), paging, tombstones of deleted events and
  cancelled instances, patch as a JSON merge, ``If-Match`` (412 ``conditionNotMet``),
  ``supportsAttachments``, ``forbiddenForNonOrganizer``; freeBusy.query over the busy
  blocks a test sets in ``availability`` (any other address: ``notFound``).
- OAuth: authorization code with PKCE (S256 or plain), refresh, revoke,
  client credentials in the form or HTTP Basic.
- Drive: files with appProperties, a subset of ``q``, ``fields`` selection,
  permissions (the ``sendNotificationEmail`` asked for is recorded).
- Docs: paragraphs with UTF-16 indices, text and paragraph styles, bullets and
  their lists (checklists among them), ``writeControl.requiredRevisionId``; a
  batchUpdate applies whole or not at all.

Tests drive it in-process: seed data (``calendar()``, ``drive``, ``docs``), inject
faults (``fail()``, ``delay()``), and read ``requests`` afterwards. No pytest here;
``googleserver.py`` holds the fixture.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

SCOPE_PREFIX = "https://www.googleapis.com/auth/"
DOC_MIME = "application/vnd.google-apps.document"
ACCESS_TOKEN_SECONDS = 3599


def scope(name: str) -> str:
    """The full scope URI of ``name`` (``"drive.file"`` or already a URI)."""
    return name if "://" in name else SCOPE_PREFIX + name


def _scopes(*names: str) -> frozenset[str]:
    return frozenset(scope(n) for n in names)


CALENDAR_READ = _scopes("calendar", "calendar.readonly", "calendar.events",
                        "calendar.events.readonly", "calendar.events.owned",
                        "calendar.events.owned.readonly")
CALENDAR_WRITE = _scopes("calendar", "calendar.events", "calendar.events.owned")
DRIVE = _scopes("drive", "drive.file")
DOCS_READ = DRIVE | _scopes("documents", "documents.readonly", "drive.readonly")
DOCS_WRITE = DRIVE | _scopes("documents")
FREEBUSY = _scopes("calendar", "calendar.readonly", "calendar.freebusy",
                   "calendar.events.freebusy")

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 409: "ALREADY_EXISTS", 410: "FAILED_PRECONDITION",
                412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
RATE_DOMAIN_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


# ---------------------------------------------------------------------------------
# small helpers


def now_utc() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds and 'Z', as Google writes timestamps."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _token(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)


def _event_id() -> str:
    """Lowercase base32hex, like the ids Google gives events."""
    alphabet = "0123456789abcdefghijklmnopqrstuv"
    return "".join(secrets.choice(alphabet) for _ in range(26))


def _file_id() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "1" + "".join(secrets.choice(alphabet) for _ in range(43))


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """JSON merge patch: dicts merge recursively, lists and scalars replace, null removes."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _bool(query: dict[str, list[str]], name: str, default: bool = False) -> bool:
    values = query.get(name)
    return default if not values else values[0].lower() == "true"


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _int(query: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    text = _one(query, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise GoogleError(400, "invalid", f"Invalid value for {name}: {text}") from None
    if not low <= value:
        raise GoogleError(400, "invalid", f"Invalid value for {name}: {text}")
    return min(value, high)


def _moment(value: dict[str, Any] | None, tz: str) -> datetime | None:
    """An event time (``{"dateTime"}`` or ``{"date"}``) as an aware datetime."""
    if not value:
        return None
    if "dateTime" in value:
        moment = datetime.fromisoformat(value["dateTime"])
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(value.get("timeZone") or tz))
        return moment
    if "date" in value:
        return datetime.combine(date.fromisoformat(value["date"]), datetime.min.time(),
                                ZoneInfo(value.get("timeZone") or tz))
    return None


def _query_time(query: dict[str, list[str]], name: str) -> datetime | None:
    text = _one(query, name)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise GoogleError(400, "badRequest", f"Bad Request: {name} must be RFC 3339 with offset")
    return moment


# ---------------------------------------------------------------------------------
# errors, the request log, faults


class GoogleError(Exception):
    """An API error, answered in Google's JSON error shape."""

    def __init__(self, code: int, reason: str, message: str, *, domain: str | None = None,
                 status: str | None = None, location: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.domain = domain or ("usageLimits" if reason in RATE_DOMAIN_REASONS else "global")
        self.status = status or STATUS_NAMES.get(code, "UNKNOWN")
        self.location = location
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"domain": self.domain, "reason": self.reason,
                                  "message": self.message}
        if self.location:
            detail.update(location=self.location, locationType="parameter")
        return {"error": {"code": self.code, "message": self.message, "errors": [detail],
                          "status": self.status}}


class OAuthError(Exception):
    """An error of the token or revoke endpoint, in the OAuth 2.0 shape."""

    def __init__(self, code: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.code = code
        self.error = error
        self.description = description

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class Request:
    """One request as the emulator saw it. ``path`` is percent-decoded; ``body`` is
    parsed JSON, a dict of the form fields, raw bytes, or None; ``status`` is what
    the emulator answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes | dict[str, Any] | list[Any] | None
    status: int | None = None


@dataclass
class Fault:
    """A fault injected by :meth:`Emulator.fail` or :meth:`Emulator.delay`."""

    method: str
    pattern: re.Pattern[str]
    times: int | None
    status: int = 0
    reason: str = ""
    retry_after: float | None = None
    seconds: float = 0.0
    drop: bool = False  # handle the request, then close without an answer

    def matches(self, method: str, path: str) -> bool:
        return ((self.times is None or self.times > 0)
                and self.method in ("*", method) and bool(self.pattern.search(path)))


# ---------------------------------------------------------------------------------
# OAuth


@dataclass
class Grant:
    """A refresh token: what the user consented to."""

    refresh_token: str
    client_id: str
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass
class AccessToken:
    token: str
    scopes: frozenset[str]
    expires_at: float
    refresh_token: str | None
    revoked: bool = False

    def valid(self) -> bool:
        return not self.revoked and time.time() < self.expires_at


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str | None
    method: str | None


class OAuth:
    """Google's OAuth 2.0 server for an installed app.

    Emulated: the authorization code grant with PKCE (codes are single use; a
    wrong or missing ``code_verifier`` is 400 ``invalid_grant``), the refresh token
    grant (a revoked or unknown refresh token is 400 ``invalid_grant``: "Token has
    been expired or revoked."; a ``scope`` beyond the grant is 400 ``invalid_scope``),
    client authentication in the form or with HTTP Basic (401 ``invalid_client``),
    and revocation, which like Google's drops the whole grant whether given the
    access or the refresh token.
    """

    def __init__(self, emulator: Emulator, client_id: str, client_secret: str) -> None:
        self.emulator = emulator
        self.client_id = client_id
        self.client_secret = client_secret
        self.grants: dict[str, Grant] = {}
        self.access: dict[str, AccessToken] = {}
        self.codes: dict[str, AuthCode] = {}
        self.authorizations: list[dict[str, str]] = []  # consent URLs' parameters

    # -- tokens

    def issue(self, scopes: Iterable[str], *, refresh_token: str | None = None,
              client_id: str | None = None) -> tuple[AccessToken, Grant]:
        full = tuple(dict.fromkeys(scope(s) for s in scopes))
        grant = self.grants.get(refresh_token or "")
        if grant is None:
            grant = Grant("1//emu-" + _token(), client_id or self.client_id, full)
            self.grants[grant.refresh_token] = grant
        access = AccessToken("ya29.emu-" + _token(), frozenset(full),
                             time.time() + ACCESS_TOKEN_SECONDS, grant.refresh_token)
        self.access[access.token] = access
        return access, grant

    def check(self, header: str | None) -> AccessToken:
        """The access token of an Authorization header, or a 401."""
        token = None
        if header and header[:7].lower() == "bearer ":
            token = self.access.get(header[7:].strip())
        if token is None or not token.valid():
            raise GoogleError(
                401, "authError",
                "Request had invalid authentication credentials. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential.",
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        return token

    def revoke_grant(self, refresh_token: str) -> None:
        grant = self.grants[refresh_token]
        grant.revoked = True
        for access in self.access.values():
            if access.refresh_token == refresh_token:
                access.revoked = True

    # -- endpoints

    def _client(self, req: Request, form: dict[str, Any]) -> str:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = req.headers.get("authorization", "")
        if header[:6].lower() == "basic ":
            try:
                pair = base64.b64decode(header[6:].strip()).decode()
            except ValueError:
                pair = ":"
            user, _, password = pair.partition(":")
            client_id = urllib.parse.unquote_plus(user)
            secret = urllib.parse.unquote_plus(password)
        if client_id != self.client_id or secret != self.client_secret:
            raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
        return client_id

    def token_endpoint(self, req: Request) -> dict[str, Any]:
        form = req.body if isinstance(req.body, dict) else {}
        client_id = self._client(req, form)
        grant_type = form.get("grant_type")
        if grant_type == "refresh_token":
            grant = self.grants.get(form.get("refresh_token") or "")
            if grant is None or grant.revoked:
                raise OAuthError(400, "invalid_grant", "Token has been expired or revoked.")
            if grant.client_id != client_id:
                raise OAuthError(401, "unauthorized_client", "Unauthorized")
            asked = tuple((form.get("scope") or "").split()) or grant.scopes
            if not set(asked) <= set(grant.scopes):
                raise OAuthError(400, "invalid_scope",
                                 "Some requested scopes were invalid or not granted.")
            access, _ = self.issue(asked, refresh_token=grant.refresh_token)
            return {"access_token": access.token, "expires_in": ACCESS_TOKEN_SECONDS,
                    "scope": " ".join(asked), "token_type": "Bearer"}
        if grant_type == "authorization_code":
            code = self.codes.pop(form.get("code") or "", None)  # single use
            if code is None or code.client_id != client_id:
                raise OAuthError(400, "invalid_grant", "Malformed auth code.")
            if form.get("redirect_uri") != code.redirect_uri:
                raise OAuthError(400, "redirect_uri_mismatch", "Bad Request")
            if code.challenge is not None:
                verifier = form.get("code_verifier")
                if not verifier:
                    raise OAuthError(400, "invalid_grant", "Missing code verifier.")
                if code.method == "S256":
                    digest = hashlib.sha256(verifier.encode("ascii")).digest()
                    derived = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                else:
                    derived = verifier
                if derived != code.challenge:
                    raise OAuthError(400, "invalid_grant", "Invalid code verifier.")
            access, grant = self.issue(code.scopes, client_id=client_id)
            return {"access_token": access.token, "expires_in": ACCESS_TOKEN_SECONDS,
                    "refresh_token": grant.refresh_token, "scope": " ".join(code.scopes),
                    "token_type": "Bearer"}
        raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def revoke_endpoint(self, req: Request) -> dict[str, Any]:
        form = req.body if isinstance(req.body, dict) else {}
        token = form.get("token") or _one(req.query, "token") or ""
        if token in self.grants:
            self.revoke_grant(token)
        elif token in self.access:
            access = self.access[token]
            access.revoked = True
            if access.refresh_token:
                self.revoke_grant(access.refresh_token)
        else:
            raise OAuthError(400, "invalid_token", "Token expired or revoked")
        return {}

    def consent(self, auth_url: str, granted_scopes: Iterable[str] | None,
                deny: bool) -> str:
        """Record a code for a consent URL; the redirect URL the browser would follow."""
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(auth_url).query))
        self.authorizations.append(params)
        if params.get("client_id") != self.client_id:
            raise ValueError(f"unknown client_id in the consent URL: {params.get('client_id')}")
        if params.get("response_type", "code") != "code" or not params.get("redirect_uri"):
            raise ValueError("the consent URL needs response_type=code and a redirect_uri")
        asked = params.get("scope", "").split()
        granted = tuple(scope(s) for s in granted_scopes) if granted_scopes is not None \
            else tuple(asked)
        reply: dict[str, str] = {}
        if deny:
            reply["error"] = "access_denied"
        else:
            code = "4/emu-" + _token()
            method = params.get("code_challenge_method") if params.get("code_challenge") \
                else None
            self.codes[code] = AuthCode(code, params["client_id"], params["redirect_uri"],
                                        granted, params.get("code_challenge"),
                                        (method or "plain") if method or
                                        params.get("code_challenge") else None)
            reply.update(code=code, scope=" ".join(granted))
        if "state" in params:
            reply["state"] = params["state"]
        target = params["redirect_uri"]
        return target + ("&" if "?" in target else "?") + urllib.parse.urlencode(reply)


# ---------------------------------------------------------------------------------
# Calendar

SYNC_INCOMPATIBLE = ("timeMin", "timeMax", "orderBy", "q", "updatedMin", "iCalUID",
                     "privateExtendedProperty", "sharedExtendedProperty")
READ_ONLY_FIELDS = ("id", "kind", "etag", "created", "updated", "htmlLink", "iCalUID",
                    "recurringEventId", "originalStartTime")
NON_ORGANIZER_FIELDS = {"reminders", "colorId", "transparency"}


@dataclass
class _Page:
    calendar_id: str
    ids: list[str]
    offset: int
    seq: int  # the change number the listing started at: the next sync token's


class Calendar:
    """One calendar's events with Google's change tracking.

    Each change takes the next number of the emulator's global change counter;
    a sync token remembers the counter at the start of its listing, and an
    incremental list returns every event changed since (deleted ones and cancelled
    instances as tombstones). Test helpers make changes "as a human" would.
    """

    def __init__(self, emulator: Emulator, calendar_id: str, owner: str) -> None:
        self.emulator = emulator
        self.id = calendar_id
        self.owner = owner
        self.summary = owner
        self.time_zone = "Europe/Berlin"
        self.events: dict[str, dict[str, Any]] = {}
        self.changed: dict[str, int] = {}  # event id -> change number of its last change
        self.send_updates: list[tuple[str, str | None]] = []  # (event id, sendUpdates)

    # -- test helpers

    def insert(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Add an event, filling what Google fills; returns a copy of the stored event."""
        with self.emulator.lock:
            event = copy.deepcopy(resource)
            event_id = event.setdefault("id", _event_id())
            if event_id in self.events:
                raise ValueError(f"event {event_id} exists")
            master = self.events.get(event.get("recurringEventId", ""))
            now = rfc3339(now_utc())
            event.setdefault("kind", "calendar#event")
            event.setdefault("status", "confirmed")
            event.setdefault("iCalUID", master["iCalUID"] if master else f"{event_id}@google.com")
            event.setdefault("created", now)
            event.setdefault("sequence", 0)
            eid = base64.urlsafe_b64encode(f"{event_id} {self.owner}".encode()).decode()
            event.setdefault("htmlLink", "https://www.google.com/calendar/event?eid="
                             + eid.rstrip("="))
            event.setdefault("organizer", {"email": self.owner, "self": True})
            event.setdefault("creator", copy.deepcopy(event["organizer"]))
            event.setdefault("reminders", {"useDefault": True})
            event.setdefault("eventType", "default")
            self.events[event_id] = event
            self._touch(event)
            return copy.deepcopy(event)

    def update(self, event_id: str, **fields: Any) -> dict[str, Any]:
        """A human edit: top-level fields replaced (None removes one)."""
        with self.emulator.lock:
            event = self._require(event_id)
            significant = any(k in fields for k in ("start", "end", "recurrence"))
            for key, value in fields.items():
                if value is None:
                    event.pop(key, None)
                else:
                    event[key] = copy.deepcopy(value)
            if significant:
                event["sequence"] = event.get("sequence", 0) + 1
            self._touch(event)
            return copy.deepcopy(event)

    def delete(self, event_id: str) -> None:
        """Delete an event (a cancelled tombstone stays); a series takes its exceptions."""
        with self.emulator.lock:
            event = self._require(event_id)
            event["status"] = "cancelled"
            self._touch(event)
            for other in self.events.values():
                if other.get("recurringEventId") == event_id and other["status"] != "cancelled":
                    other["status"] = "cancelled"
                    self._touch(other)

    def cancel_instance(self, master_id: str, original_start: dict[str, Any]) -> dict[str, Any]:
        """Cancel one occurrence of a series: a cancelled exception."""
        with self.emulator.lock:
            master = self._require(master_id)
            instance_id = self.instance_id(master_id, original_start)
            if instance_id in self.events:
                return self.update(instance_id, status="cancelled")
            return self.insert({
                "id": instance_id, "recurringEventId": master_id,
                "originalStartTime": copy.deepcopy(original_start), "status": "cancelled",
                "organizer": copy.deepcopy(master.get("organizer")),
            })

    def override_instance(self, master_id: str, original_start: dict[str, Any],
                          **fields: Any) -> dict[str, Any]:
        """Change one occurrence of a series: a confirmed exception (the master's fields,
        the occurrence's times, then ``fields``)."""
        with self.emulator.lock:
            master = self._require(master_id)
            instance_id = self.instance_id(master_id, original_start)
            if instance_id in self.events:
                return self.update(instance_id, status=fields.pop("status", "confirmed"),
                                   **fields)
            base = {k: copy.deepcopy(v) for k, v in master.items() if k not in
                    ("id", "etag", "recurrence", "created", "updated", "htmlLink",
                     "sequence", "status")}
            base["start"] = copy.deepcopy(original_start)
            start = _moment(master.get("start"), self.time_zone)
            end = _moment(master.get("end"), self.time_zone)
            first = _moment(original_start, self.time_zone)
            if start and end and first:
                if "date" in original_start:
                    base["end"] = {"date": (first + (end - start)).date().isoformat()}
                else:
                    base["end"] = {"dateTime": (first + (end - start)).isoformat()}
                    if "timeZone" in master.get("end", {}):
                        base["end"]["timeZone"] = master["end"]["timeZone"]
            base.update(id=instance_id, recurringEventId=master_id,
                        originalStartTime=copy.deepcopy(original_start))
            base.update(copy.deepcopy(fields))
            return self.insert(base)

    def get(self, event_id: str) -> dict[str, Any]:
        with self.emulator.lock:
            return copy.deepcopy(self._require(event_id))

    @staticmethod
    def instance_id(master_id: str, original_start: dict[str, Any]) -> str:
        """Google's id of an occurrence: ``{master}_{YYYYMMDDTHHMMSSZ}`` or ``_{YYYYMMDD}``."""
        if "date" in original_start:
            return f"{master_id}_{original_start['date'].replace('-', '')}"
        moment = _moment(original_start, "UTC")
        assert moment is not None
        return f"{master_id}_{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}"

    # -- internals

    def _require(self, event_id: str) -> dict[str, Any]:
        event = self.events.get(event_id)
        if event is None:
            raise KeyError(f"no event {event_id} in calendar {self.id}")
        return event

    def _touch(self, event: dict[str, Any]) -> None:
        number = self.emulator.next_change()
        event["etag"] = f'"{3_500_000_000_000_000 + number * 1000}"'
        event["updated"] = rfc3339(now_utc())
        self.changed[event["id"]] = number

    @staticmethod
    def _listed(event: dict[str, Any]) -> dict[str, Any]:
        if event.get("status") != "cancelled":
            return copy.deepcopy(event)
        tombstone = {k: event[k] for k in ("kind", "etag", "id", "status")}
        for key in ("recurringEventId", "originalStartTime"):
            if key in event:
                tombstone[key] = copy.deepcopy(event[key])
        return tombstone

    def _matches(self, event: dict[str, Any], query: dict[str, list[str]]) -> bool:
        time_min, time_max = _query_time(query, "timeMin"), _query_time(query, "timeMax")
        start = _moment(event.get("start") or event.get("originalStartTime"), self.time_zone)
        end = _moment(event.get("end"), self.time_zone) or start
        if time_max and start and start >= time_max:
            return False
        if time_min and end and "recurrence" not in event and end <= time_min:
            return False
        ical = _one(query, "iCalUID")
        if ical and event.get("iCalUID") != ical:
            return False
        updated_min = _query_time(query, "updatedMin")
        if updated_min and datetime.fromisoformat(event["updated"]) < updated_min:
            return False
        text = _one(query, "q")
        if text and text.lower() not in " ".join(
                str(event.get(k, "")) for k in ("summary", "description", "location")).lower():
            return False
        for kind in ("private", "shared"):
            for wanted in query.get(f"{kind}ExtendedProperty", []):
                key, _, value = wanted.partition("=")
                props = event.get("extendedProperties", {}).get(kind, {})
                if props.get(key) != value:
                    return False
        return True

    # -- API

    def api_list(self, req: Request) -> dict[str, Any]:
        emulator = self.emulator
        query = req.query
        page_token = _one(query, "pageToken")
        if page_token:
            page = emulator.page_tokens.get(page_token)
            if page is None or page.calendar_id != self.id:
                raise GoogleError(400, "invalid", "Invalid page token value.",
                                  location="pageToken")
        else:
            if _bool(query, "singleEvents"):
                raise GoogleError(400, "badRequest",
                                  "singleEvents=true is not supported by the emulator")
            if _one(query, "orderBy") == "startTime":
                raise GoogleError(400, "badRequest",
                                  "The requested ordering is not available for the particular "
                                  "query.")
            sync_token = _one(query, "syncToken")
            if sync_token:
                clash = [p for p in SYNC_INCOMPATIBLE if p in query]
                if clash:
                    raise GoogleError(400, "invalid",
                                      f"Sync token cannot be used with {', '.join(clash)}.",
                                      location="syncToken")
                known = emulator.sync_tokens.get(sync_token)
                if known is None or known[0] != self.id:
                    raise GoogleError(410, "fullSyncRequired",
                                      "Sync token is no longer valid, a full sync is required.",
                                      status="FAILED_PRECONDITION")
                ids = sorted((i for i, n in self.changed.items() if n > known[1]),
                             key=self.changed.__getitem__)
            else:
                show_deleted = _bool(query, "showDeleted")
                ids = [i for i, e in self.events.items()
                       if (show_deleted or e["status"] != "cancelled"
                           # like Google: with showDeleted and singleEvents both false,
                           # cancelled instances of a series are still listed
                           or "recurringEventId" in e)
                       and self._matches(e, query)]
                if _one(query, "orderBy") == "updated":
                    ids.sort(key=lambda i: self.events[i]["updated"])
            page = _Page(self.id, ids, 0, emulator.change_number)
        size = _int(query, "maxResults", 250, 1, 2500)
        chunk = page.ids[page.offset:page.offset + size]
        items = [self._listed(self.events[i]) for i in chunk]
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": f'"p3{page.seq:014d}"',
            "summary": self.summary,
            "updated": max((self.events[i]["updated"] for i in chunk),
                           default=rfc3339(now_utc())),
            "timeZone": self.time_zone,
            "accessRole": "owner",
            "defaultReminders": [{"method": "popup", "minutes": 10}],
            "items": items,
        }
        if page.offset + size < len(page.ids):
            token = "emu-page-" + _token(12)
            emulator.page_tokens[token] = _Page(self.id, page.ids, page.offset + size, page.seq)
            body["nextPageToken"] = token
        else:
            token = "emu-sync-" + _token(12)
            emulator.sync_tokens[token] = (self.id, page.seq)
            body["nextSyncToken"] = token
        return body

    def _api_event(self, event_id: str) -> dict[str, Any]:
        event = self.events.get(event_id)
        if event is None:
            raise GoogleError(404, "notFound", "Not Found")
        return event

    def api_get(self, req: Request, event_id: str) -> dict[str, Any]:
        return copy.deepcopy(self._api_event(event_id))

    def api_insert(self, req: Request) -> dict[str, Any]:
        """events.insert: a client may choose the id (base32hex, 5 to 1024 characters);
        an id in use answers 409 duplicate, as Google does."""
        if not isinstance(req.body, dict):
            raise GoogleError(400, "parseError", "Parse Error")
        body = copy.deepcopy(req.body)
        chosen = body.get("id")
        if chosen is not None and not re.fullmatch(r"[a-v0-9]{5,1024}", str(chosen)):
            raise GoogleError(400, "invalid", "Invalid resource id value.")
        if chosen in self.events:
            raise GoogleError(409, "duplicate", "The requested identifier already exists.")
        if _moment(body.get("start"), self.time_zone) is None:
            raise GoogleError(400, "required", "Missing start time.")
        if not _bool(req.query, "supportsAttachments"):
            body.pop("attachments", None)
        for key in READ_ONLY_FIELDS:
            body.pop(key, None)
        if chosen is not None:
            body["id"] = chosen
        made = self.insert(body)
        self.send_updates.append((made["id"], _one(req.query, "sendUpdates")))
        return made

    def api_patch(self, req: Request, event_id: str) -> dict[str, Any]:
        return self._write(req, event_id, replace=False)

    def api_put(self, req: Request, event_id: str) -> dict[str, Any]:
        return self._write(req, event_id, replace=True)

    def _write(self, req: Request, event_id: str, *, replace: bool) -> dict[str, Any]:
        event = self._api_event(event_id)
        if not isinstance(req.body, dict):
            raise GoogleError(400, "parseError", "Parse Error")
        wanted = req.headers.get("if-match")
        if wanted and wanted not in ("*", event["etag"]):
            raise GoogleError(412, "conditionNotMet", "Precondition Failed",
                              location="If-Match")
        body = copy.deepcopy(req.body)
        if not _bool(req.query, "supportsAttachments"):
            body.pop("attachments", None)  # silently ignored, like Google
        if replace:
            if "attachments" not in body and "attachments" in event:
                body["attachments"] = copy.deepcopy(event["attachments"])
            new = body
            for key in ("organizer", "creator", "sequence", "status", "reminders",
                        "eventType"):
                if key not in new and key in event:
                    new[key] = copy.deepcopy(event[key])
        else:
            new = _merge(copy.deepcopy(event), body)
        for key in READ_ONLY_FIELDS:
            if key in event:
                new[key] = copy.deepcopy(event[key])
            else:
                new.pop(key, None)
        if not event.get("organizer", {}).get("self") and not _attendee_only(event, new):
            raise GoogleError(403, "forbiddenForNonOrganizer",
                              "Shared properties can only be changed by the organizer of "
                              "the event.", domain="calendar")
        start, end = _moment(new.get("start"), self.time_zone), \
            _moment(new.get("end"), self.time_zone)
        if start is None or end is None:
            raise GoogleError(400, "required", "Missing end time." if start else
                              "Missing start time.")
        if end < start:
            raise GoogleError(400, "timeRangeEmpty", "The specified time range is empty.",
                              location="end.dateTime")
        if any(new.get(k) != event.get(k) for k in ("start", "end", "recurrence")):
            new["sequence"] = event.get("sequence", 0) + 1
        self.send_updates.append((event_id, _one(req.query, "sendUpdates")))
        self.events[event_id] = new
        self._touch(new)
        return copy.deepcopy(new)


def _attendee_only(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether an attendee who is not the organizer may make this change: only their
    private properties and their own response."""
    for key in set(old) | set(new):
        if key in READ_ONLY_FIELDS or key in NON_ORGANIZER_FIELDS or old.get(key) == new.get(key):
            continue
        if key == "extendedProperties":
            before, after = old.get(key) or {}, new.get(key) or {}
            if before.get("shared") == after.get("shared"):
                continue
        if key == "attendees":
            before, after = old.get(key) or [], new.get(key) or []
            own = ("responseStatus", "comment", "additionalGuests")
            if len(before) == len(after) and all(
                    a == b or (a.get("self") and {k: v for k, v in a.items() if k not in own}
                               == {k: v for k, v in b.items() if k not in own})
                    for a, b in zip(before, after, strict=True)):
                continue
        return False
    return True


# ---------------------------------------------------------------------------------
# Drive

FILE_DEFAULT_FIELDS = "kind,id,name,mimeType"
PERMISSION_DEFAULT_FIELDS = "kind,id,type,role"
_Q_STRING = r"'((?:[^'\\]|\\.)*)'"
_Q_CLAUSES = [
    ("props", re.compile(r"(appProperties|properties)\s+has\s+\{\s*key\s*=\s*" + _Q_STRING
                         + r"\s+and\s+value\s*=\s*" + _Q_STRING + r"\s*\}")),
    ("mime", re.compile(r"mimeType\s*(=|!=)\s*" + _Q_STRING)),
    ("trashed", re.compile(r"trashed\s*(=|!=)\s*(true|false)")),
    ("name", re.compile(r"name\s*(=|contains)\s*" + _Q_STRING)),
    ("parent", re.compile(_Q_STRING + r"\s+in\s+parents")),
]


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _parse_q(q: str) -> list[Callable[[dict[str, Any]], bool]]:
    """Drive's query language, the subset ``appProperties has {key='K' and value='V'}``,
    ``mimeType = '...'``, ``trashed = false``, ``name = '...'``, ``'id' in parents``,
    joined by ``and``."""
    tests: list[Callable[[dict[str, Any]], bool]] = []
    rest = q.strip()
    while rest:
        hit = next(((k, m) for k, p in _Q_CLAUSES if (m := p.match(rest))), None)
        if hit is None:
            raise GoogleError(400, "invalid", "Invalid Value", location="q")
        kind, found = hit
        g = found.groups()
        if kind == "props":
            tests.append(lambda f, g=g: f.get(g[0], {}).get(_unescape(g[1])) == _unescape(g[2]))
        elif kind == "mime":
            tests.append(lambda f, g=g: (f["mimeType"] == _unescape(g[1])) == (g[0] == "="))
        elif kind == "trashed":
            tests.append(lambda f, g=g: (f["trashed"] == (g[1] == "true")) == (g[0] == "="))
        elif kind == "name":
            tests.append(lambda f, g=g: f["name"] == _unescape(g[1]) if g[0] == "="
                         else _unescape(g[1]) in f["name"])
        else:
            tests.append(lambda f, g=g: _unescape(g[0]) in f.get("parents", []))
        rest = rest[found.end():].strip()
        joined = re.match(r"and\s+", rest, re.IGNORECASE)
        if joined:
            rest = rest[joined.end():]
        elif rest:
            raise GoogleError(400, "invalid", "Invalid Value", location="q")
    return tests


def _split_fields(spec: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in spec:
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += (ch == "(") - (ch == ")")
        current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def select_fields(value: Any, spec: str) -> Any:
    """The partial response of ``value`` for a ``fields`` parameter."""
    if isinstance(value, list):
        return [select_fields(v, spec) for v in value]
    if not isinstance(value, dict) or spec.strip() in ("", "*"):
        return copy.deepcopy(value)
    out: dict[str, Any] = {}
    for part in _split_fields(spec):
        sub = None
        if "(" in part and part.endswith(")"):
            part, sub = part[:-1].split("(", 1)
        name, _, nested = part.partition("/")
        if name not in value:
            continue
        if nested:
            inner = select_fields(value[name], nested if sub is None
                                  else f"{nested}({sub})")
            if isinstance(inner, dict) and isinstance(out.get(name), dict):
                out[name].update(inner)
            else:
                out[name] = inner
        else:
            out[name] = select_fields(value[name], sub) if sub else copy.deepcopy(value[name])
    return out


class Drive:
    """Drive files and permissions.

    Emulated: files.create/list/get/update/delete with ``appProperties``,
    ``properties``, ``trashed``; ``q`` (see :func:`_parse_q`; trashed files are listed
    unless ``q`` says otherwise, like Google); ``fields`` partial responses with
    Google's defaults (``kind,id,name,mimeType`` for a file); creating a file of
    type Google Docs makes an empty document with the same id. permissions.create
    records the asked ``sendNotificationEmail`` (default true) in
    ``permissions[file_id]``; permissions.list also shows the owner's.
    """

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.files: dict[str, dict[str, Any]] = {}
        self.permissions: dict[str, list[dict[str, Any]]] = {}
        self.root_id = "0A" + _file_id()[:17]

    def create(self, resource: dict[str, Any], *, file_id: str | None = None) -> dict[str, Any]:
        """Add a file (a test helper too); returns the stored resource."""
        with self.emulator.lock:
            now = rfc3339(now_utc())
            item = copy.deepcopy(resource)
            item.setdefault("name", "Untitled")
            item.setdefault("mimeType", "application/octet-stream")
            fid = item["id"] = file_id or item.get("id") or _file_id()
            item.update(kind="drive#file", createdTime=now, modifiedTime=now, version="1")
            item.setdefault("trashed", False)
            item.setdefault("parents", [self.root_id])
            item.setdefault("owners", [{"kind": "drive#user", "me": True,
                                        "emailAddress": self.emulator.owner}])
            for key in ("appProperties", "properties"):
                item[key] = {k: str(v) for k, v in (item.get(key) or {}).items()}
            if item["mimeType"] == DOC_MIME:
                item["webViewLink"] = f"https://docs.google.com/document/d/{fid}/edit?usp=drivesdk"
                self.files[fid] = item
                if fid not in self.emulator.docs.documents:
                    self.emulator.docs.create(item["name"], document_id=fid)
            else:
                item["webViewLink"] = f"https://drive.google.com/file/d/{fid}/view?usp=drivesdk"
                self.files[fid] = item
            self.permissions.setdefault(fid, [])
            return item

    def touch(self, file_id: str) -> None:
        item = self.files.get(file_id)
        if item:
            item["modifiedTime"] = rfc3339(now_utc())
            item["version"] = str(int(item["version"]) + 1)

    @staticmethod
    def _shown(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items()
                if not (k in ("appProperties", "properties") and not v)}

    def _file(self, file_id: str) -> dict[str, Any]:
        item = self.files.get(file_id)
        if item is None:
            raise GoogleError(404, "notFound", f"File not found: {file_id}.",
                              location="fileId")
        return item

    # -- API

    def api_create(self, req: Request) -> dict[str, Any]:
        body = req.body if isinstance(req.body, dict) else {}
        item = self.create({k: v for k, v in body.items() if k not in ("id", "kind")},
                           file_id=body.get("id"))
        return select_fields(self._shown(item),
                             _one(req.query, "fields") or FILE_DEFAULT_FIELDS)

    def api_list(self, req: Request) -> dict[str, Any]:
        tests = _parse_q(_one(req.query, "q") or "")
        found = [self._shown(f) for f in self.files.values() if all(t(f) for t in tests)]
        size = _int(req.query, "pageSize", 100, 1, 1000)
        offset = int(_one(req.query, "pageToken") or 0)
        body: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False,
                                "files": found[offset:offset + size]}
        if offset + size < len(found):
            body["nextPageToken"] = str(offset + size)
        spec = _one(req.query, "fields")
        if spec:
            return select_fields(body, spec)
        return {**body, "files": select_fields(body["files"], FILE_DEFAULT_FIELDS)}

    def api_get(self, req: Request, file_id: str) -> dict[str, Any]:
        return select_fields(self._shown(self._file(file_id)),
                             _one(req.query, "fields") or FILE_DEFAULT_FIELDS)

    def api_update(self, req: Request, file_id: str) -> dict[str, Any]:
        item = self._file(file_id)
        body = req.body if isinstance(req.body, dict) else {}
        for key, value in body.items():
            if key in ("appProperties", "properties"):
                for name, text in (value or {}).items():
                    if text is None:
                        item[key].pop(name, None)
                    else:
                        item[key][name] = str(text)
            elif key in ("name", "description", "trashed", "starred"):
                item[key] = value
            elif key == "mimeType" and value != item["mimeType"]:
                raise GoogleError(403, "fieldNotWritable",
                                  "The resource body includes fields which are not directly "
                                  "writable.")
        parents = [p for p in item["parents"]
                   if p not in (_one(req.query, "removeParents") or "").split(",")]
        parents += [p for p in (_one(req.query, "addParents") or "").split(",") if p]
        item["parents"] = parents
        self.touch(file_id)
        return select_fields(self._shown(item),
                             _one(req.query, "fields") or FILE_DEFAULT_FIELDS)

    def api_delete(self, req: Request, file_id: str) -> None:
        self._file(file_id)
        del self.files[file_id]
        self.permissions.pop(file_id, None)
        self.emulator.docs.documents.pop(file_id, None)

    def api_create_permission(self, req: Request, file_id: str) -> dict[str, Any]:
        self._file(file_id)
        body = req.body if isinstance(req.body, dict) else {}
        if body.get("role") not in ("owner", "organizer", "fileOrganizer", "writer",
                                    "commenter", "reader"):
            raise GoogleError(400, "invalid", "Invalid permission role.", location="role")
        if body.get("type") not in ("user", "group", "domain", "anyone"):
            raise GoogleError(400, "invalid", "Invalid permission type.", location="type")
        if body["type"] in ("user", "group") and not body.get("emailAddress"):
            raise GoogleError(400, "required", "Permission email address is required.",
                              location="emailAddress")
        permission = {"kind": "drive#permission", "id": str(secrets.randbelow(10**20)),
                      **{k: v for k, v in body.items() if k not in ("id", "kind")}}
        recorded = dict(permission,
                        sendNotificationEmail=_bool(req.query, "sendNotificationEmail", True))
        if "emailMessage" in req.query:
            recorded["emailMessage"] = _one(req.query, "emailMessage")
        self.permissions.setdefault(file_id, []).append(recorded)
        return select_fields(permission,
                             _one(req.query, "fields") or PERMISSION_DEFAULT_FIELDS)

    def api_list_permissions(self, req: Request, file_id: str) -> dict[str, Any]:
        self._file(file_id)
        owner = {"kind": "drive#permission", "id": "owner", "type": "user", "role": "owner",
                 "emailAddress": self.emulator.owner}
        shown = [owner] + [{k: v for k, v in p.items()
                            if k not in ("sendNotificationEmail", "emailMessage")}
                           for p in self.permissions.get(file_id, [])]
        body = {"kind": "drive#permissionList", "permissions": shown}
        spec = _one(req.query, "fields")
        if spec:
            return select_fields(body, spec)
        return {**body, "permissions": select_fields(shown, PERMISSION_DEFAULT_FIELDS)}


# ---------------------------------------------------------------------------------
# Docs


def _u16(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


@dataclass
class Document:
    """A document body as characters. Every character carries its text style; each
    paragraph's style and bullet ride on its closing newline, so splitting a paragraph
    gives both halves its style, like Docs."""

    id: str
    title: str
    chars: list[str] = field(default_factory=lambda: ["\n"])
    styles: list[dict[str, Any]] = field(default_factory=lambda: [{}])
    paragraphs: list[dict[str, Any] | None] = field(
        default_factory=lambda: [{"style": {}, "bullet": None}])
    lists: dict[str, Any] = field(default_factory=dict)
    presets: dict[str, str] = field(default_factory=dict)  # list id -> its bulletPreset
    revision: str = ""
    revisions: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(self.chars)

    def end(self) -> int:
        """The body's end index (the final newline is at ``end() - 1``)."""
        return 1 + sum(_u16(c) for c in self.chars)

    def offset(self, index: int, what: str) -> int:
        """The character offset of a UTF-16 document index; 400 outside the body or
        inside a surrogate pair."""
        position = 1
        for i, ch in enumerate(self.chars):
            if position == index:
                return i
            if position > index:
                break
            position += _u16(ch)
        else:
            if position == index:
                return len(self.chars)
        if index < 1 or index > self.end():
            raise DocsError(f"{what}: Index {index} must be within the body (1 to "
                            f"{self.end()}).")
        raise DocsError(f"{what}: Index {index} would split a surrogate pair.")

    def span(self, rng: dict[str, Any], what: str, *, final_newline: bool) -> tuple[int, int]:
        if rng.get("segmentId"):
            raise DocsError(f"{what}: only the body segment is supported by the emulator")
        start, end = rng.get("startIndex"), rng.get("endIndex")
        if not isinstance(start, int) or not isinstance(end, int):
            raise DocsError(f"{what}: range.startIndex and range.endIndex are required")
        if start >= end:
            raise DocsError(f"{what}: The range should not be empty.")
        limit = self.end() if final_newline else self.end() - 1
        if end > limit:
            raise DocsError(f"{what}: Index {end - 1} must be less than the end index of the "
                            f"referenced segment, {limit}." if final_newline else
                            f"{what}: The range cannot include the newline character at the "
                            "end of the segment.")
        return self.offset(start, what), self.offset(end, what)

    def paragraph_spans(self) -> list[tuple[int, int]]:
        spans, start = [], 0
        for i, ch in enumerate(self.chars):
            if ch == "\n":
                spans.append((start, i + 1))
                start = i + 1
        return spans

    def insert(self, at: int, text: str) -> None:
        style = copy.deepcopy(self.styles[at - 1]) if at > 0 and self.chars[at - 1] != "\n" \
            else copy.deepcopy(self.styles[at]) if self.chars[at] != "\n" else {}
        closing = next(i for i in range(at, len(self.chars)) if self.chars[i] == "\n")
        split = self.paragraphs[closing]  # the paragraph that new newlines split
        self.chars[at:at] = list(text)
        self.styles[at:at] = [copy.deepcopy(style) for _ in text]
        self.paragraphs[at:at] = [copy.deepcopy(split) if ch == "\n" else None for ch in text]

    def delete(self, start: int, end: int) -> None:
        del self.chars[start:end], self.styles[start:end], self.paragraphs[start:end]

    def render(self) -> dict[str, Any]:
        """The ``body`` of documents.get."""
        content: list[dict[str, Any]] = [{"endIndex": 1, "sectionBreak": {"sectionStyle": {
            "columnSeparatorStyle": "NONE", "contentDirection": "LEFT_TO_RIGHT",
            "sectionType": "CONTINUOUS"}}}]
        position = 1
        for start, end in self.paragraph_spans():
            elements: list[dict[str, Any]] = []
            para_start = position
            run_start = start
            for i in range(start, end + 1):
                if i == end or (i > run_start and self.styles[i] != self.styles[run_start]):
                    text = "".join(self.chars[run_start:i])
                    length = sum(_u16(c) for c in text)
                    elements.append({"startIndex": position, "endIndex": position + length,
                                     "textRun": {"content": text,
                                                 "textStyle": copy.deepcopy(
                                                     self.styles[run_start])}})
                    position += length
                    run_start = i
            meta = self.paragraphs[end - 1] or {}
            paragraph: dict[str, Any] = {
                "elements": elements,
                "paragraphStyle": {"namedStyleType": "NORMAL_TEXT",
                                   "direction": "LEFT_TO_RIGHT", **meta.get("style", {})},
            }
            if meta.get("bullet"):
                paragraph["bullet"] = copy.deepcopy(meta["bullet"])
            content.append({"startIndex": para_start, "endIndex": position,
                            "paragraph": paragraph})
        return {"content": content}


class DocsError(Exception):
    """A rejected Docs request (400 INVALID_ARGUMENT)."""


def _levels(*glyphs: dict[str, str]) -> list[dict[str, str]]:
    """The glyph of each of the nine nesting levels: ``glyphs`` over and over."""
    return [dict(glyphs[n % len(glyphs)]) for n in range(9)]


def _symbols(*symbols: str) -> list[dict[str, str]]:
    return [dict(g, glyphFormat=f"%{n}") for n, g in
            enumerate(_levels(*({"glyphSymbol": s} for s in symbols)))]


def _numbers(*types: str, nested: bool = False) -> list[dict[str, str]]:
    return [dict(g, glyphFormat="".join(f"%{k}." for k in range(n + 1)) if nested else f"%{n}.")
            for n, g in enumerate(_levels(*({"glyphType": t} for t in types)))]


# What ``lists[id].listProperties.nestingLevels`` holds for each bulletPreset: an
# unordered level names its glyphSymbol, an ordered one its glyphType. A checklist
# (BULLET_CHECKBOX) level names neither: Google's reply leaves both out, which is how
# a checklist is told from the other lists (its boxes are drawn by the editor, and
# whether one is ticked is not in the reply at all).
BULLET_GLYPHS: dict[str, list[dict[str, str]]] = {
    "BULLET_CHECKBOX": [{} for _ in range(9)],
    "BULLET_DISC_CIRCLE_SQUARE": _symbols("●", "○", "■"),
    "BULLET_DIAMONDX_ARROW3D_SQUARE": _symbols("❖", "➢", "■"),
    "NUMBERED_DECIMAL_ALPHA_ROMAN": _numbers("DECIMAL", "ALPHA", "ROMAN"),
    "NUMBERED_DECIMAL_NESTED": _numbers("DECIMAL", nested=True),
}


class Docs:
    """Google Docs documents: get, create, batchUpdate.

    Emulated: UTF-16 indices (the body starts at 1 after the section break; every
    paragraph ends with "\\n"; an emoji outside the BMP takes two), insertText at
    ``location.index`` or ``endOfSegmentLocation``, deleteContentRange (not the final
    newline), updateTextStyle / updateParagraphStyle with ``fields`` masks (a text
    style, strikethrough included, shows as the runs of ``textRun.textStyle``),
    createParagraphBullets (the bulletPreset's nesting levels in ``lists``; each
    paragraph's leading tabs are its nesting level and are removed; paragraphs right
    after a list of the same preset join that list) / deleteParagraphBullets. A
    checklist is a list whose levels have neither glyphSymbol nor glyphType (see
    ``BULLET_GLYPHS``); ticking one in the editor strikes its text through, which is
    what :meth:`human_tick` does. A batchUpdate is atomic and
    makes a new revisionId; ``writeControl.requiredRevisionId`` other than the
    current revision is a 400 mentioning the revision. Only the body segment.
    Test helpers edit "as a human" and also make a new revision.
    """

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.documents: dict[str, Document] = {}

    # -- test helpers

    def create(self, title: str = "Untitled document", text: str = "", *,
               document_id: str | None = None) -> str:
        """A new document (and its Drive file); returns its id."""
        with self.emulator.lock:
            doc_id = document_id or _file_id()
            doc = Document(doc_id, title)
            self._new_revision(doc)
            self.documents[doc_id] = doc
            if doc_id not in self.emulator.drive.files:
                self.emulator.drive.create({"name": title, "mimeType": DOC_MIME},
                                           file_id=doc_id)
            if text:
                self.human_insert(doc_id, 1, text)
            return doc_id

    def text(self, doc_id: str) -> str:
        """The body's text, every paragraph with its newline."""
        with self.emulator.lock:
            return self.documents[doc_id].text()

    def document(self, doc_id: str) -> dict[str, Any]:
        """What documents.get answers."""
        with self.emulator.lock:
            return self._rendered(self.documents[doc_id])

    def revision(self, doc_id: str) -> str:
        return self.documents[doc_id].revision

    def human_insert(self, doc_id: str, index: int, text: str) -> None:
        self._human(doc_id, {"insertText": {"location": {"index": index}, "text": text}})

    def human_delete(self, doc_id: str, start: int, end: int) -> None:
        self._human(doc_id, {"deleteContentRange": {
            "range": {"startIndex": start, "endIndex": end}}})

    def human_bullets(self, doc_id: str, start: int, end: int, checkbox: bool = False) -> None:
        preset = "BULLET_CHECKBOX" if checkbox else "BULLET_DISC_CIRCLE_SQUARE"
        self._human(doc_id, {"createParagraphBullets": {
            "range": {"startIndex": start, "endIndex": end}, "bulletPreset": preset}})

    def human_style(self, doc_id: str, start: int, end: int, **style: Any) -> None:
        """A human formatting ``[start, end)``: ``strikethrough=True``, ``bold=True``..."""
        self._human(doc_id, {"updateTextStyle": {
            "range": {"startIndex": start, "endIndex": end}, "textStyle": style,
            "fields": ",".join(style)}})

    def human_tick(self, doc_id: str, index: int, ticked: bool = True) -> None:
        """A human ticking (or unticking) the checklist item at ``index``: Docs strikes
        the paragraph's text through (or no longer)."""
        with self.emulator.lock:
            doc = self.documents[doc_id]
            at = doc.offset(index, "human_tick")
            start, end = next((s, e) for s, e in doc.paragraph_spans() if s <= at < e)
            first = 1 + sum(_u16(c) for c in doc.chars[:start])
            last = first + sum(_u16(c) for c in doc.chars[start:end])
            self.human_style(doc_id, first, last, strikethrough=ticked)

    def _human(self, doc_id: str, request: dict[str, Any]) -> None:
        with self.emulator.lock:
            try:
                self._apply(doc_id, [request])
            except DocsError as error:
                raise ValueError(str(error)) from None

    # -- internals

    def _new_revision(self, doc: Document) -> None:
        doc.revision = f"ALm37B{len(doc.revisions):04d}" + _token(9)
        doc.revisions.append(doc.revision)
        self.emulator.drive.touch(doc.id)

    def _doc(self, doc_id: str) -> Document:
        doc = self.documents.get(doc_id)
        if doc is None:
            raise GoogleError(404, "notFound", "Requested entity was not found.")
        return doc

    def _rendered(self, doc: Document, tabs: bool = False) -> dict[str, Any]:
        content = {"body": doc.render(), "lists": copy.deepcopy(doc.lists),
                   "documentStyle": {"pageSize": {"height": {"magnitude": 841.8898, "unit": "PT"},
                                                  "width": {"magnitude": 595.2756,
                                                            "unit": "PT"}}},
                   "namedStyles": {"styles": []}}
        out: dict[str, Any] = {"documentId": doc.id, "title": doc.title,
                               "revisionId": doc.revision,
                               "suggestionsViewMode": "SUGGESTIONS_INLINE"}
        if tabs:
            out["tabs"] = [{"tabProperties": {"tabId": "t.0", "title": "Tab 1", "index": 0},
                            "documentTab": content}]
        else:
            out.update(content)
        return out

    def _apply(self, doc_id: str, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        doc = self._doc(doc_id)
        work = copy.deepcopy(doc)
        replies = [self._one(work, i, r) for i, r in enumerate(requests)]
        work.revision, work.revisions = doc.revision, doc.revisions
        doc.chars, doc.styles, doc.paragraphs, doc.lists, doc.presets = (
            work.chars, work.styles, work.paragraphs, work.lists, work.presets)
        self._new_revision(doc)
        return replies

    def _one(self, doc: Document, i: int, request: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(request, dict) or len(request) != 1:
            raise DocsError(f"Invalid requests[{i}]: exactly one request kind is needed")
        [(kind, spec)] = request.items()
        what = f"Invalid requests[{i}].{kind}"
        if kind == "insertText":
            text = spec.get("text", "")
            if "location" in spec:
                location = spec["location"]
                if location.get("segmentId"):
                    raise DocsError(f"{what}: only the body segment is supported")
                index = location.get("index")
                if not isinstance(index, int) or index < 1 or index >= doc.end():
                    raise DocsError(f"{what}: Index {index} must be less than the end index of "
                                    f"the referenced segment, {doc.end()}.")
                at = doc.offset(index, what)
            elif "endOfSegmentLocation" in spec:
                at = len(doc.chars) - 1
            else:
                raise DocsError(f"{what}: location or endOfSegmentLocation is required")
            doc.insert(at, text)
        elif kind == "deleteContentRange":
            start, end = doc.span(spec.get("range") or {}, what, final_newline=False)
            doc.delete(start, end)
        elif kind in ("updateTextStyle", "updateParagraphStyle"):
            key = "textStyle" if kind == "updateTextStyle" else "paragraphStyle"
            style, fields = spec.get(key) or {}, spec.get("fields")
            if not fields:
                raise DocsError(f"{what}: fields is required")
            start, end = doc.span(spec.get("range") or {}, what, final_newline=True)
            names = None if fields.strip() == "*" else [f.strip() for f in fields.split(",")]

            def apply(target: dict[str, Any]) -> None:
                if names is None:
                    target.clear()
                    target.update(copy.deepcopy(style))
                for name in names or []:
                    top = name.split(".")[0]
                    if top in style:
                        target[top] = copy.deepcopy(style[top])
                    else:
                        target.pop(top, None)

            if kind == "updateTextStyle":
                for j in range(start, end):
                    apply(doc.styles[j])
            else:
                for ps, pe in doc.paragraph_spans():
                    if ps < end and pe > start:
                        apply(doc.paragraphs[pe - 1]["style"])
        elif kind == "createParagraphBullets":
            preset = spec.get("bulletPreset")
            if preset not in BULLET_GLYPHS:
                raise DocsError(f"{what}: unknown bulletPreset {preset}")
            start, end = doc.span(spec.get("range") or {}, what, final_newline=True)
            spans = [(ps, pe) for ps, pe in doc.paragraph_spans() if ps < end and pe > start]
            before = doc.paragraphs[spans[0][0] - 1] if spans[0][0] else None
            joined = (before or {}).get("bullet") or {}
            list_id = joined.get("listId")
            if doc.presets.get(list_id) != preset:
                list_id = "kix." + secrets.token_hex(6)
                doc.presets[list_id] = preset
                doc.lists[list_id] = {"listProperties": {"nestingLevels": [
                    dict(bulletAlignment="START", startNumber=1,
                         textStyle={"underline": False}, **glyph,
                         indentFirstLine={"magnitude": 18 + 36 * n, "unit": "PT"},
                         indentStart={"magnitude": 36 + 36 * n, "unit": "PT"})
                    for n, glyph in enumerate(BULLET_GLYPHS[preset])]}}
            for ps, pe in reversed(spans):  # the leading tabs: the level, then removed
                tabs = 0
                while doc.chars[ps + tabs] == "\t":
                    tabs += 1
                bullet: dict[str, Any] = {"listId": list_id, "textStyle": {"underline": False}}
                if tabs:
                    bullet["nestingLevel"] = min(tabs, 8)
                doc.paragraphs[pe - 1]["bullet"] = bullet
                doc.delete(ps, ps + tabs)
        elif kind == "deleteParagraphBullets":
            start, end = doc.span(spec.get("range") or {}, what, final_newline=True)
            for ps, pe in doc.paragraph_spans():
                if ps < end and pe > start:
                    doc.paragraphs[pe - 1]["bullet"] = None
        else:
            raise DocsError(f"Invalid requests[{i}]: {kind} is not supported by the emulator")
        return {}

    # -- API

    def api_create(self, req: Request) -> dict[str, Any]:
        body = req.body if isinstance(req.body, dict) else {}
        doc_id = self.create(body.get("title") or "Untitled document")
        return self._rendered(self.documents[doc_id])

    def api_get(self, req: Request, doc_id: str) -> dict[str, Any]:
        return self._rendered(self._doc(doc_id), _bool(req.query, "includeTabsContent"))

    def api_batch_update(self, req: Request, doc_id: str) -> dict[str, Any]:
        doc = self._doc(doc_id)
        body = req.body if isinstance(req.body, dict) else {}
        control = body.get("writeControl") or {}
        required = control.get("requiredRevisionId")
        if required is not None and required != doc.revision:
            raise GoogleError(400, "failedPrecondition",
                              f"The document's revision {doc.revision} does not match the "
                              f"required revision {required}: the document was changed.",
                              status="FAILED_PRECONDITION")
        target = control.get("targetRevisionId")
        if target is not None and target not in doc.revisions:
            raise GoogleError(400, "badRequest", f"Invalid target revision {target}.")
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise GoogleError(400, "badRequest", "Must specify at least one request.")
        try:
            replies = self._apply(doc_id, requests)
        except DocsError as error:
            raise GoogleError(400, "badRequest", str(error)) from None
        return {"documentId": doc_id, "replies": replies,
                "writeControl": {"requiredRevisionId": doc.revision}}


# ---------------------------------------------------------------------------------
# the server


class _Handler(BaseHTTPRequestHandler):
    emulator: Emulator

    def _serve(self) -> None:
        self.emulator._serve(self)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


_EVENTS = r"/calendar/v3/calendars/([^/]+)/events"
_FILE = r"/drive/v3/files/([^/]+)"
_DOC = r"/v1/documents/([^/:]+)"


class Emulator:
    """Google on 127.0.0.1: started on construction, :meth:`stop` to end it."""

    def __init__(self, *, owner: str = "me@example.com",
                 client_id: str = "emulator-client.apps.googleusercontent.com",
                 client_secret: str = "emulator-secret") -> None:
        self.lock = threading.RLock()
        self.owner = owner
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.change_number = 0
        self.sync_tokens: dict[str, tuple[str, int]] = {}
        self.page_tokens: dict[str, _Page] = {}
        self.calendars: dict[str, Calendar] = {}
        # Other people's busy times, as freeBusy.query reports them; an address not
        # here is outside the organisation (errors: notFound).
        self.availability: dict[str, list[tuple[datetime, datetime]]] = {}
        self.oauth = OAuth(self, client_id, client_secret)
        self.docs = Docs(self)
        self.drive = Drive(self)
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Any], frozenset[str]]] = [
            (m, re.compile(p + r"/?"), h, s) for m, p, h, s in [
                ("GET", _EVENTS, lambda r, c: self._cal(c).api_list(r), CALENDAR_READ),
                ("POST", _EVENTS, lambda r, c: self._cal(c).api_insert(r), CALENDAR_WRITE),
                ("GET", _EVENTS + r"/([^/]+)", lambda r, c, e: self._cal(c).api_get(r, e),
                 CALENDAR_READ),
                ("PATCH", _EVENTS + r"/([^/]+)", lambda r, c, e: self._cal(c).api_patch(r, e),
                 CALENDAR_WRITE),
                ("PUT", _EVENTS + r"/([^/]+)", lambda r, c, e: self._cal(c).api_put(r, e),
                 CALENDAR_WRITE),
                ("POST", r"/calendar/v3/freeBusy", self.api_freebusy, FREEBUSY),
                ("POST", r"/drive/v3/files", self.drive.api_create, DRIVE),
                ("GET", r"/drive/v3/files", self.drive.api_list, DRIVE),
                ("GET", _FILE, self.drive.api_get, DRIVE),
                ("PATCH", _FILE, self.drive.api_update, DRIVE),
                ("DELETE", _FILE, self.drive.api_delete, DRIVE),
                ("POST", _FILE + "/permissions", self.drive.api_create_permission, DRIVE),
                ("GET", _FILE + "/permissions", self.drive.api_list_permissions, DRIVE),
                ("POST", r"/v1/documents", self.docs.api_create, DOCS_WRITE),
                ("GET", _DOC, self.docs.api_get, DOCS_READ),
                ("POST", _DOC + ":batchUpdate", self.docs.api_batch_update, DOCS_WRITE),
            ]]
        handler = type("Handler", (_Handler,), {"emulator": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        port = self._httpd.server_address[1]
        self.root = f"http://127.0.0.1:{port}/"
        self.token_uri = self.root + "token"
        self.revoke_uri = self.root + "revoke"
        self.auth_uri = self.root + "o/oauth2/auth"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True, name=f"google-emulator-{port}")
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- free/busy

    def api_freebusy(self, req: Request) -> dict[str, Any]:
        """freeBusy.query: per asked calendar its busy blocks clipped to [timeMin,
        timeMax), or ``errors`` with reason ``notFound``; at most 50 calendars."""
        body = req.body if isinstance(req.body, dict) else None
        if body is None:
            raise GoogleError(400, "parseError", "Parse Error")
        try:
            low = datetime.fromisoformat(str(body["timeMin"]).replace("Z", "+00:00"))
            high = datetime.fromisoformat(str(body["timeMax"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            raise GoogleError(400, "badRequest", "Missing timeMin or timeMax.") from None
        if low.tzinfo is None or high.tzinfo is None or high <= low:
            raise GoogleError(400, "timeRangeEmpty", "The specified time range is empty.")
        items = body.get("items") or []
        if len(items) > 50:
            raise GoogleError(400, "tooManyCalendarsRequested",
                              "Too many calendars requested.")
        calendars: dict[str, Any] = {}
        with self.lock:
            for item in items:
                address = str(item.get("id", ""))
                if address not in self.availability:
                    calendars[address] = {"errors": [{"domain": "global",
                                                      "reason": "notFound"}], "busy": []}
                    continue
                calendars[address] = {"busy": [
                    {"start": _z(max(a, low)), "end": _z(min(b, high))}
                    for a, b in sorted(self.availability[address]) if a < high and b > low]}
        return {"kind": "calendar#freeBusy", "timeMin": _z(low), "timeMax": _z(high),
                "calendars": calendars}

    # -- OAuth, test-facing

    @property
    def client_id(self) -> str:
        return self.oauth.client_id

    @property
    def client_secret(self) -> str:
        return self.oauth.client_secret

    def client_config(self) -> dict[str, Any]:
        """An installed app's client secrets pointing here (InstalledAppFlow.from_client_config)."""
        return {"installed": {"client_id": self.client_id, "client_secret": self.client_secret,
                              "auth_uri": self.auth_uri, "token_uri": self.token_uri,
                              "redirect_uris": ["http://localhost"]}}

    def issue_token(self, scopes: Iterable[str]) -> dict[str, Any]:
        """Authorized-user info for ``scopes`` (Credentials.from_authorized_user_info / a
        token file): a valid access token and refresh token."""
        with self.lock:
            access, grant = self.oauth.issue(scopes)
        expiry = datetime.fromtimestamp(access.expires_at, UTC).replace(tzinfo=None)
        return {"token": access.token, "refresh_token": grant.refresh_token,
                "token_uri": self.token_uri, "client_id": self.client_id,
                "client_secret": self.client_secret, "scopes": list(grant.scopes),
                "expiry": expiry.replace(microsecond=0).isoformat() + "Z"}

    def revoke_refresh_token(self, refresh_token: str) -> None:
        with self.lock:
            self.oauth.revoke_grant(refresh_token)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far now answers 401."""
        with self.lock:
            for access in self.oauth.access.values():
                access.expires_at = 0.0

    def authorize(self, auth_url: str, granted_scopes: Iterable[str] | None = None, *,
                  deny: bool = False) -> int:
        """Play the browser on a consent URL: record a code bound to its PKCE challenge and
        the granted scopes (default: all asked), GET the redirect_uri with code, state and
        scope (or error=access_denied with ``deny``); the redirect's HTTP status."""
        with self.lock:
            target = self.oauth.consent(auth_url, granted_scopes, deny)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(target, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    # -- Calendar, Drive, Docs test-facing

    def calendar(self, calendar_id: str = "primary") -> Calendar:
        """The calendar ``calendar_id`` (made on first use); "primary" is the owner's."""
        key = "primary" if calendar_id == self.owner else calendar_id
        with self.lock:
            if key not in self.calendars:
                self.calendars[key] = Calendar(self, key, self.owner if key == "primary"
                                               else calendar_id)
            return self.calendars[key]

    def expire_sync_tokens(self) -> None:
        """Every sync token given so far now answers 410 fullSyncRequired."""
        with self.lock:
            self.sync_tokens.clear()

    def next_change(self) -> int:
        with self.lock:
            self.change_number += 1
            return self.change_number

    # -- faults and the log

    def fail(self, method: str, path_regex: str, status: int, reason: str, times: int | None = 1,
             retry_after: float | None = None) -> None:
        """Answer the next ``times`` (None: all) requests whose method and path (searched
        with the regex) match with a Google error of ``status`` and ``reason``."""
        with self.lock:
            self.faults.append(Fault(method.upper(), re.compile(path_regex), times,
                                     status=status, reason=reason, retry_after=retry_after))

    def delay(self, method: str, path_regex: str, seconds: float, times: int | None = 1) -> None:
        """Hold the next ``times`` matching requests for ``seconds`` before answering."""
        with self.lock:
            self.faults.append(Fault(method.upper(), re.compile(path_regex), times,
                                     seconds=seconds))

    def drop_reply(self, method: str, path_regex: str, times: int | None = 1) -> None:
        """Handle the next ``times`` matching requests, then close the connection with no
        answer (the server did the work; the client never hears of it)."""
        with self.lock:
            self.faults.append(Fault(method.upper(), re.compile(path_regex), times, drop=True))

    def writes(self) -> list[Request]:
        """The POST/PATCH/PUT/DELETE requests to API paths that change something (not
        OAuth, not freeBusy.query, a read sent as POST)."""
        with self.lock:
            return [r for r in self.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")
                    and r.path not in ("/token", "/revoke", "/calendar/v3/freeBusy")]

    def _cal(self, calendar_id: str) -> Calendar:
        key = "primary" if calendar_id == self.owner else calendar_id
        if key not in self.calendars:
            raise GoogleError(404, "notFound", "Not Found")
        return self.calendars[key]

    # -- serving

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        body: Any = raw or None
        bad_json = False
        if raw and kind == "application/json":
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
        elif raw and kind == "application/x-www-form-urlencoded":
            body = dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
        method = handler.command
        req = Request(method, urllib.parse.unquote(url.path),
                      urllib.parse.parse_qs(url.query, keep_blank_values=True), headers, body)
        oauth = req.path in ("/token", "/revoke")
        with self.lock:
            self.requests.append(req)
            fault = next((f for f in self.faults if f.seconds == 0 and not f.drop
                          and f.matches(method, req.path)), None)
            delay = next((f for f in self.faults if f.seconds and f.matches(method, req.path)),
                         None)
            drop = next((f for f in self.faults if f.drop and f.matches(method, req.path)),
                        None)
            for used in (fault, delay, drop):
                if used is not None and used.times is not None:
                    used.times -= 1
        if delay is not None:
            time.sleep(delay.seconds)
        extra: dict[str, str] = {}
        try:
            if fault is not None:
                if fault.retry_after is not None:
                    extra["Retry-After"] = f"{fault.retry_after:g}"
                if oauth:
                    raise OAuthError(fault.status, fault.reason, "injected fault")
                raise GoogleError(fault.status, fault.reason, f"Injected fault: {fault.reason}")
            if bad_json:
                raise GoogleError(400, "parseError", "Parse Error")
            with self.lock:
                status, payload = self._dispatch(req, url.path)
        except GoogleError as error:
            status, payload = error.code, error.body()
            extra.update(error.headers)
        except OAuthError as error:
            status, payload = error.code, error.body()
        req.status = status
        if drop is not None:  # done, but the answer is lost on the way
            handler.close_connection = True
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
            self._reply(handler, status, payload, extra)

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, payload: Any,
               extra: dict[str, str]) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        handler.send_response(status)
        if payload is not None:
            handler.send_header("Content-Type", "application/json; charset=UTF-8")
        for name, value in extra.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _dispatch(self, req: Request, raw_path: str) -> tuple[int, Any]:
        if req.method == "POST" and req.path == "/token":
            return 200, self.oauth.token_endpoint(req)
        if req.method in ("POST", "GET") and req.path == "/revoke":
            return 200, self.oauth.revoke_endpoint(req)
        allowed = False
        for method, pattern, handler, scopes in self.routes:
            found = pattern.fullmatch(raw_path)
            if not found:
                continue
            if method != req.method:
                allowed = True
                continue
            token = self.oauth.check(req.headers.get("authorization"))
            if not token.scopes & scopes:
                raise GoogleError(403, "insufficientPermissions",
                                  "Request had insufficient authentication scopes.")
            args = [urllib.parse.unquote(g) for g in found.groups()]
            result = handler(req, *args)
            return (204, None) if result is None else (200, result)
        if allowed:
            raise GoogleError(405, "methodNotAllowed", f"{req.method} is not allowed here")
        raise GoogleError(404, "notFound", f"The emulator has no {req.method} {req.path}")


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
