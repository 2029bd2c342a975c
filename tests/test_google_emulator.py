"""The Google emulator, checked with the real clients: google-api-python-client
Resources from cadenced's build_service, google-auth's refresh, and plain HTTP for
the consent redirect and the code exchange."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import httplib2
import pytest
import requests
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request as AuthRequest
from google.oauth2.credentials import Credentials
from googleapiclient.errors import HttpError

from connectors.google.api import build_service

CAL_READ = "https://www.googleapis.com/auth/calendar.events.readonly"
CAL_OWNED = "https://www.googleapis.com/auth/calendar.events.owned"
DRIVE_FILE = "https://www.googleapis.com/auth/drive.file"
ALL = [CAL_OWNED, DRIVE_FILE]


def from_info(info, scopes=ALL) -> Credentials:
    """Credentials of a token file's info (from_authorized_user_info would send them to
    Google's own token_uri, whatever the file says)."""
    expiry = info.get("expiry")
    return Credentials(
        info["token"], refresh_token=info["refresh_token"], token_uri=info["token_uri"],
        client_id=info["client_id"], client_secret=info["client_secret"], scopes=scopes,
        expiry=datetime.strptime(expiry.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")
        .replace(tzinfo=None) if expiry else None)  # google-auth keeps naive UTC


def credentials(emulator, scopes=ALL) -> Credentials:
    return from_info(emulator.issue_token(scopes), scopes)


def service(emulator, api, creds=None):
    return build_service(api, creds or credentials(emulator), api_root=emulator.root,
                         timeout=10)


def event(summary, start="2026-11-23T10:00:00+01:00", end="2026-11-23T10:30:00+01:00", **more):
    return {"summary": summary, "start": {"dateTime": start, "timeZone": "Europe/Berlin"},
            "end": {"dateTime": end, "timeZone": "Europe/Berlin"}, **more}


def status_of(error: pytest.ExceptionInfo[HttpError]) -> tuple[int, str]:
    payload = json.loads(error.value.content)["error"]
    return error.value.resp.status, payload["errors"][0]["reason"]


# -- Calendar


def test_full_list_pages_then_incremental_sync_returns_only_changes(google):
    cal = google.calendar("primary")
    one, two, three = (cal.insert(event(n)) for n in ("one", "two", "three"))
    assert one["kind"] == "calendar#event" and one["iCalUID"] == f"{one['id']}@google.com"
    assert one["organizer"] == {"email": "me@example.com", "self": True}
    assert one["created"].endswith("Z") and one["etag"].startswith('"')
    events = service(google, "calendar").events()

    first = events.list(calendarId="primary", maxResults=2).execute()
    assert first["kind"] == "calendar#events" and first["timeZone"] == "Europe/Berlin"
    assert [e["id"] for e in first["items"]] == [one["id"], two["id"]]
    assert "nextSyncToken" not in first
    second = events.list(calendarId="primary", maxResults=2,
                         pageToken=first["nextPageToken"]).execute()
    assert [e["id"] for e in second["items"]] == [three["id"]]
    token = second["nextSyncToken"]

    changed = cal.update(one["id"], summary="one, moved")
    assert changed["etag"] != one["etag"]
    cal.delete(two["id"])
    four = cal.insert(event("four"))
    delta = events.list(calendarId="primary", syncToken=token).execute()
    by_id = {e["id"]: e for e in delta["items"]}
    assert set(by_id) == {one["id"], two["id"], four["id"]}
    assert by_id[one["id"]]["summary"] == "one, moved"
    assert by_id[two["id"]] == {"kind": "calendar#event", "etag": cal.get(two["id"])["etag"],
                                "id": two["id"], "status": "cancelled"}
    again = events.list(calendarId="primary", syncToken=delta["nextSyncToken"]).execute()
    assert again["items"] == []

    hidden = events.list(calendarId="primary").execute()
    assert two["id"] not in {e["id"] for e in hidden["items"]}
    shown = events.list(calendarId="primary", showDeleted=True).execute()
    assert {e["id"]: e["status"] for e in shown["items"]}[two["id"]] == "cancelled"


def test_cancelled_instance_is_a_tombstone_with_its_series(google):
    cal = google.calendar("primary")
    master = cal.insert(event("weekly", recurrence=["RRULE:FREQ=WEEKLY"]))
    events = service(google, "calendar").events()
    token = events.list(calendarId="primary").execute()["nextSyncToken"]
    original = {"dateTime": "2026-11-30T10:00:00+01:00", "timeZone": "Europe/Berlin"}
    cal.cancel_instance(master["id"], original)
    moved = cal.override_instance(master["id"], {"dateTime": "2026-12-07T10:00:00+01:00"},
                                  summary="weekly, longer")
    assert moved["end"]["dateTime"] == "2026-12-07T10:30:00+01:00"
    [cancelled, override] = events.list(calendarId="primary", syncToken=token).execute()["items"]
    assert cancelled["id"] == f"{master['id']}_20261130T090000Z"
    assert cancelled["status"] == "cancelled" and cancelled["recurringEventId"] == master["id"]
    assert cancelled["originalStartTime"] == original
    assert override["summary"] == "weekly, longer" and override["iCalUID"] == master["iCalUID"]
    # like Google: without showDeleted, cancelled instances (not deleted series) still list
    cal.delete(cal.insert(event("gone"))["id"])
    full = events.list(calendarId="primary").execute()["items"]
    assert [e["status"] for e in full] == ["confirmed", "cancelled", "confirmed"]


def test_sync_token_errors(google):
    google.calendar("primary").insert(event("one"))
    events = service(google, "calendar").events()
    token = events.list(calendarId="primary").execute()["nextSyncToken"]
    with pytest.raises(HttpError) as caught:
        events.list(calendarId="primary", syncToken=token,
                    timeMin="2026-01-01T00:00:00Z").execute()
    assert caught.value.resp.status == 400
    google.expire_sync_tokens()
    with pytest.raises(HttpError) as caught:
        events.list(calendarId="primary", syncToken=token).execute()
    assert status_of(caught) == (410, "fullSyncRequired")


def test_patch_with_if_match_and_stale_etag(google):
    cal = google.calendar("primary")
    stored = cal.insert(event("one"))
    events = service(google, "calendar").events()
    request = events.patch(calendarId="primary", eventId=stored["id"],
                           body={"description": "agenda", "start": {"timeZone": "UTC"}},
                           sendUpdates="none")
    request.headers["If-Match"] = stored["etag"]
    patched = request.execute()
    assert patched["description"] == "agenda" and patched["etag"] != stored["etag"]
    assert patched["start"] == {"dateTime": stored["start"]["dateTime"], "timeZone": "UTC"}
    assert cal.send_updates == [(stored["id"], "none")]

    stale = events.patch(calendarId="primary", eventId=stored["id"], body={"summary": "x"})
    stale.headers["If-Match"] = stored["etag"]
    with pytest.raises(HttpError) as caught:
        stale.execute()
    assert status_of(caught) == (412, "conditionNotMet")
    assert cal.get(stored["id"])["summary"] == "one"


def test_attachments_need_supports_attachments_and_are_replaced_whole(google):
    cal = google.calendar("primary")
    old = {"fileUrl": "https://docs.google.com/document/d/old/edit", "title": "old"}
    new = {"fileUrl": "https://docs.google.com/document/d/new/edit", "title": "new"}
    stored = cal.insert(event("one", attachments=[old]))
    events = service(google, "calendar").events()
    events.patch(calendarId="primary", eventId=stored["id"],
                 body={"attachments": [old, new], "summary": "two"}).execute()
    assert cal.get(stored["id"])["attachments"] == [old]
    assert cal.get(stored["id"])["summary"] == "two"
    events.patch(calendarId="primary", eventId=stored["id"], body={"attachments": [new]},
                 supportsAttachments=True).execute()
    assert cal.get(stored["id"])["attachments"] == [new]


def test_only_the_organizer_changes_shared_properties(google):
    cal = google.calendar("primary")
    theirs = cal.insert(event("theirs", organizer={"email": "boss@example.com"}, attendees=[
        {"email": "me@example.com", "self": True, "responseStatus": "needsAction"},
        {"email": "boss@example.com", "organizer": True, "responseStatus": "accepted"}]))
    events = service(google, "calendar").events()
    with pytest.raises(HttpError) as caught:
        events.patch(calendarId="primary", eventId=theirs["id"],
                     body={"description": "mine"}).execute()
    assert status_of(caught) == (403, "forbiddenForNonOrganizer")
    attendees = [dict(theirs["attendees"][0], responseStatus="accepted"),
                 theirs["attendees"][1]]
    events.patch(calendarId="primary", eventId=theirs["id"],
                 body={"attendees": attendees, "colorId": "5"}).execute()
    assert cal.get(theirs["id"])["attendees"][0]["responseStatus"] == "accepted"


def test_scopes_and_bearer_tokens_are_checked(google):
    google.calendar("primary").insert(event("one"))
    read_only = service(google, "calendar", credentials(google, [CAL_READ])).events()
    stored = read_only.list(calendarId="primary").execute()["items"][0]
    with pytest.raises(HttpError) as caught:
        read_only.patch(calendarId="primary", eventId=stored["id"], body={}).execute()
    assert status_of(caught) == (403, "insufficientPermissions")
    with pytest.raises(HttpError) as caught:
        service(google, "drive", credentials(google, [CAL_READ])).files().list().execute()
    assert caught.value.resp.status == 403
    reply, content = httplib2.Http().request(google.root + "calendar/v3/calendars/primary/events")
    assert reply.status == 401
    assert json.loads(content)["error"]["status"] == "UNAUTHENTICATED"


def test_injected_faults(google):
    google.calendar("primary").insert(event("one"))
    events = service(google, "calendar").events()
    google.fail("GET", r"/events$", 429, "rateLimitExceeded", retry_after=3)
    with pytest.raises(HttpError) as caught:
        events.list(calendarId="primary").execute(num_retries=0)
    assert status_of(caught) == (429, "rateLimitExceeded")
    assert caught.value.resp["retry-after"] == "3"
    assert len(events.list(calendarId="primary").execute()["items"]) == 1
    google.delay("GET", r"/events$", 0.2)
    slow = build_service("calendar", credentials(google), api_root=google.root, timeout=0.05)
    with pytest.raises(TimeoutError):
        slow.events().list(calendarId="primary").execute(num_retries=0)
    assert [r.status for r in google.requests if r.path.endswith("/events")][:2] == [429, 200]
    assert google.writes() == []


# -- OAuth


def test_refresh_and_revoked_refresh_token(google):
    creds = credentials(google)
    before = creds.token
    creds.refresh(AuthRequest())
    assert creds.token != before and creds.valid
    assert service(google, "calendar", creds) is not None
    token_call = google.requests[-1]
    assert token_call.path == "/token" and token_call.body["grant_type"] == "refresh_token"
    google.revoke_refresh_token(creds.refresh_token)
    with pytest.raises(RefreshError, match="invalid_grant"):
        creds.refresh(AuthRequest())


def test_expired_access_token_is_refreshed_by_the_client(google):
    google.calendar("primary").insert(event("one"))
    events = service(google, "calendar").events()
    google.expire_access_tokens()
    assert len(events.list(calendarId="primary").execute()["items"]) == 1
    assert [(r.path, r.status) for r in google.requests] == [
        ("/calendar/v3/calendars/primary/events", 401), ("/token", 200),
        ("/calendar/v3/calendars/primary/events", 200)]


def test_revoke_endpoint_drops_the_grant(google):
    info = google.issue_token(ALL)
    assert requests.post(google.revoke_uri, params={"token": info["token"]}).status_code == 200
    creds = from_info(info)
    with pytest.raises(RefreshError, match="invalid_grant"):
        creds.refresh(AuthRequest())
    assert requests.post(google.revoke_uri, data={"token": "nonsense"}).status_code == 400


@pytest.fixture
def loopback():
    """A redirect target like InstalledAppFlow's: records each query it gets."""
    seen: list[dict[str, list[str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(parse_qs(urlsplit(self.path).query))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", seen
    finally:
        server.shutdown()
        server.server_close()


def consent(google, redirect_uri, verifier, state="xyz"):
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return google.auth_uri + "?" + urlencode({
        "client_id": google.client_id, "redirect_uri": redirect_uri, "response_type": "code",
        "scope": " ".join(ALL), "state": state, "access_type": "offline",
        "code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256"})


def test_authorize_then_exchange_the_code_with_pkce(google, loopback):
    redirect_uri, seen = loopback
    verifier = secrets.token_urlsafe(40)
    assert google.authorize(consent(google, redirect_uri, verifier)) == 200
    [query] = seen
    assert query["state"] == ["xyz"] and query["scope"] == [" ".join(ALL)]
    reply = requests.post(google.token_uri, auth=(google.client_id, google.client_secret),
                          data={"grant_type": "authorization_code", "code": query["code"][0],
                                "redirect_uri": redirect_uri, "code_verifier": verifier})
    assert reply.status_code == 200
    tokens = reply.json()
    assert tokens["refresh_token"] and tokens["scope"] == " ".join(ALL)
    info = {"token": tokens["access_token"], "refresh_token": tokens["refresh_token"],
            "token_uri": google.token_uri, "client_id": google.client_id,
            "client_secret": google.client_secret}
    creds = from_info(info)
    assert service(google, "drive", creds).files().list().execute()["files"] == []

    assert google.authorize(consent(google, redirect_uri, verifier, "again"),
                            granted_scopes=[CAL_OWNED]) == 200
    reply = requests.post(google.token_uri, data={
        "grant_type": "authorization_code", "code": seen[1]["code"][0],
        "redirect_uri": redirect_uri, "code_verifier": "wrong" + verifier,
        "client_id": google.client_id, "client_secret": google.client_secret})
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant"


# -- Drive and Docs


def test_drive_doc_files_by_app_properties_and_permissions(google):
    drive = service(google, "drive")
    made = drive.files().create(body={
        "name": "1:1 agenda", "mimeType": "application/vnd.google-apps.document",
        "appProperties": {"cadenced": "agenda", "series": "abc"}}).execute()
    assert set(made) == {"kind", "id", "name", "mimeType"}
    drive.files().create(body={"name": "other", "appProperties": {"cadenced": "x"}}).execute()
    found = drive.files().list(
        q="appProperties has { key='cadenced' and value='agenda' } and trashed = false"
          " and mimeType = 'application/vnd.google-apps.document'",
        fields="files(id,name,appProperties,webViewLink)").execute()
    [doc] = found["files"]
    assert doc["id"] == made["id"] and doc["appProperties"]["series"] == "abc"
    assert doc["webViewLink"].startswith("https://docs.google.com/document/d/")
    assert google.docs.text(made["id"]) == "\n"

    drive.permissions().create(fileId=made["id"], sendNotificationEmail=False, body={
        "type": "user", "role": "writer", "emailAddress": "ada@example.com"}).execute()
    [permission] = google.drive.permissions[made["id"]]
    assert permission["sendNotificationEmail"] is False and permission["role"] == "writer"
    listed = drive.permissions().list(fileId=made["id"], fields="permissions(emailAddress,role)")
    assert listed.execute()["permissions"][1] == {"emailAddress": "ada@example.com",
                                                  "role": "writer"}
    drive.files().update(fileId=made["id"], body={"trashed": True}).execute()
    assert drive.files().list(q="trashed = false").execute()["files"][0]["name"] == "other"
    with pytest.raises(HttpError) as caught:
        drive.files().list(q="fullText contains 'x'").execute()
    assert caught.value.resp.status == 400


def test_docs_utf16_indices_and_revisions(google):
    docs = service(google, "docs").documents()
    doc = docs.create(body={"title": "Agenda"}).execute()
    doc_id, revision = doc["documentId"], doc["revisionId"]
    assert doc["body"]["content"][-1]["endIndex"] == 2
    reply = docs.batchUpdate(documentId=doc_id, body={
        "requests": [{"insertText": {"location": {"index": 1}, "text": "a😀b\nsecond"}},
                     {"insertText": {"endOfSegmentLocation": {}, "text": "!"}}],
        "writeControl": {"requiredRevisionId": revision}}).execute()
    assert google.docs.text(doc_id) == "a😀b\nsecond!\n"
    revision = reply["writeControl"]["requiredRevisionId"]
    got = docs.get(documentId=doc_id).execute()
    assert got["revisionId"] == revision
    first, second = got["body"]["content"][1:]
    assert (first["startIndex"], first["endIndex"]) == (1, 6)  # a, 😀 (2 units), b, \n
    assert (second["startIndex"], second["endIndex"]) == (6, 14)

    docs.batchUpdate(documentId=doc_id, body={"requests": [
        {"insertText": {"location": {"index": 4}, "text": "X"}},
        {"deleteContentRange": {"range": {"startIndex": 2, "endIndex": 4}}},
        {"updateTextStyle": {"range": {"startIndex": 1, "endIndex": 2},
                             "textStyle": {"bold": True}, "fields": "bold"}},
        {"updateParagraphStyle": {"range": {"startIndex": 5, "endIndex": 6},
                                  "paragraphStyle": {"namedStyleType": "HEADING_2"},
                                  "fields": "namedStyleType"}}]}).execute()
    assert google.docs.text(doc_id) == "aXb\nsecond!\n"
    got = docs.get(documentId=doc_id).execute()
    runs = got["body"]["content"][1]["paragraph"]["elements"]
    assert [(r["textRun"]["content"], r["textRun"]["textStyle"]) for r in runs] == [
        ("a", {"bold": True}), ("Xb\n", {})]
    assert got["body"]["content"][2]["paragraph"]["paragraphStyle"]["namedStyleType"] \
        == "HEADING_2"

    def rejected(body):
        with pytest.raises(HttpError) as caught:
            docs.batchUpdate(documentId=doc_id, body=body).execute()
        assert caught.value.resp.status == 400
        return json.loads(caught.value.content)["error"]["message"]

    assert "revision" in rejected({"requests": [{"insertText": {
        "location": {"index": 1}, "text": "late"}}], "writeControl": {
        "requiredRevisionId": revision}})
    rejected({"requests": [{"deleteContentRange": {"range": {"startIndex": 5,
                                                             "endIndex": 13}}}]})
    rejected({"requests": [{"insertText": {"location": {"index": 14}, "text": "x"}}]})
    google.docs.human_insert(doc_id, 1, "🎉")
    rejected({"requests": [{"insertText": {"location": {"index": 2}, "text": "x"}}]})
    assert google.docs.text(doc_id) == "🎉aXb\nsecond!\n"


def test_docs_bullets_by_a_human(google):
    doc_id = google.docs.create("Notes", "one\ntwo\nthree")
    google.docs.human_bullets(doc_id, 1, 9, checkbox=True)
    got = service(google, "docs").documents().get(documentId=doc_id).execute()
    paragraphs = [c["paragraph"] for c in got["body"]["content"][1:]]
    assert [("bullet" in p) for p in paragraphs] == [True, True, False]
    list_id = paragraphs[0]["bullet"]["listId"]
    levels = got["lists"][list_id]["listProperties"]["nestingLevels"]
    assert len(levels) == 9  # a checklist: no level names a glyph
    assert not any("glyphType" in level or "glyphSymbol" in level for level in levels)
    google.docs.human_insert(doc_id, 4, "\nnew")  # splits a bulleted paragraph
    assert google.docs.text(doc_id) == "one\nnew\ntwo\nthree\n"
    got = google.docs.document(doc_id)
    assert [("bullet" in c["paragraph"]) for c in got["body"]["content"][1:]] \
        == [True, True, True, False]
    assert google.drive.files[doc_id]["mimeType"] == "application/vnd.google-apps.document"


def test_docs_create_paragraph_bullets_as_the_reference_describes(google):
    doc_id = google.docs.create("Notes", "a\n\tb\n\t\tc\nplain\nd\ne")
    docs = service(google, "docs").documents()

    def batch(*requests):
        docs.batchUpdate(documentId=doc_id, body={"requests": list(requests)}).execute()
        got = docs.get(documentId=doc_id).execute()
        return [c["paragraph"] for c in got["body"]["content"][1:]], got["lists"]

    paragraphs, lists = batch({"createParagraphBullets": {
        "range": {"startIndex": 1, "endIndex": 8}, "bulletPreset": "BULLET_DISC_CIRCLE_SQUARE"}})
    assert google.docs.text(doc_id) == "a\nb\nc\nplain\nd\ne\n"  # the tabs: levels, removed
    assert [p["bullet"].get("nestingLevel", 0) for p in paragraphs[:3]] == [0, 1, 2]
    (disc,) = {p["bullet"]["listId"] for p in paragraphs[:3]}
    assert [level["glyphSymbol"] for level in
            lists[disc]["listProperties"]["nestingLevels"][:3]] == ["●", "○", "■"]
    # "d" right after the plain paragraph, then "e" after the checklist item "d" is in
    paragraphs, lists = batch(
        {"createParagraphBullets": {"range": {"startIndex": 13, "endIndex": 14},
                                    "bulletPreset": "BULLET_CHECKBOX"}},
        {"createParagraphBullets": {"range": {"startIndex": 15, "endIndex": 16},
                                    "bulletPreset": "BULLET_CHECKBOX"}},
        {"createParagraphBullets": {"range": {"startIndex": 7, "endIndex": 12},
                                    "bulletPreset": "NUMBERED_DECIMAL_ALPHA_ROMAN"}})
    d, e = paragraphs[4]["bullet"]["listId"], paragraphs[5]["bullet"]["listId"]
    assert d == e != disc  # joined the list before it: same preset
    assert "bullet" in paragraphs[3] and paragraphs[3]["bullet"]["listId"] not in (d, disc)
    assert lists[paragraphs[3]["bullet"]["listId"]]["listProperties"]["nestingLevels"][0][
        "glyphType"] == "DECIMAL"
    assert not any("glyphType" in level or "glyphSymbol" in level
                   for level in lists[d]["listProperties"]["nestingLevels"])


def test_docs_strikethrough_shows_as_text_runs(google):
    doc_id = google.docs.create("Notes", "send the deck\nnext\n")
    google.docs.human_style(doc_id, 6, 9, strikethrough=True)
    got = service(google, "docs").documents().get(documentId=doc_id).execute()
    runs = [(e["textRun"]["content"], e["textRun"]["textStyle"].get("strikethrough", False))
            for e in got["body"]["content"][1]["paragraph"]["elements"]]
    assert runs == [("send ", False), ("the", True), (" deck\n", False)]
    google.docs.human_tick(doc_id, 3)  # the whole paragraph, its newline too
    got = service(google, "docs").documents().get(documentId=doc_id).execute()
    (run,) = got["body"]["content"][1]["paragraph"]["elements"]
    assert run["textRun"] == {"content": "send the deck\n", "textStyle": {"strikethrough": True}}
    google.docs.human_tick(doc_id, 3, ticked=False)
    got = google.docs.document(doc_id)
    assert got["body"]["content"][1]["paragraph"]["elements"][0]["textRun"]["textStyle"] \
        == {"strikethrough": False}
    assert "strikethrough" not in got["body"]["content"][2]["paragraph"]["elements"][0][
        "textRun"]["textStyle"]
