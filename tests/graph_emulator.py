"""A local stand-in for Microsoft Graph's calendar endpoints and the Microsoft identity
platform, over TLS on 127.0.0.1, written from Microsoft's documentation.

The real ``msal`` (which refuses an http authority) and the real ``httpx`` talk to it:
the server certificate comes from the tests' CA (``tests/pki.py``). One root serves both:

Identity (``{root}{tenant}/...``):

- ``GET  v2.0/.well-known/openid-configuration``: the discovery document MSAL reads.
- ``GET  oauth2/v2.0/authorize``: the consent screen, played without a person: it
  redirects straight to ``redirect_uri`` with a code (or ``error=access_denied`` when
  :attr:`Emulator.refuse_consent` is set), granting :attr:`Emulator.granted` if set.
- ``POST oauth2/v2.0/devicecode``: a device code; :meth:`Emulator.approve_device` is
  the person typing the user code in a browser.
- ``POST oauth2/v2.0/token``: ``authorization_code`` (PKCE S256 checked),
  ``refresh_token`` and the device-code grant; ``invalid_grant`` (AADSTS70008) for a
  revoked refresh token, ``authorization_pending`` while a device code waits. Answers
  carry ``client_info`` and an unsigned ``id_token``, as MSAL expects.

Graph (``{root}v1.0/me/...``), with Bearer tokens issued above and their scopes
(``Calendars.Read`` reads, ``Calendars.ReadWrite`` writes; 401 / 403 otherwise):

- ``calendars``: the mailbox's calendars.
- ``calendarView/delta`` (and ``calendars/{id}/calendarView/delta``): the instances
  (single events, occurrences, exceptions; never series masters, never cancelled
  occurrences) in ``startDateTime``..``endDateTime``, paged by ``Prefer:
  odata.maxpagesize`` with ``@odata.nextLink``; the last page has an
  ``@odata.deltaLink``, and a round with it returns only changed instances and
  ``@removed`` entries. :meth:`Emulator.expire_delta_links` makes old links answer
  410 ``syncStateNotFound``.
- ``events/{id}``: GET (``$select``; ``cancelledOccurrences`` only when selected;
  ``$expand=singleValueExtendedProperties($filter=id eq '...')``) and PATCH (a merge;
  ``If-Match`` against ``@odata.etag``, 412 when it changed).
- ``events/{id}/instances``: a series' instances in a window.
- Times in UTC, or in the zone of ``Prefer: outlook.timezone="..."``.
- Faults: :meth:`Emulator.fail` answers a status (429/503 with ``Retry-After``, ...) a
  number of times; every request is logged in :attr:`Emulator.requests`.

Seed data with :meth:`Emulator.add_event` (a single event or a series master with a
``recurrence``), then change it as Outlook would: :meth:`move_occurrence`,
:meth:`cancel_occurrence`, :meth:`respond_occurrence`, :meth:`update`, :meth:`delete`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import rrule

READ = frozenset({"Calendars.Read", "Calendars.ReadWrite"})
WRITE = frozenset({"Calendars.ReadWrite"})
WINDOWS = {"W. Europe Standard Time": "Europe/Berlin", "GMT Standard Time": "Europe/London",
           "Pacific Standard Time": "America/Los_Angeles", "UTC": "UTC"}
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
PROPERTY_NAME = "singleValueExtendedProperties"


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(WINDOWS.get(name, name))


def graph_time(moment: datetime, zone_name: str = "UTC") -> dict[str, str]:
    """A dateTimeTimeZone as Graph writes it: local time with 7 fraction digits."""
    local = moment.astimezone(zone(zone_name)).replace(tzinfo=None)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_name}


def read_time(value: dict[str, str]) -> datetime:
    text = value["dateTime"].split(".")[0]
    return datetime.fromisoformat(text).replace(tzinfo=zone(value.get("timeZone") or "UTC"))


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400,
                 suberror: str | None = None) -> None:
        super().__init__(description)
        self.error, self.description, self.status, self.suberror = (
            error, description, status, suberror)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    code: str
    times: int | None
    retry_after: str | None = None
    delay: float = 0.0  # seconds to wait before answering (0: answer the fault now)


@dataclass
class Series:
    """What Outlook keeps beside a series master: its exceptions and cancellations,
    keyed by the occurrence's original start (UTC)."""

    exceptions: dict[datetime, dict[str, Any]] = field(default_factory=dict)
    cancelled: set[datetime] = field(default_factory=set)


class Emulator:
    """Graph and the identity platform on https://127.0.0.1:PORT/; :meth:`stop` ends it."""

    def __init__(self, ssl_context: Any, *, owner: str = "me@example.com",
                 client_id: str = "11111111-2222-3333-4444-555555555555") -> None:
        self.lock = threading.RLock()
        self.owner = owner
        self.client_id = client_id
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.events: dict[str, dict[str, Any]] = {}  # masters and single events
        self.series: dict[str, Series] = {}
        self.properties: dict[str, dict[str, str]] = {}  # event id -> extended properties
        self.calendar_id = "AAMkCalendarDefault="
        self.access: dict[str, tuple[frozenset[str], float]] = {}  # token -> scopes, expiry
        self.refresh: dict[str, frozenset[str]] = {}  # refresh token -> scopes
        self.codes: dict[str, dict[str, Any]] = {}
        self.devices: dict[str, dict[str, Any]] = {}
        self.delta_links: dict[str, tuple[str, datetime, datetime, dict[str, str]]] = {}
        self.pages: dict[str, tuple[list[dict[str, Any]], str]] = {}
        self.max_page = 50
        self.granted: frozenset[str] | None = None  # scopes the person consents to
        self.refuse_consent = False
        self.auto_approve = False  # device codes: the person has already typed the code
        self.access_seconds = 3600
        self.ca_file: str | None = None  # set by the fixture: the CA that signed the cert
        handler = type("Handler", (_Handler,), {"emulator": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, address: None  # a client that hung up
        self._httpd.socket = ssl_context.wrap_socket(self._httpd.socket, server_side=True)
        port = self._httpd.server_address[1]
        self.root = f"https://127.0.0.1:{port}/"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True, name=f"graph-emulator-{port}")
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- test-facing: identity ---------------------------------------------------

    def issue(self, scopes: list[str] | frozenset[str], nonce: str | None = None
              ) -> dict[str, Any]:
        """A token answer, as the token endpoint gives one (for seeding caches)."""
        granted = frozenset(scopes)
        access, refresh = "eyA" + secrets.token_urlsafe(24), "M.R3_" + secrets.token_urlsafe(24)
        with self.lock:
            self.access[access] = (granted, time.time() + self.access_seconds)
            self.refresh[refresh] = granted
        uid, utid = "00000000-0000-0000-0000-00000000abcd", "72f988bf-0000-0000-0000-000000000000"
        id_token = ".".join([_b64({"alg": "none", "typ": "JWT"}), _b64({
            "aud": self.client_id, "iss": f"{self.root}{utid}/v2.0", "iat": int(time.time()),
            "exp": int(time.time()) + 3600, "oid": uid, "tid": utid, "sub": "subject",
            "preferred_username": self.owner, "name": "Me",
            **({"nonce": nonce} if nonce else {})}), ""])
        return {"token_type": "Bearer", "scope": " ".join(sorted(granted)),
                "expires_in": self.access_seconds, "ext_expires_in": self.access_seconds,
                "access_token": access, "refresh_token": refresh, "id_token": id_token,
                "client_info": _b64({"uid": uid, "utid": utid})}

    def revoke_all(self) -> None:
        """The person (or an admin) revoked the sessions: every token stops working."""
        with self.lock:
            self.refresh.clear()
            self.access.clear()

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access = {k: (s, 0.0) for k, (s, _) in self.access.items()}

    def approve_device(self, user_code: str) -> None:
        with self.lock:
            for device in self.devices.values():
                if device["user_code"] == user_code:
                    device["approved"] = True

    # --- test-facing: faults and the log ----------------------------------------------

    def fail(self, method: str, path: str, status: int, code: str = "", *,
             times: int | None = 1, retry_after: str | None = None) -> None:
        self.faults.append(Fault(method, re.compile(path), status, code, times, retry_after))

    def delay(self, method: str, path: str, seconds: float, *, times: int | None = 1) -> None:
        """Answer matching requests normally, but only after ``seconds`` (a slow Graph)."""
        self.faults.append(Fault(method, re.compile(path), 0, "", times, delay=seconds))

    def graph_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path.startswith("/v1.0/")]

    def expire_delta_links(self) -> None:
        with self.lock:
            self.delta_links.clear()

    # --- test-facing: the calendar ----------------------------------------------------

    def add_event(self, *, subject: str, start: datetime, minutes: int,
                  attendees: list[tuple[str, str]], organizer: str | None = None,
                  recurrence: dict[str, Any] | None = None, zone_name: str =
                  "W. Europe Standard Time", body: str = "<html><body><p>Agenda</p></body>"
                  "</html>", uid: str | None = None, show_as: str = "busy") -> dict[str, Any]:
        """A single event or (with ``recurrence``, Graph's patternedRecurrence) a series
        master. ``attendees``: (address, response) pairs."""
        organizer = organizer or self.owner
        event_id = "AAMk" + secrets.token_urlsafe(18)
        end = start + timedelta(minutes=minutes)
        resource = {
            "id": event_id,
            "iCalUId": uid or "040000008200E00074C5B7101A82E008" + secrets.token_hex(16),
            "subject": subject,
            "body": {"contentType": "html", "content": body},
            "bodyPreview": re.sub(r"<[^>]+>", "", body)[:255],
            "start": graph_time(start, zone_name), "end": graph_time(end, zone_name),
            "originalStartTimeZone": zone_name, "originalEndTimeZone": zone_name,
            "isAllDay": False, "isCancelled": False, "showAs": show_as,
            "type": "seriesMaster" if recurrence else "singleInstance",
            "organizer": {"emailAddress": {"name": organizer.split("@")[0],
                                           "address": organizer}},
            "isOrganizer": organizer == self.owner,
            "responseStatus": {"response": "organizer" if organizer == self.owner
                               else "accepted", "time": "0001-01-01T00:00:00Z"},
            "attendees": [{"type": "required", "status": {"response": r,
                                                          "time": "0001-01-01T00:00:00Z"},
                           "emailAddress": {"name": a.split("@")[0], "address": a}}
                          for a, r in attendees],
            "location": {"displayName": ""},
            "recurrence": recurrence,
            "hasAttachments": False,
        }
        with self.lock:
            self.events[event_id] = resource
            if recurrence:
                self.series[event_id] = Series()
            self._touch(resource)
        return copy.deepcopy(resource)

    def add_room(self, event_id: str, address: str) -> None:
        with self.lock:
            self.events[event_id]["attendees"].append(
                {"type": "resource", "status": {"response": "accepted", "time": ""},
                 "emailAddress": {"name": "Room", "address": address}})
            self._touch(self.events[event_id])

    def update(self, event_id: str, **fields: Any) -> None:
        with self.lock:
            self.events[event_id].update(copy.deepcopy(fields))
            self._touch(self.events[event_id])

    def delete(self, event_id: str) -> None:
        with self.lock:
            self.events.pop(event_id)
            self.series.pop(event_id, None)

    def move_occurrence(self, master_id: str, original: datetime, start: datetime,
                        minutes: int | None = None) -> None:
        master = self.events[master_id]
        length = read_time(master["end"]) - read_time(master["start"])
        end = start + (timedelta(minutes=minutes) if minutes is not None else length)
        zone_name = master["originalStartTimeZone"]
        self._except(master_id, original, start=graph_time(start, zone_name),
                     end=graph_time(end, zone_name))

    def respond_occurrence(self, master_id: str, original: datetime, address: str,
                           response: str) -> None:
        """An attendee answers one occurrence: in the organizer's calendar it becomes an
        exception carrying the answer."""
        with self.lock:
            key = original.astimezone(UTC)
            current = self.series[master_id].exceptions.get(key, {})
            people = copy.deepcopy(current.get("attendees")
                                   or self.events[master_id]["attendees"])
        for person in people:
            if person["emailAddress"]["address"] == address:
                person["status"]["response"] = response
        self._except(master_id, original, attendees=people)

    def cancel_occurrence(self, master_id: str, original: datetime) -> None:
        with self.lock:
            key = original.astimezone(UTC)
            self.series[master_id].cancelled.add(key)
            self.series[master_id].exceptions.pop(key, None)
            self._touch(self.events[master_id])

    def _except(self, master_id: str, original: datetime, **fields: Any) -> None:
        with self.lock:
            key = original.astimezone(UTC)
            self.series[master_id].exceptions.setdefault(key, {}).update(copy.deepcopy(fields))
            self._touch(self.events[master_id])

    def _touch(self, resource: dict[str, Any]) -> None:
        change = secrets.token_urlsafe(12)
        resource["changeKey"] = change
        resource["@odata.etag"] = f'W/"{change}"'
        resource["lastModifiedDateTime"] = datetime.now(UTC).strftime(
            "%Y-%m-%dT%H:%M:%S.0000000Z")

    # --- instances ----------------------------------------------------------------------

    def _starts(self, master: dict[str, Any]) -> list[datetime]:
        """Every original start of a series, expanded from its pattern in its zone."""
        pattern, span = master["recurrence"]["pattern"], master["recurrence"]["range"]
        first = read_time(master["start"])
        freq = {"daily": rrule.DAILY, "weekly": rrule.WEEKLY,
                "absoluteMonthly": rrule.MONTHLY}[pattern["type"]]
        kwargs: dict[str, Any] = {"interval": pattern.get("interval", 1)}
        if pattern["type"] == "weekly":
            kwargs["byweekday"] = [DAYS.index(d) for d in pattern["daysOfWeek"]]
        if pattern["type"] == "absoluteMonthly":
            kwargs["bymonthday"] = pattern["dayOfMonth"]
        if span["type"] == "numbered":
            kwargs["count"] = span["numberOfOccurrences"]
        elif span["type"] == "endDate":
            last = date.fromisoformat(span["endDate"])
            kwargs["until"] = datetime.combine(last, datetime.max.time()).replace(
                tzinfo=first.tzinfo)
        else:
            kwargs["until"] = first + timedelta(days=3 * 365)
        local = first.replace(tzinfo=None)
        starts = rrule.rrule(freq, dtstart=local, **{
            k: (v.replace(tzinfo=None) if k == "until" else v) for k, v in kwargs.items()})
        return [s.replace(tzinfo=first.tzinfo) for s in starts]

    def instances(self, start: datetime, end: datetime, *,
                  only: str | None = None) -> list[dict[str, Any]]:
        """The calendar view: single events and the series' instances overlapping the
        window (cancelled occurrences left out), as resources in UTC."""
        out = []
        with self.lock:
            for event_id, master in self.events.items():
                if only is not None and event_id != only:
                    continue
                if master["type"] == "singleInstance":
                    try:
                        inside = (read_time(master["start"]) < end
                                  and read_time(master["end"]) > start)
                    except ValueError:
                        inside = True  # a broken item (seeded by a test) is always in view
                    if inside:
                        out.append(self._public(master))
                    continue
                length = read_time(master["end"]) - read_time(master["start"])
                series = self.series[event_id]
                for original in self._starts(master):
                    key = original.astimezone(UTC)
                    if key in series.cancelled:
                        continue
                    instance = self._instance(master, original, length,
                                              series.exceptions.get(key))
                    if read_time(instance["start"]) < end and read_time(instance["end"]) > start:
                        out.append(instance)
        return out

    def _instance(self, master: dict[str, Any], original: datetime, length: timedelta,
                  exception: dict[str, Any] | None) -> dict[str, Any]:
        key = original.astimezone(UTC)
        instance = {k: copy.deepcopy(v) for k, v in master.items()
                    if k not in ("recurrence", "changeKey", "@odata.etag")}
        zone_name = master["originalStartTimeZone"]
        instance.update({
            "id": f"{master['id']}_{key:%Y%m%dT%H%M%S}",
            "iCalUId": hashlib.sha1(f"{master['iCalUId']}{key}".encode()).hexdigest(),
            "seriesMasterId": master["id"],
            "type": "exception" if exception else "occurrence",
            "originalStart": key.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "start": graph_time(original, zone_name),
            "end": graph_time(original + length, zone_name),
            "recurrence": None,
        })
        instance.update(copy.deepcopy(exception or {}))
        content = {k: v for k, v in instance.items() if k != "lastModifiedDateTime"}
        digest = hashlib.sha1(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
        instance["changeKey"] = digest
        instance["@odata.etag"] = f'W/"{digest}"'
        return instance

    def _public(self, resource: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(resource)

    # --- serving ----------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(handler.path)
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        content_type = handler.headers.get("Content-Type", "")
        if "x-www-form-urlencoded" in content_type:
            body: Any = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
        request = Request(handler.command, parsed.path, query,
                          {k.lower(): v for k, v in handler.headers.items()}, body)
        with self.lock:
            self.requests.append(request)
        status, headers, payload = self._answer(request)
        request.status = status
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        if "Content-Type" not in headers:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, request: Request) -> tuple[int, dict[str, str], Any]:
        for fault in list(self.faults):
            if fault.method == request.method and fault.pattern.search(request.path):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                if fault.delay:
                    time.sleep(fault.delay)
                    break
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return fault.status, headers, {"error": {"code": fault.code or "Fault",
                                                         "message": "injected fault"}}
        try:
            if request.path.startswith("/v1.0/"):
                return self._graph(request)
            return self._identity(request)
        except GraphError as exc:
            return exc.status, exc.headers, {"error": {
                "code": exc.code, "message": exc.message,
                "innerError": {"request-id": secrets.token_hex(8)}}}
        except OAuthError as exc:
            body = {"error": exc.error, "error_description": exc.description,
                    "error_codes": [70008 if exc.error == "invalid_grant" else 50000],
                    "timestamp": datetime.now(UTC).isoformat(),
                    "trace_id": secrets.token_hex(8), "correlation_id": secrets.token_hex(8)}
            if exc.suberror:
                body["suberror"] = exc.suberror
            return exc.status, {}, body

    # --- identity ---------------------------------------------------------------------

    def _identity(self, request: Request) -> tuple[int, dict[str, str], Any]:
        match = re.fullmatch(r"/([^/]+)/(v2\.0/\.well-known/openid-configuration|"
                             r"oauth2/v2\.0/(?:authorize|token|devicecode))", request.path)
        if not match:
            return 404, {}, {"error": "not_found", "error_description": request.path}
        tenant, what = match.groups()
        base = f"{self.root}{tenant}"
        if what.endswith("openid-configuration"):
            return 200, {}, {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        if what.endswith("authorize"):
            return self._authorize(request)
        form = request.body if isinstance(request.body, dict) else {}
        if form.get("client_id") != self.client_id:
            raise OAuthError("unauthorized_client", "AADSTS700016: Application with identifier "
                             f"'{form.get('client_id')}' was not found in the directory.")
        if what.endswith("devicecode"):
            code = secrets.token_urlsafe(24)
            user_code = secrets.token_hex(4).upper()
            self.devices[code] = {"user_code": user_code, "approved": self.auto_approve,
                                  "scopes": self._wanted(form.get("scope", ""))}
            return 200, {}, {"device_code": code, "user_code": user_code,
                             "verification_uri": f"{self.root}devicelogin", "expires_in": 900,
                             "interval": 1, "message": f"To sign in, use a web browser to "
                             f"open the page {self.root}devicelogin and enter the code "
                             f"{user_code} to authenticate."}
        return self._token(form)

    @staticmethod
    def _wanted(scope: str) -> frozenset[str]:
        return frozenset(s.rsplit("/", 1)[-1] for s in scope.split()
                         if s not in ("openid", "profile", "offline_access"))

    def _grant(self, wanted: frozenset[str]) -> frozenset[str]:
        return wanted if self.granted is None else wanted & self.granted

    def _authorize(self, request: Request) -> tuple[int, dict[str, str], Any]:
        q = {k: v[0] for k, v in request.query.items()}
        redirect = q.get("redirect_uri", "")
        host = urllib.parse.urlsplit(redirect).hostname or ""
        if q.get("client_id") != self.client_id or host not in ("localhost", "127.0.0.1"):
            return 400, {"Content-Type": "text/html"}, b"<p>AADSTS50011: redirect_uri</p>"
        if self.refuse_consent:
            answer = {"error": "access_denied", "error_description": "the user declined",
                      "state": q.get("state", "")}
        else:
            code = secrets.token_urlsafe(24)
            self.codes[code] = {"challenge": q.get("code_challenge"),
                                "method": q.get("code_challenge_method", "plain"),
                                "redirect_uri": redirect, "nonce": q.get("nonce"),
                                "scopes": self._grant(self._wanted(q.get("scope", "")))}
            answer = {"code": code, "state": q.get("state", "")}
        if q.get("response_mode") == "form_post":  # the answer in a form the page posts
            fields = "".join(f'<input type="hidden" name="{k}" value="{v}">'
                             for k, v in answer.items())
            page = (f'<html><body onload="document.forms[0].submit()"><form method="post" '
                    f'action="{redirect}">{fields}</form></body></html>')
            return 200, {"Content-Type": "text/html"}, page.encode()
        location = redirect + ("&" if "?" in redirect else "?") + urllib.parse.urlencode(answer)
        return 302, {"Location": location, "Content-Type": "text/html"}, b""

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = self.codes.pop(form.get("code", ""), None)
            if code is None or code["redirect_uri"] != form.get("redirect_uri"):
                raise OAuthError("invalid_grant", "AADSTS70000: the code is invalid")
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if code["method"] != "S256" or digest.decode().rstrip("=") != code["challenge"]:
                raise OAuthError("invalid_grant", "AADSTS501481: the code_verifier does not "
                                 "match the code_challenge")
            return 200, {}, self.issue(code["scopes"], nonce=code["nonce"])
        if grant == "refresh_token":
            with self.lock:
                scopes = self.refresh.pop(form.get("refresh_token", ""), None)
            if scopes is None:
                raise OAuthError("invalid_grant", "AADSTS70008: The provided authorization "
                                 "code or refresh token has expired due to inactivity.",
                                 suberror="bad_token")
            wanted = self._wanted(form.get("scope", "")) or scopes
            if not wanted <= scopes:
                raise OAuthError("invalid_grant", "AADSTS65001: The user or administrator has "
                                 "not consented to use the application.",
                                 suberror="consent_required")
            return 200, {}, self.issue(scopes)
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            device = self.devices.get(form.get("device_code", ""))
            if device is None:
                raise OAuthError("expired_token", "AADSTS70019: the code expired")
            if not device["approved"]:
                raise OAuthError("authorization_pending", "AADSTS70016: pending")
            del self.devices[form["device_code"]]
            return 200, {}, self.issue(self._grant(device["scopes"]))
        raise OAuthError("unsupported_grant_type", f"AADSTS70003: {grant}")

    # --- Graph ------------------------------------------------------------------------

    def _scopes(self, request: Request) -> frozenset[str]:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip()
        with self.lock:
            found = self.access.get(token)
        if not header.startswith("Bearer ") or found is None or found[1] < time.time():
            raise GraphError(401, "InvalidAuthenticationToken",
                             "Access token has expired or is not yet valid.")
        return found[0]

    def _graph(self, request: Request) -> tuple[int, dict[str, str], Any]:
        scopes = self._scopes(request)
        need = WRITE if request.method == "PATCH" else READ
        if not scopes & need:
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials "
                             "and try again.")
        path = request.path.removeprefix("/v1.0/me")
        routes: list[tuple[str, str, Callable[..., Any]]] = [
            ("GET", r"/calendars", self._calendars),
            ("GET", r"/calendarView/delta", self._delta),
            ("GET", r"/calendars/([^/]+)/calendarView/delta", self._delta),
            ("GET", r"/events/([^/]+)/instances", self._instances),
            ("GET", r"/events/([^/]+)", self._get),
            ("PATCH", r"/events/([^/]+)", self._patch),
        ]
        for method, pattern, answer in routes:
            match = re.fullmatch(pattern, path)
            if match and method == request.method:
                return answer(request, *match.groups())
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{path}'.")

    def _calendars(self, request: Request) -> tuple[int, dict[str, str], Any]:
        return 200, {}, {"value": [
            {"id": self.calendar_id, "name": "Calendar", "isDefaultCalendar": True,
             "canEdit": True, "owner": {"name": "Me", "address": self.owner}},
            {"id": "AAMkCalendarBirthdays=", "name": "Birthdays", "isDefaultCalendar": False,
             "canEdit": False, "owner": {"name": "Me", "address": self.owner}}]}

    def _zone_of(self, request: Request) -> str:
        prefer = request.headers.get("prefer", "")
        match = re.search(r'outlook\.timezone="([^"]+)"', prefer)
        return match.group(1) if match else "UTC"

    def _page_size(self, request: Request) -> int:
        match = re.search(r"odata\.maxpagesize=(\d+)", request.headers.get("prefer", ""))
        return min(int(match.group(1)) if match else self.max_page, self.max_page)

    def _in_zone(self, resource: dict[str, Any], zone_name: str) -> dict[str, Any]:
        out = copy.deepcopy(resource)
        for key in ("start", "end"):
            if out.get(key) and out[key].get("dateTime"):
                out[key] = graph_time(read_time(out[key]), zone_name)
        return out

    def _window(self, request: Request) -> tuple[datetime, datetime]:
        try:
            start = datetime.fromisoformat(request.query["startDateTime"][0])
            end = datetime.fromisoformat(request.query["endDateTime"][0])
        except (KeyError, ValueError):
            raise GraphError(400, "ErrorInvalidParameter", "This request requires a time "
                             "window specified by the query string parameters StartDateTime "
                             "and EndDateTime.") from None
        if start.tzinfo is None:
            start, end = start.replace(tzinfo=UTC), end.replace(tzinfo=UTC)
        return start, end

    def _delta(self, request: Request, calendar: str | None = None
               ) -> tuple[int, dict[str, str], Any]:
        if calendar is not None and calendar != self.calendar_id:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found "
                             "in the store.")
        base = f"{self.root}v1.0/me" + (f"/calendars/{calendar}" if calendar else "")
        base += "/calendarView/delta"
        skip = request.query.get("$skiptoken", [None])[0]
        if skip is not None:
            page = self.pages.pop(skip, None)
            if page is None:
                raise GraphError(410, "syncStateNotFound", "The sync state generation is "
                                 "not found.")
            items, final = page
        else:
            token = request.query.get("$deltatoken", [None])[0]
            if token is not None:
                known = self.delta_links.get(token)
                if known is None:
                    raise GraphError(410, "syncStateNotFound", "The sync state generation "
                                     "is not found. Resync required.")
                _, start, end, before = known
            else:
                start, end = self._window(request)
                before = {}
            current = {i["id"]: i for i in self.instances(start, end)}
            items = [i for key, i in current.items()
                     if before.get(key) != i["@odata.etag"]]
            items += [{"@odata.type": "#microsoft.graph.event", "id": key,
                       "@removed": {"reason": "deleted"}} for key in before if key not in current]
            final = secrets.token_urlsafe(16)
            self.delta_links[final] = (calendar or "", start, end,
                                       {k: i["@odata.etag"] for k, i in current.items()})
        size = self._page_size(request)
        page, rest = items[:size], items[size:]
        zone_name = self._zone_of(request)
        body: dict[str, Any] = {"@odata.context": f"{self.root}v1.0/$metadata#Collection(event)",
                                "value": [i if "@removed" in i else self._in_zone(i, zone_name)
                                          for i in page]}
        if rest:
            skip = secrets.token_urlsafe(16)
            self.pages[skip] = (rest, final)
            body["@odata.nextLink"] = f"{base}?$skiptoken={skip}"
        else:
            body["@odata.deltaLink"] = f"{base}?$deltatoken={final}"
        return 200, {}, body

    def _find(self, event_id: str) -> dict[str, Any]:
        with self.lock:
            if event_id in self.events:
                return self.events[event_id]
            master_id, _, _ = event_id.rpartition("_")
            master = self.events.get(master_id)
            if master is not None and master["type"] == "seriesMaster":
                for instance in self.instances(datetime.min.replace(tzinfo=UTC),
                                               datetime.max.replace(tzinfo=UTC),
                                               only=master_id):
                    if instance["id"] == event_id:
                        return instance
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in "
                         "the store.")

    def _get(self, request: Request, event_id: str) -> tuple[int, dict[str, str], Any]:
        resource = self._in_zone(self._find(event_id), self._zone_of(request))
        select = set(",".join(request.query.get("$select", [])).split(",")) - {""}
        if resource.get("type") == "seriesMaster":
            series = self.series[event_id]
            local = zone(resource["originalStartTimeZone"])
            resource["cancelledOccurrences"] = [
                f"OID.{event_id}.{moment.astimezone(local):%Y-%m-%d}"
                for moment in sorted(series.cancelled)]
            resource["exceptionOccurrences"] = [
                f"{event_id}_{moment:%Y%m%dT%H%M%S}" for moment in sorted(series.exceptions)]
        if select:
            resource = {k: v for k, v in resource.items()
                        if k in select or k in ("id", "@odata.etag")}
        else:
            resource.pop("cancelledOccurrences", None)  # returned only on $select
            resource.pop("exceptionOccurrences", None)
        expand = ",".join(request.query.get("$expand", []))
        match = re.search(r"singleValueExtendedProperties\(\$filter=id eq '([^']+)'\)", expand)
        if match:
            value = self.properties.get(event_id, {}).get(match.group(1))
            if value is not None:
                resource[PROPERTY_NAME] = [{"id": match.group(1), "value": value}]
        return 200, {}, resource

    def _patch(self, request: Request, event_id: str) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            if event_id not in self.events:
                self._find(event_id)
                raise GraphError(400, "ErrorInvalidRequest", "the emulator patches masters "
                                 "and single events only")
            resource = self.events[event_id]
            match = request.headers.get("if-match")
            if match and match != resource["@odata.etag"]:
                raise GraphError(412, "ErrorIrresolvableConflict", "The send or update "
                                 "operation could not be performed because the change key "
                                 "passed in the request does not match the current change key "
                                 "for the item.")
            body = dict(request.body or {})
            for prop in body.pop(PROPERTY_NAME, None) or []:
                self.properties.setdefault(event_id, {})[prop["id"]] = prop["value"]
            for key, value in body.items():
                resource[key] = copy.deepcopy(value)
            self._touch(resource)
        return self._get(request, event_id)

    def _instances(self, request: Request, event_id: str) -> tuple[int, dict[str, str], Any]:
        self._find(event_id)
        start, end = self._window(request)
        zone_name = self._zone_of(request)
        return 200, {}, {"value": [self._in_zone(i, zone_name)
                                   for i in self.instances(start, end, only=event_id)]}


class _Handler(BaseHTTPRequestHandler):
    emulator: Emulator
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        self.emulator._serve(self)

    do_GET = do_POST = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass
