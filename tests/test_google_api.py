"""Google API calls: clients on one root, what is retried, and errors that name the fix."""

from __future__ import annotations

import pytest
from google.oauth2.credentials import Credentials

from connectors.google.api import build_service, discovery_document, execute
from connectors.google.errors import GoogleApiError

SCOPES = ["https://www.googleapis.com/auth/calendar.events.owned",
          "https://www.googleapis.com/auth/drive.file"]


def credentials(emulator):
    info = emulator.issue_token(SCOPES)
    return Credentials(info["token"], refresh_token=info["refresh_token"],
                       token_uri=info["token_uri"], client_id=info["client_id"],
                       client_secret=info["client_secret"], scopes=SCOPES)


def test_default_root_keeps_each_apis_own_host_and_a_custom_root_serves_all():
    assert discovery_document("docs", None)["rootUrl"] == "https://docs.googleapis.com/"
    assert discovery_document("calendar", None)["rootUrl"] == "https://www.googleapis.com/"
    for api in ("calendar", "drive", "docs"):
        document = discovery_document(api, "http://127.0.0.1:9/")
        assert document["rootUrl"] == document["mtlsRootUrl"] == "http://127.0.0.1:9/"
        assert document["baseUrl"].startswith("http://127.0.0.1:9/")


def test_retry_after_is_honoured_and_the_call_then_succeeds(google):
    google.calendar("primary")
    service = build_service("calendar", credentials(google), api_root=google.root, timeout=5)
    google.fail("GET", r"/events$", 503, "backendError", retry_after=7)
    waits = []
    reply = execute(service.events().list(calendarId="primary"), source="g",
                    what="listing events", sleep=waits.append)
    assert reply["kind"] == "calendar#events"
    assert waits == [7.0]


def test_backoff_grows_and_gives_up_with_the_source_named(google):
    google.calendar("primary")
    service = build_service("calendar", credentials(google), api_root=google.root, timeout=5)
    google.fail("GET", r"/events$", 429, "rateLimitExceeded", times=None)
    waits = []
    with pytest.raises(GoogleApiError) as info:
        execute(service.events().list(calendarId="primary"), source="work",
                what="listing events", attempts=4, sleep=waits.append)
    assert len(waits) == 3 and waits[0] < waits[1] < waits[2]
    assert info.value.status == 429 and info.value.source == "work"
    assert "next sync" in info.value.hint


def test_a_create_is_not_retried_after_a_server_error_but_is_after_a_rate_limit(google):
    service = build_service("drive", credentials(google), api_root=google.root, timeout=5)
    body = {"name": "x", "mimeType": "application/vnd.google-apps.document"}
    google.fail("POST", r"/files$", 500, "backendError")
    with pytest.raises(GoogleApiError):
        execute(service.files().create(body=body), source="g", what="creating",
                idempotent=False, sleep=lambda s: None)
    google.fail("POST", r"/files$", 429, "rateLimitExceeded")
    execute(service.files().create(body=body), source="g", what="creating",
            idempotent=False, sleep=lambda s: None)
    assert [r.status for r in google.requests if r.method == "POST"] == [500, 429, 200]


def test_errors_never_carry_tokens_or_the_request_address(google):
    creds = credentials(google)
    service = build_service("calendar", creds, api_root=google.root, timeout=5)
    google.fail("GET", r"/events$", 400, "invalid")
    with pytest.raises(GoogleApiError) as info:
        execute(service.events().list(calendarId="primary", syncToken="SECRET-SYNC"),
                source="g", what="listing events")
    text = f"{info.value} {info.value.hint}"
    assert creds.token not in text and "SECRET-SYNC" not in text and google.root not in text


def test_insufficient_scope_says_to_sign_in_again(google):
    info = google.issue_token(["https://www.googleapis.com/auth/calendar.events.readonly"])
    creds = Credentials(info["token"], refresh_token=info["refresh_token"],
                        token_uri=info["token_uri"], client_id=info["client_id"],
                        client_secret=info["client_secret"])
    event = google.calendar("primary").insert({
        "summary": "x", "start": {"dateTime": "2026-11-23T10:00:00+01:00"},
        "end": {"dateTime": "2026-11-23T10:30:00+01:00"}})
    service = build_service("calendar", creds, api_root=google.root, timeout=5)
    with pytest.raises(GoogleApiError) as error:
        execute(service.events().patch(calendarId="primary", eventId=event["id"],
                                       body={"description": "y"}), source="g", what="patching")
    assert error.value.status == 403
    assert "cadenced auth google --source g" in error.value.hint


def test_an_api_root_with_an_untrusted_certificate_is_refused_not_retried(pki):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    served = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            served.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = pki.server_context().wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        root = f"https://127.0.0.1:{httpd.server_address[1]}/"
        service = build_service("calendar", Credentials("token"), api_root=root, timeout=5)
        waits = []
        with pytest.raises(GoogleApiError) as info:
            execute(service.events().list(calendarId="primary"), source="g",
                    what="listing events", sleep=waits.append)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "TLS verification failed" in info.value.reason
    assert "api_root" in info.value.hint
    assert waits == [] and served == []  # no retry, and nothing was sent in clear
