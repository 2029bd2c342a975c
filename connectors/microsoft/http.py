"""Talking to Microsoft Graph over httpx: one timeout on every call, retries only
where Microsoft says to, errors turned into ours.

- Every call has the source's ``timeout_seconds`` (connect, read, write, pool).
- 429, 503 and 504 are retried (``attempts`` in all) after ``Retry-After`` when Graph
  sends it (at most :data:`MAX_RETRY_AFTER` seconds), else after 1, 2, 4, ... seconds
  with up to a second of jitter. A network failure or a timeout is retried the same
  way. No other 4xx is retried: it says something is wrong that waiting won't fix.
- A 401 asks MSAL once for a fresh access token and tries again; a second 401 means
  the sign-in no longer works (:class:`~daemon.core.errors.NeedsSignIn`).
- ``@odata.nextLink`` and ``@odata.deltaLink`` are followed only below ``api_root``:
  the token is never sent anywhere else.
- Errors name the source, the call, Graph's status and code; never a token.

:class:`MsalHttp` hands MSAL the same kind of client (TLS with ``ca_file``, the
timeout), in the shape MSAL asks of an ``http_client``.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from connectors.microsoft.errors import GraphError
from daemon.core.errors import NeedsSignIn

log = logging.getLogger(__name__)

RETRYABLE = frozenset({429, 503, 504})
MAX_DELAY = 32.0
MAX_RETRY_AFTER = 120.0
PREFER_UTC = 'outlook.timezone="UTC"'


def verify(ca_file: str | None) -> ssl.SSLContext | bool:
    """What httpx verifies the server with: the system's CAs, or only ``ca_file``'s."""
    if ca_file is None:
        return True
    return ssl.create_default_context(cafile=ca_file)


def client(*, timeout: float, ca_file: str | None) -> httpx.Client:
    """An httpx client that verifies TLS (with ``ca_file`` when set) and times out.
    Environment proxies are honoured; certificate bundles from the environment are not
    (``ca_file`` says which CA to trust)."""
    return httpx.Client(verify=verify(ca_file), timeout=httpx.Timeout(timeout),
                        follow_redirects=False, headers={"User-Agent": "cadenced"})


def backoff(attempt: int, retry_after: str | None = None) -> float:
    """Seconds before attempt ``attempt + 1``: Retry-After (seconds) when given, else
    1, 2, 4, ... plus up to a second of jitter, at most :data:`MAX_DELAY`."""
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER)
        except ValueError:
            pass  # an HTTP date: the usual backoff
    return min(2.0 ** attempt + random.random(), MAX_DELAY)  # noqa: S311 - jitter, not crypto


class Tokens(Protocol):
    def access_token(self, *, force_refresh: bool = False) -> str: ...


def _graph_error(response: httpx.Response) -> tuple[str | None, str]:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return None, response.reason_phrase
    if not isinstance(error, dict):
        return None, response.reason_phrase
    return error.get("code"), str(error.get("message") or response.reason_phrase).strip()


def _hint(status: int, code: str | None, source: str) -> str | None:
    sign_in = f"run: cadenced auth microsoft --source {source}"
    if status == 403:
        return f"the sign-in lacks a permission this needs; {sign_in}"
    if status == 404:
        return "check the source's calendar (cadenced auth status lists the calendars)"
    if status in RETRYABLE:
        return "Microsoft Graph is busy; cadenced tries again at its next sync"
    return None


class Graph:
    """Calls to one source's Graph root with its sign-in."""

    def __init__(self, *, source: str, api_root: str, tokens: Tokens, timeout: float,
                 ca_file: str | None, sleep: Callable[[float], None] = time.sleep,
                 attempts: int = 5) -> None:
        self.source = source
        self.api_root = api_root
        self.tokens = tokens
        self.sleep = sleep
        self.attempts = attempts
        self.http = client(timeout=timeout, ca_file=ca_file)
        self.calls = 0  # requests sent: for tests and benchmarks

    def url(self, path: str) -> str:
        if "://" not in path:
            return self.api_root + path.lstrip("/")
        if not path.startswith(self.api_root):
            raise GraphError(self.source, f"Graph sent a link outside {self.api_root}",
                             hint="check api_root; cadenced sends its token nowhere else")
        return path

    def call(self, method: str, path: str, *, what: str, params: dict[str, str] | None = None,
             json: Any = None, headers: dict[str, str] | None = None) -> Any:
        """One call, retried as the module says; the decoded JSON reply (None for 204)."""
        url = self.url(path)
        refreshed = False
        attempt = 0
        while True:
            token = self.tokens.access_token(force_refresh=refreshed)
            sent = {"Authorization": f"Bearer {token}", "Prefer": PREFER_UTC,
                    "Accept": "application/json", **(headers or {})}
            last = attempt + 1 >= self.attempts
            self.calls += 1
            try:
                response = self.http.request(method, url, params=params, json=json,
                                             headers=sent)
            except httpx.ConnectError as exc:
                if isinstance(exc.__context__, ssl.SSLError) or "CERTIFICATE" in str(exc):
                    raise GraphError(self.source, f"{what}: TLS verification failed",
                                     hint="check api_root and ca_file") from None
                problem = "failed to connect"
            except httpx.TimeoutException:
                problem = "timed out"
            except httpx.HTTPError as exc:
                problem = f"failed: {type(exc).__name__}"
            else:
                status = response.status_code
                if status < 300:
                    return response.json() if response.content else None
                code, message = _graph_error(response)
                if status == 401 and not refreshed:
                    refreshed = True  # the access token may have been revoked: once more
                    continue
                if status == 401:
                    raise NeedsSignIn(self.source, "Microsoft refused the sign-in",
                                      hint=f"run: cadenced auth microsoft --source "
                                      f"{self.source}")
                if status in RETRYABLE and not last:
                    delay = backoff(attempt, response.headers.get("Retry-After"))
                    log.info("source %r: %s: HTTP %d %s; retrying in %.1fs", self.source,
                             what, status, code or "", delay)
                    self.sleep(delay)
                    attempt += 1
                    continue
                raise GraphError(
                    self.source, f"{what}: HTTP {status}" + (f" {code}" if code else "")
                    + (f": {message}" if message else ""),
                    status=status, code=code, hint=_hint(status, code, self.source))
            if last:
                raise GraphError(self.source, f"{what} {problem}",
                                 hint="check the network; cadenced tries again at its next "
                                 "sync")
            delay = backoff(attempt)
            log.info("source %r: %s %s; retrying in %.1fs", self.source, what, problem, delay)
            self.sleep(delay)
            attempt += 1

    def close(self) -> None:
        self.http.close()


class MsalHttp:
    """An httpx client in the shape MSAL's ``http_client`` takes (``post``, ``get``,
    ``close``; responses with ``status_code``, ``text``, ``headers``)."""

    def __init__(self, *, timeout: float, ca_file: str | None) -> None:
        self.http = client(timeout=timeout, ca_file=ca_file)

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None,
             **kwargs: Any) -> httpx.Response:
        return self.http.post(url, params=params, data=data, headers=headers,
                              timeout=kwargs.get("timeout", httpx.USE_CLIENT_DEFAULT))

    def get(self, url: str, params: Any = None, headers: Any = None,
            **kwargs: Any) -> httpx.Response:
        return self.http.get(url, params=params, headers=headers,
                             timeout=kwargs.get("timeout", httpx.USE_CLIENT_DEFAULT))

    def close(self) -> None:
        self.http.close()
