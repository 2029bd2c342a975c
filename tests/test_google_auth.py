"""Google sign-in: the token file, refresh, revoke and the `cadenced auth` commands.

The flows run for real (google-auth-oauthlib's InstalledAppFlow, google-auth's
refresh, requests) against the local Google emulator; nothing is mocked and
nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import queue
import re
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from connectors.google.auth import revoke as revoking
from connectors.google.auth import scopes, signin
from connectors.google.auth import token as tokens
from connectors.google.auth.scopes import (
    CALENDAR_EVENTS_OWNED,
    CALENDAR_EVENTS_READONLY,
    CALENDAR_FREEBUSY,
    DRIVE_FILE,
    READ_SCOPES,
    WRITE_SCOPES,
)
from connectors.google.auth.token import TokenFile
from daemon.cli.auth import pick_source
from daemon.config import GoogleSource, parse_config
from daemon.core.errors import CadencedError, NeedsSignIn, SourceError
from daemon.state.files import write_private

OWNER = {"email": "me@example.com", "timezone": "Europe/Berlin"}


def google_source(name: str = "work", **extra) -> GoogleSource:
    return GoogleSource(name=name, type="google", **extra)


def write_token(path: Path, info: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info))
    return path


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


# --- pure parts ---------------------------------------------------------------------


def test_scopes_decide_what_cadenced_may_do():
    assert scopes.can_write(WRITE_SCOPES)
    assert scopes.can_read(WRITE_SCOPES)
    assert scopes.can_read(READ_SCOPES) and not scopes.can_write(READ_SCOPES)
    # Google's granular consent: one box unticked
    assert scopes.can_read([CALENDAR_EVENTS_OWNED])
    assert not scopes.can_write([CALENDAR_EVENTS_OWNED])
    assert not scopes.can_read([DRIVE_FILE])
    assert scopes.can_write(["https://www.googleapis.com/auth/calendar", DRIVE_FILE])


def test_default_token_path_is_private_per_source_and_token_file_overrides(tmp_path):
    a = tokens.token_path(google_source("Work / Main"), tmp_path)
    b = tokens.token_path(google_source("Work _ Main"), tmp_path)
    assert a.parent == tmp_path / "google" and a.suffix == ".json"
    assert a != b and re.fullmatch(r"[\w-]+\.json", a.name)
    assert tokens.token_path(google_source(token_file="/x/t.json"), tmp_path) == Path("/x/t.json")
    assert tokens.token_path(google_source(token_file="t.json"), tmp_path) == tmp_path / "t.json"


def test_revoke_endpoint_sits_next_to_the_token_endpoint():
    assert tokens.revoke_uri("https://oauth2.googleapis.com/token") == (
        "https://oauth2.googleapis.com/revoke")
    assert tokens.revoke_uri("http://127.0.0.1:8123/token") == "http://127.0.0.1:8123/revoke"


def test_no_browser_message_names_the_port_and_the_tunnel():
    text = signin.no_browser_message("https://accounts.example/auth?x=1", 8123)
    assert "https://accounts.example/auth?x=1" in text
    assert "ssh -N -L 8123:127.0.0.1:8123 " in text
    assert "out-of-band" in text


@pytest.mark.parametrize(("content", "says"), [
    (None, "does not exist"),
    ("{not json", "not a client secrets JSON"),
    (json.dumps({"web": {"client_id": "x"}}), "Web application"),
    (json.dumps({"installed": {"client_id": "x"}}), "not a Desktop app client secrets file"),
    (json.dumps({"installed": {"client_id": "x", "client_secret": "s",
                               "auth_uri": "http://accounts.example/auth",
                               "token_uri": "https://oauth2.example/token"}}), "not an https"),
])
def test_client_secrets_problems_say_how_to_make_a_desktop_client(tmp_path, content, says):
    path = tmp_path / "client_secret.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CadencedError) as caught:
        signin.load_client_secrets(path)
    assert says in caught.value.message
    assert "Desktop app" in caught.value.hint and scopes.CONSOLE_URL in caught.value.hint


def test_pick_source_defaults_to_the_only_google_source():
    def config(*sources):
        return parse_config({"owner": OWNER, "sources": list(sources)}).config

    ics = {"name": "feed", "url": "https://example.com/a.ics"}
    one = config(ics, {"name": "work", "type": "google"})
    assert pick_source(one, None).name == "work"
    assert pick_source(one, "work").name == "work"
    with pytest.raises(CadencedError, match="not a Google source"):
        pick_source(one, "feed")
    with pytest.raises(CadencedError, match=r"no source named 'nope'.*'work'"):
        pick_source(one, "nope")
    with pytest.raises(CadencedError, match='no source with type = "google"'):
        pick_source(config(ics), None)
    with pytest.raises(CadencedError, match=r"several Google sources.*'home'.*'work'") as caught:
        pick_source(config({"name": "home", "type": "google"},
                           {"name": "work", "type": "google"}), None)
    assert "--source" in caught.value.hint


# --- the token file without network ------------------------------------------------


def token_info(token_uri: str = "http://127.0.0.1:9/token", expiry: datetime | None = None,
               scopes=WRITE_SCOPES) -> dict:
    return {"token": "ya29.access", "refresh_token": "1//refresh", "token_uri": token_uri,
            "client_id": "client.apps.googleusercontent.com", "client_secret": "shh",
            "scopes": list(scopes),
            "expiry": iso(expiry or datetime.now(UTC) + timedelta(minutes=50))}


def test_missing_token_file_needs_sign_in_with_the_command(tmp_path):
    tokens = TokenFile(tmp_path / "google" / "work.json", source="work")
    with pytest.raises(NeedsSignIn) as caught:
        tokens.credentials()
    assert caught.value.source == "work"
    assert caught.value.hint.startswith("run: cadenced auth google --source work")
    assert tokens.scopes == frozenset() and not tokens.can_write


@pytest.mark.parametrize("content", ["{broken", "[]", json.dumps({"token": "t"}),
                                     json.dumps(token_info("http://evil.example/token"))])
def test_unusable_token_file_is_a_source_error_without_secrets(tmp_path, content):
    path = tmp_path / "t.json"
    path.write_text(content)
    with pytest.raises(SourceError) as caught:
        TokenFile(path, source="work").credentials()
    assert not isinstance(caught.value, NeedsSignIn)
    assert "shh" not in str(caught.value) and "1//refresh" not in str(caught.value)
    assert "cadenced auth google --source work" in caught.value.hint


def test_loaded_credentials_keep_the_files_token_uri_and_expiry(tmp_path):
    expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=40)
    path = write_token(tmp_path / "t.json", token_info("http://127.0.0.1:9/token", expiry))
    creds = TokenFile(path, source="work").credentials()  # valid: no refresh, port 9 unused
    assert creds.token_uri == "http://127.0.0.1:9/token"
    assert creds.expiry == expiry.replace(tzinfo=None)
    assert creds.valid and creds.token == "ya29.access"


def test_scopes_and_status_come_from_the_file(tmp_path):
    path = write_token(tmp_path / "t.json", token_info(scopes=[CALENDAR_EVENTS_READONLY]))
    tokens = TokenFile(path, source="work")
    assert tokens.scopes == {CALENDAR_EVENTS_READONLY}
    assert tokens.can_read and not tokens.can_write
    state = tokens.status()
    assert state["signed_in"] and not state["can_write"]
    assert "shh" not in json.dumps(state) and "ya29" not in json.dumps(state)


def test_unreachable_token_endpoint_is_a_source_error_with_hint(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    past = datetime.now(UTC) - timedelta(hours=1)
    path = write_token(tmp_path / "t.json", token_info(f"http://127.0.0.1:{port}/token", past))
    with pytest.raises(SourceError) as caught:
        TokenFile(path, source="work", timeout=2).credentials()
    assert not isinstance(caught.value, NeedsSignIn)
    assert "token endpoint" in caught.value.reason and caught.value.hint


# --- the commands ---------------------------------------------------------------------


def write_config(folder: Path, *sources: dict) -> Path:
    lines = ['[owner]', 'email = "me@example.com"', 'timezone = "Europe/Berlin"', '']
    for source in sources:
        lines.append("[[sources]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in source.items()]
        lines.append("")
    path = folder / "config.toml"
    path.write_text("\n".join(lines))
    return path


def cadenced(*args: str):
    from daemon.cli.auth import auth as group
    from daemon.cli.main import main

    if "auth" not in main.commands:  # until daemon/cli/main.py registers it
        main.add_command(group)
    return CliRunner().invoke(main, list(args))


def test_auth_google_without_client_secrets_says_how_to_get_them(tmp_path):
    config = write_config(tmp_path, {"name": "work", "type": "google"})
    result = cadenced("--config", str(config), "auth", "google", "--no-browser")
    assert result.exit_code == 1
    assert f"no Google OAuth client: {tmp_path / 'client_secret.json'} does not exist" in (
        result.stderr)
    assert "Desktop app" in result.stderr and scopes.CONSOLE_URL in result.stderr


def test_auth_google_with_two_google_sources_asks_which(tmp_path):
    config = write_config(tmp_path, {"name": "home", "type": "google"},
                          {"name": "work", "type": "google"})
    result = cadenced("--config", str(config), "auth", "google")
    assert result.exit_code == 2  # the command line must name one
    assert "several Google sources ('home', 'work')" in result.stderr


def test_auth_status_without_sign_in(tmp_path):
    config = write_config(tmp_path, {"name": "work", "type": "google"})
    result = cadenced("--config", str(config), "auth", "status")
    assert result.exit_code == 0, result.output
    assert "not signed in: run cadenced auth google --source work" in result.stdout


def test_auth_revoke_without_sign_in_is_an_error(tmp_path):
    config = write_config(tmp_path, {"name": "work", "type": "google"})
    result = cadenced("--config", str(config), "auth", "revoke")
    assert result.exit_code == 1
    assert "is not signed in" in result.stderr


# --- against the emulator -------------------------------------------------------------

URL = re.compile(r"http://127\.0\.0\.1:\d+/o/oauth2/auth\?\S+")


@pytest.fixture
def secrets(google, tmp_path, monkeypatch):
    """A Desktop client's secrets pointing at the emulator (plain http on loopback)."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # requests-oauthlib: http token_uri
    path = tmp_path / "secrets" / "client_secret.json"
    path.parent.mkdir()
    path.write_text(json.dumps(google.client_config()))
    return path


def token_requests(google) -> list:
    return [r for r in google.requests if r.path == "/token"]


def sign_in(google, secrets, path, granted=None, *, deny=False, read_only=False):
    """Run the real flow in a thread; play the consenting browser on the URL it prints."""
    lines: queue.Queue[str] = queue.Queue()
    outcome: dict = {}

    def flow() -> None:
        try:
            outcome["result"] = signin.sign_in("work", path, secrets, read_only=read_only,
                                             open_browser=False, echo=lines.put,
                                             wait_seconds=10, timeout=5)
        except CadencedError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=flow, daemon=True)
    thread.start()
    message = lines.get(timeout=10)
    url = URL.search(message).group(0)
    status = google.authorize(url, granted, deny=deny)
    thread.join(10)
    assert not thread.is_alive()
    return message, url, status, outcome


def test_sign_in_runs_the_loopback_flow_with_pkce_and_writes_a_private_token(google, secrets,
                                                                             tmp_path):
    path = tmp_path / "state" / "google" / "work.json"
    message, url, status, outcome = sign_in(google, secrets, path)
    assert status == 200 and "error" not in outcome
    query = parse_qs(urlsplit(url).query)
    redirect = query["redirect_uri"][0]
    port = urlsplit(redirect).port
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", redirect) and port
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert set(query["scope"][0].split()) == set(WRITE_SCOPES)
    exchange = token_requests(google)[0]  # PKCE checked by the emulator; the verifier was sent
    assert exchange.status == 200 and exchange.body["code_verifier"]
    # the no-browser explanation names the actual port
    assert f"ssh -N -L {port}:127.0.0.1:{port} " in message

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    info = json.loads(path.read_text())
    assert info["token_uri"] == google.token_uri
    assert set(info["scopes"]) == set(WRITE_SCOPES)
    assert info["refresh_token"] in google.oauth.grants
    result = outcome["result"]
    assert result.can_write and not result.fell_back

    tokens = TokenFile(path, source="work")
    assert tokens.can_write
    before = len(google.requests)
    creds = tokens.credentials()
    assert creds.valid and len(google.requests) == before  # fresh token: no refresh


def test_sign_in_with_only_the_calendar_box_ticked_falls_back_to_read_only(google, secrets,
                                                                           tmp_path):
    path = tmp_path / "work.json"
    _, _, _, outcome = sign_in(google, secrets, path, granted=[CALENDAR_EVENTS_OWNED])
    result = outcome["result"]
    assert result.fell_back and not result.can_write
    assert result.scopes == {CALENDAR_EVENTS_OWNED}
    tokens = TokenFile(path, source="work")
    assert tokens.scopes == {CALENDAR_EVENTS_OWNED}
    assert tokens.can_read and not tokens.can_write
    assert os.environ.get("OAUTHLIB_RELAX_TOKEN_SCOPE") is None  # handled without it
    # the narrower token refreshes fine: it asks only for what was granted
    info = json.loads(path.read_text())
    info["expiry"] = iso(datetime.now(UTC) - timedelta(hours=1))
    write_token(path, info)
    assert tokens.credentials().valid


def test_sign_in_without_a_calendar_scope_is_refused_and_keeps_nothing(google, secrets,
                                                                       tmp_path):
    path = tmp_path / "google" / "work.json"
    _, _, _, outcome = sign_in(google, secrets, path, granted=[DRIVE_FILE])
    error = outcome["error"]
    assert "no access to the calendar" in error.message and "cadenced auth google" in error.hint
    assert not path.exists()


def test_sign_in_cancelled_in_the_browser(google, secrets, tmp_path):
    path = tmp_path / "work.json"
    _, _, _, outcome = sign_in(google, secrets, path, deny=True)
    assert "cancelled" in outcome["error"].message
    assert not path.exists()


def test_read_only_sign_in_asks_only_to_read(google, secrets, tmp_path):
    path = tmp_path / "work.json"
    _, url, _, outcome = sign_in(google, secrets, path, read_only=True)
    asked = {CALENDAR_EVENTS_READONLY, CALENDAR_FREEBUSY}
    assert set(parse_qs(urlsplit(url).query)["scope"][0].split()) == asked
    result = outcome["result"]
    assert not result.fell_back and not result.can_write
    assert TokenFile(path, source="work").scopes == asked


def test_expired_access_token_is_refreshed_at_the_files_token_uri_and_saved(google, tmp_path):
    info = google.issue_token(WRITE_SCOPES)
    info["expiry"] = iso(datetime.now(UTC) - timedelta(minutes=5))
    path = write_token(tmp_path / "google" / "work.json", info)
    path.chmod(0o600)
    tokens = TokenFile(path, source="work", timeout=5)
    creds = tokens.credentials()
    (refresh,) = token_requests(google)
    assert refresh.body["grant_type"] == "refresh_token" and refresh.status == 200
    assert creds.valid and creds.token != info["token"]
    saved = json.loads(path.read_text())
    assert saved["token"] == creds.token and saved["token_uri"] == google.token_uri
    assert datetime.fromisoformat(saved["expiry"].rstrip("Z")) > datetime.now(UTC).replace(
        tzinfo=None)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # a second reader of the saved file does not refresh again
    assert TokenFile(path, source="work").credentials().token == creds.token
    assert tokens.credentials() is creds
    assert len(token_requests(google)) == 1


def test_refresh_in_the_middle_of_an_api_call_is_saved(google, tmp_path):
    import google_auth_httplib2
    import httplib2

    path = write_token(tmp_path / "work.json", google.issue_token(WRITE_SCOPES))
    tokens = TokenFile(path, source="work", timeout=5)
    creds = tokens.credentials()
    google.calendar("primary")
    google.expire_access_tokens()  # Google says 401 although the expiry is not reached
    http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(timeout=5))
    response, _ = http.request(google.root + "calendar/v3/calendars/primary/events")
    assert response.status == 200
    assert json.loads(path.read_text())["token"] == creds.token
    assert len(token_requests(google)) == 1


def test_a_new_sign_in_on_disk_is_not_overwritten_by_an_older_refresh(google, tmp_path):
    import google.auth.transport.requests as google_auth_requests

    path = write_token(tmp_path / "work.json", google.issue_token(WRITE_SCOPES))
    tokens = TokenFile(path, source="work", timeout=5)
    old = tokens.credentials()
    newer = google.issue_token(READ_SCOPES)
    write_token(path, newer)
    old.refresh(google_auth_requests.Request())  # as an API call would
    assert json.loads(path.read_text()) == newer
    assert tokens.scopes == set(READ_SCOPES)


def test_revoked_refresh_token_needs_sign_in_and_is_not_retried_until_the_file_changes(
        google, tmp_path):
    info = google.issue_token(WRITE_SCOPES)
    info["expiry"] = iso(datetime.now(UTC) - timedelta(minutes=1))
    path = write_token(tmp_path / "work.json", info)
    google.revoke_refresh_token(info["refresh_token"])
    tokens = TokenFile(path, source="work", timeout=5)
    with pytest.raises(NeedsSignIn) as caught:
        tokens.credentials()
    assert "invalid_grant" in caught.value.reason
    assert caught.value.hint.startswith("run: cadenced auth google --source work")
    assert "7 days" in caught.value.hint
    assert len(token_requests(google)) == 1
    for _ in range(3):
        with pytest.raises(NeedsSignIn):
            tokens.credentials()
    assert len(token_requests(google)) == 1  # no retry loop against Google
    # a new sign-in replaces the file: the same TokenFile works again
    fresh = google.issue_token(WRITE_SCOPES)
    fresh["expiry"] = iso(datetime.now(UTC) - timedelta(minutes=1))
    write_token(path, fresh)
    assert tokens.credentials().valid
    assert len(token_requests(google)) == 2


def test_refused_refresh_during_an_api_call_is_not_retried_either(google, tmp_path):
    import google_auth_httplib2
    import httplib2
    from google.auth.exceptions import RefreshError

    info = google.issue_token(WRITE_SCOPES)
    path = write_token(tmp_path / "work.json", info)
    tokens = TokenFile(path, source="work", timeout=5)
    creds = tokens.credentials()  # still valid: no refresh
    google.calendar("primary")
    google.revoke_refresh_token(info["refresh_token"])  # access token answers 401 now
    http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(timeout=5))
    with pytest.raises(RefreshError):
        http.request(google.root + "calendar/v3/calendars/primary/events")
    assert len(token_requests(google)) == 1
    with pytest.raises(NeedsSignIn):
        tokens.credentials()
    assert len(token_requests(google)) == 1


def test_deleted_oauth_client_needs_sign_in(google, tmp_path):
    info = google.issue_token(WRITE_SCOPES)
    info.update(client_secret="rotated", expiry=iso(datetime.now(UTC) - timedelta(minutes=1)))
    tokens = TokenFile(write_token(tmp_path / "work.json", info), source="work", timeout=5)
    with pytest.raises(NeedsSignIn, match="invalid_client"):
        tokens.credentials()
    with pytest.raises(NeedsSignIn):
        tokens.credentials()
    assert len(token_requests(google)) == 1


def test_revoke_revokes_at_google_and_deletes_the_file(google, tmp_path):
    info = google.issue_token(WRITE_SCOPES)
    path = write_token(tmp_path / "work.json", info)
    result = revoking.revoke(path, source="work", timeout=5)
    assert result.at_google and not path.exists()
    assert google.oauth.grants[info["refresh_token"]].revoked
    (call,) = [r for r in google.requests if r.path == "/revoke"]
    assert call.method == "POST" and call.body == {"token": info["refresh_token"]}
    # already revoked at Google (400 invalid_token) is fine too
    path = write_token(path, {**info, "refresh_token": "1//unknown"})
    assert revoking.revoke(path, source="work", timeout=5).at_google
    assert not path.exists()


# --- the commands, end to end -------------------------------------------------------------


def default_token(config_source: dict) -> Path:
    from daemon.state import paths

    return tokens.token_path(GoogleSource(**config_source), paths.state_dir())


def test_cadenced_auth_google_no_browser_over_ssh(google, tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    source = {"name": "work", "type": "google"}
    config = write_config(tmp_path, source)
    (tmp_path / "client_secret.json").write_text(json.dumps(google.client_config()))
    process = subprocess.Popen(
        [sys.executable, "-m", "daemon", "--config", str(config), "auth", "google",
         "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        for line in process.stdout:
            seen.append(line)
            if URL.search(line):
                break
        url = URL.search("".join(seen)).group(0)
        google.authorize(url, [CALENDAR_EVENTS_OWNED])
        process.wait(timeout=20)
        rest, errors = process.stdout.read(), process.stderr.read()  # keeps what was buffered
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(seen) + rest
    assert process.returncode == 0, errors
    port = urlsplit(parse_qs(urlsplit(url).query)["redirect_uri"][0]).port
    assert f"ssh -N -L {port}:127.0.0.1:{port} " in output
    assert "READ-ONLY" in output and "Write-back and Google Docs agendas stay off" in output
    path = default_token(source)
    assert f"Token saved to {path}" in output
    assert TokenFile(path, source="work").scopes == {CALENDAR_EVENTS_OWNED}
    assert "emulator-secret" not in output and "ya29" not in output


def test_cadenced_auth_status_and_revoke(google, tmp_path):
    source = {"name": "work", "type": "google"}
    config = write_config(tmp_path, source)
    info = google.issue_token(WRITE_SCOPES)
    path = default_token(source)
    write_private(path, json.dumps(info).encode())

    status = cadenced("--config", str(config), "auth", "status")
    assert status.exit_code == 0, status.output
    assert "calendar.events.owned, calendar.freebusy, drive.file" in status.stdout
    assert "read and write" in status.stdout
    assert "ya29" not in status.stdout and "1//" not in status.stdout

    result = cadenced("--config", str(config), "auth", "revoke")
    assert result.exit_code == 0, result.output
    assert "Revoked the Google sign-in of source 'work'" in result.stdout
    assert not path.exists() and google.oauth.grants[info["refresh_token"]].revoked


def test_cadenced_auth_revoke_offline_still_deletes_the_file(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = {"name": "work", "type": "google", "timeout_seconds": 2}
    config = write_config(tmp_path, source)
    path = default_token(source)
    write_private(path, json.dumps(token_info(f"http://127.0.0.1:{port}/token")).encode())
    result = cadenced("--config", str(config), "auth", "revoke")
    assert result.exit_code == 0, result.output
    assert not path.exists()
    assert "https://myaccount.google.com/permissions" in result.stdout
