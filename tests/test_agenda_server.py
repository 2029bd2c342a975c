"""The agenda documents' home: the local store (compare-and-swap), the safe HTML, and
`cadenced serve`'s HTTP server with its overlay calendar, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import fcntl
import hashlib
import http.client
import logging
import os
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from connectors.base import Conflict, InvalidPerson, Revision, with_retry
from daemon.core.agenda.model import Meeting, meeting_key
from daemon.render.agenda import render_document, render_markdown, sanitize
from daemon.service.server import (
    SECURITY_HEADERS,
    AgendaServer,
    new_secret,
    overlay_calendar,
)
from daemon.state.agendas import LocalAgendaStore

from conftest import at

ADA = "ada@example.com"
NOW = at("2026-11-20T09:00")
HOSTILE_TITLE = (
    'Ada, me; "weekly"\nDESCRIPTION:pwned\r\nURL:https://evil.example\rX <script>x</script>'
)


def meeting(uid: str, start: datetime, *, minutes: int = 30, title: str = "Ada / me",
            cancelled: bool = False) -> Meeting:
    return Meeting(key=meeting_key(uid, start), start=start,
                   end=start + timedelta(minutes=minutes), title=title, cancelled=cancelled)


# --- the store ---------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path) -> LocalAgendaStore:
    return LocalAgendaStore(tmp_path / "agendas")


def test_write_new_then_read(store):
    assert store.read(ADA) is None
    version = store.write(ADA, "# Ada\n", expected=None)
    assert store.read(ADA) == Revision(text="# Ada\n", version=version)
    assert store.path("Ada@Example.COM") == store.directory / "ada@example.com.md"
    assert (store.directory / "ada@example.com.md").read_text() == "# Ada\n"


def test_write_with_the_right_version(store):
    first = store.write(ADA, "one\n", expected=None)
    second = store.write(ADA, "two\n", expected=first)
    assert second != first
    assert store.read(ADA).text == "two\n"
    assert store.write(ADA, "two\n", expected=second) == second  # same text, same version


def test_stale_version_is_a_conflict(store):
    first = store.write(ADA, "one\n", expected=None)
    store.write(ADA, "two\n", expected=first)
    with pytest.raises(Conflict) as caught:
        store.write(ADA, "three\n", expected=first)
    assert str(store.path(ADA)) in str(caught.value)
    assert store.read(ADA).text == "two\n"


def test_existing_document_with_expected_none_is_a_conflict(store):
    store.write(ADA, "mine\n", expected=None)
    with pytest.raises(Conflict):
        store.write(ADA, "theirs\n", expected=None)
    assert store.read(ADA).text == "mine\n"


def test_removed_document_is_a_conflict(store):
    version = store.write(ADA, "one\n", expected=None)
    store.path(ADA).unlink()
    with pytest.raises(Conflict):
        store.write(ADA, "two\n", expected=version)
    assert store.read(ADA) is None


def test_human_edit_between_read_and_write_is_caught(store):
    store.write(ADA, "# Ada\n", expected=None)
    revision = store.read(ADA)
    store.path(ADA).write_text("# Ada\n\n- my own note\n")  # an editor saves in place
    with pytest.raises(Conflict):
        store.write(ADA, revision.text + "\n## cadenced section\n", expected=revision.version)
    assert "my own note" in store.read(ADA).text


def test_with_retry_reapplies_after_a_concurrent_edit(store):
    store.write(ADA, "# Ada\n", expected=None)
    seen: list[str | None] = []

    def human_edit() -> None:
        path = store.path(ADA)
        path.write_text(path.read_text() + "- a note typed meanwhile\n")

    def change(text: str | None) -> str:
        seen.append(text)
        if len(seen) == 1:  # someone saves while cadenced is computing its change
            editor = threading.Thread(target=human_edit)
            editor.start()
            editor.join()
        return f"{text}- cadenced's line\n"

    version = with_retry(store, ADA, change)
    assert len(seen) == 2
    assert seen[1] == "# Ada\n- a note typed meanwhile\n"
    revision = store.read(ADA)
    assert revision.version == version
    assert revision.text == "# Ada\n- a note typed meanwhile\n- cadenced's line\n"


def test_with_retry_from_two_processes_loses_nothing(store, tmp_path):
    store.write(ADA, "", expected=None)
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from connectors.base import with_retry
        from daemon.state.agendas import LocalAgendaStore
        store = LocalAgendaStore(Path({str(store.directory)!r}))
        for i in range(25):
            with_retry(store, {ADA!r}, lambda t: t + f"{{sys.argv[1]}} {{i}}\\n", attempts=200)
    """)
    workers = [subprocess.Popen([sys.executable, "-c", script, name]) for name in ("p", "q")]
    assert [w.wait(timeout=60) for w in workers] == [0, 0]
    lines = store.read(ADA).text.splitlines()
    assert sorted(lines) == sorted([f"p {i}" for i in range(25)] + [f"q {i}" for i in range(25)])
    assert [line for line in lines if line.startswith("p")] == [f"p {i}" for i in range(25)]


def test_with_retry_gives_up_naming_the_file(store):
    store.write(ADA, "start\n", expected=None)
    calls = 0

    def change(text):
        nonlocal calls
        calls += 1
        store.path(ADA).write_text(f"edited {calls}\n")  # changes every single time
        return text + "x\n"

    with pytest.raises(Conflict) as caught:
        with_retry(store, ADA, change, attempts=3)
    assert calls == 3
    assert str(store.path(ADA)) in str(caught.value)


def test_with_retry_creates_and_skips(store):
    assert with_retry(store, ADA, lambda text: None) is None
    assert store.read(ADA) is None
    version = with_retry(store, ADA, lambda text: (text or "") + "# Ada\n")
    assert store.read(ADA).version == version
    mtime = store.path(ADA).stat().st_mtime_ns
    assert with_retry(store, ADA, lambda text: text) == version  # unchanged: no write
    assert store.path(ADA).stat().st_mtime_ns == mtime


def test_a_second_writer_waits_for_the_lock(store):
    store.write(ADA, "one\n", expected=None)
    version = store.read(ADA).version
    fd = os.open(store.directory / ".lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another cadenced is mid-write
    done = threading.Event()
    writer = threading.Thread(target=lambda: (store.write(ADA, "two\n", expected=version),
                                              done.set()))
    try:
        writer.start()
        assert not done.wait(0.3)
        assert store.read(ADA).text == "one\n"
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    assert done.wait(5)
    writer.join()
    assert store.read(ADA).text == "two\n"


def test_files_are_private(tmp_path):
    store = LocalAgendaStore(tmp_path / "deep" / "agendas")
    store.write(ADA, "secret notes\n", expected=None)
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path(ADA).stat().st_mode) == 0o600
    assert stat.S_IMODE((store.directory / ".lock").stat().st_mode) == 0o600
    assert sorted(p.name for p in store.directory.iterdir()) == [".lock", "ada@example.com.md"]
    assert store.people() == [ADA]


@pytest.mark.parametrize("person", [
    "../x", "../x@example.com", "a/b@example.com", "x@example.com/../../etc",
    "a\x00@example.com", "", "no-at-sign", ".hidden@example.com", "a@b@example.com",
    "a..b@example.com", "a b@example.com", "a\\b@example.com", "a@", "@example.com",
])
def test_refuses_what_is_not_a_plain_address(store, person):
    with pytest.raises(InvalidPerson):
        store.path(person)
    with pytest.raises(InvalidPerson):
        store.write(person, "x", expected=None)
    with pytest.raises(InvalidPerson):
        store.read(person)
    assert not (store.directory.parent / "x.md").exists()


def test_url_points_at_the_server(tmp_path):
    assert LocalAgendaStore(tmp_path).url(ADA) is None
    store = LocalAgendaStore(tmp_path, base_url="http://127.0.0.1:8765/s3cr3t/")
    assert store.url("Ada+1on1@Example.com") == "http://127.0.0.1:8765/s3cr3t/agenda/ada%2B1on1@example.com"


# --- the HTML ----------------------------------------------------------------------------


def test_hostile_markdown_is_shown_as_text():
    out = render_markdown(
        "# Notes <script>alert(1)</script>\n\n"
        "- [x](javascript:alert(1))\n"
        "- <img src=x onerror=alert(2)>\n"
        "- [data](data:text/html;base64,PHNjcmlwdD4=) <javascript:alert(3)>\n"
        "- [ref][r] ![pic](https://example.com/p.png)\n\n"
        "[r]: javascript:alert(4)\n\n"
        '<div onclick="alert(5)">raw block</div>\n'
    )
    lowered = out.lower()
    for bad in ("<script", "<img", "<div", "href=\"javascript", "href=\"data", "href=\"http:",
                "onerror=alert(2)>", " src=x>"):
        assert bad not in lowered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;img src=x onerror=alert(2)&gt;" in out
    assert "[x](javascript:alert(1))" in out  # the link shown as what was written
    assert '<a href="https://example.com/p.png"' in out  # an image is only a link
    assert "<img" not in out


def test_only_https_and_mailto_links_survive():
    out = render_markdown("[ok](https://example.com/a?b=1&c=2) [mail](mailto:ada@example.com) "
                          "[plain](http://example.com) <https://auto.example>")
    assert '<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer">ok</a>' in out
    assert '<a href="mailto:ada@example.com" rel="noopener noreferrer">mail</a>' in out
    assert "[plain](http://example.com)" in out
    assert 'href="http:' not in out
    assert '<a href="https://auto.example"' in out


def test_hostile_title_is_escaped():
    page = render_document("text", title="</title><script>alert(1)</script>")
    assert "<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>" in page
    assert "<script" not in page
    assert page.startswith("<!DOCTYPE html>")
    assert "src=" not in page and "http" not in page.split("<main>")[0]


def test_markers_and_comments_are_hidden():
    text = (
        "<!-- cadenced:meeting key=uid-1|20261120T080000Z -->\n"
        "## Fri 20 Nov 2026 <!-- cadenced:theme trust -->\n\n"
        "Before <!-- a private aside --> after\n\n"
        "<!-- spans\n\nparagraphs -->\n"
        "- [ ] Ada: send the doc <!-- cadenced:item id=7 -->\n"
    )
    out = render_markdown(text)
    for hidden in ("cadenced:", "&lt;!--", "--&gt;", "<!--", "private aside", "spans",
                   "paragraphs"):
        assert hidden not in out
    assert "<h2>Fri 20 Nov 2026 </h2>" in out
    assert "Before  after" in out
    assert "<p></p>" not in out
    assert "☐ Ada: send the doc" in out


def test_a_cadenced_document_renders_cleanly():
    text = (
        "# 1:1 — Me & Ada\n\n## Next time\n<!-- cadenced:next -->\n"
        "- (either of you: add topics here)\n\n"
        '<!-- Action items look like "- [ ] Owner: what (due 2026-12-01)"; tick [x]. -->\n\n'
        "## Mon 23 Nov 2026 · 14:00–14:45 (45 min)\n"
        "<!-- cadenced:meeting key=u%7C20261123T130000Z -->\n_Last held 7 days ago_\n\n"
        "### Carried over\n- [ ] Jonas: draft it (due 2026-11-20) — carried 2x, **overdue**\n"
    )
    out = render_markdown(text)
    assert "<!--" not in out and "&lt;!--" not in out and "cadenced:" not in out
    assert "Owner: what" not in out
    assert "<h1>1:1 — Me &amp; Ada</h1>" in out
    assert "<p><em>Last held 7 days ago</em></p>" in out
    assert ("<li>☐ Jonas: draft it (due 2026-11-20) — carried 2x, <strong>overdue</strong></li>"
            in out)


def test_an_unclosed_comment_does_not_hide_the_notes():
    out = render_markdown("<!-- oops\n\nthe rest of my notes\n")
    assert "the rest of my notes" in out


def test_task_items_and_gfm_bits():
    out = render_markdown("- [ ] open\n- [x] done\n- [X] also done\n- [link](https://e.com)\n\n"
                          "| a | b |\n|---|--:|\n| 1 | ~~2~~ |\n")
    assert "<li>☐ open</li>" in out
    assert "<li>☑ done</li>" in out
    assert "<li>☑ also done</li>" in out
    assert '<li><a href="https://e.com"' in out
    assert "<table>" in out and "<td>1</td>" in out and "<s>2</s>" in out
    assert "style=" not in out  # the alignment attribute is dropped


def test_sanitizer_keeps_only_the_allowlist():
    out = sanitize('<p class="x" onclick="y">a<script>evil()</script><style>*{}</style>'
                   '<a href="javascript:alert(1)" title="t">b</a><a href=" https://ok.example">c'
                   '</a><img src=x onerror=z><iframe src=https://e.com>d</iframe>'
                   '<!-- c --><svg><text>s</text></svg><em>e</em></p>'
                   '<ol start="3" type="i"><li>3</li></ol><ol start="x"><li>y</li></ol>')
    assert out == (
        "<p>ab<a href=\" https://ok.example\" rel=\"noopener noreferrer\">c</a><em>e</em></p>"
        '<ol start="3"><li>3</li></ol><ol><li>y</li></ol>'
    )
    assert sanitize("<b>x</b><p>unclosed") == "x<p>unclosed</p>"
    assert sanitize("a &lt;b&gt; &amp; c") == "a &lt;b&gt; &amp; c"


# --- the overlay calendar ----------------------------------------------------------------


def parse(data: bytes) -> list:
    calendar = Calendar.from_ical(data)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["X-WR-CALNAME"]) == "cadenced agendas"
    assert str(calendar["X-PUBLISHED-TTL"]) == "PT15M"
    assert calendar["PRODID"]
    return calendar.walk("VEVENT")


def test_overlay_calendar_is_valid():
    url = "http://127.0.0.1:8765/s/agenda/ada@example.com"
    upcoming = meeting("uid-1", at("2026-11-23T14:00"))
    in_utc = meeting("uid-2", datetime(2026, 11, 24, 10, tzinfo=UTC), minutes=45)
    past = meeting("uid-3", at("2026-11-19T10:00"))
    running = meeting("uid-4", at("2026-11-20T08:45"))
    data = overlay_calendar([(upcoming, url, "Ada Lovelace"), (in_utc, url, "Ada Lovelace"),
                             (past, url, "Ada Lovelace"), (running, url, "Ada Lovelace")],
                            now=NOW)
    events = parse(data)
    assert len(events) == 3  # the past one is left out; the running one stays
    for event in events:
        for prop in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "URL", "DESCRIPTION"):
            assert prop in event, prop
        assert str(event["URL"]) == url
        assert f"Agenda: {url}" in str(event["DESCRIPTION"])
        assert "Ada Lovelace" in str(event["DESCRIPTION"])
        assert str(event["SUMMARY"]) == "1:1 agenda: Ada / me"
        assert str(event["STATUS"]) == "CONFIRMED"
        assert str(event["TRANSP"]) == "TRANSPARENT"
        assert event.decoded("DTSTAMP") == NOW.astimezone(UTC)
    by_uid = {str(e["UID"]): e for e in events}
    uid = hashlib.sha256(upcoming.key.encode()).hexdigest()[:24] + "@cadenced"
    first = by_uid[uid]
    assert first.decoded("DTSTART") == upcoming.start
    assert first["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert b"BEGIN:VTIMEZONE" in data and b"TZID:Europe/Berlin" in data
    assert b"DTSTART:20261124T100000Z" in data
    assert b"DTEND:20261124T104500Z" in data
    # stable: another run (later, with the meeting moved) keeps the UIDs
    moved = Meeting(upcoming.key, upcoming.start + timedelta(hours=1),
                    upcoming.end + timedelta(hours=1), upcoming.title)
    again = parse(overlay_calendar([(moved, url, "Ada Lovelace")], now=NOW + timedelta(hours=1)))
    assert [str(e["UID"]) for e in again] == [uid]


def test_hostile_title_round_trips_as_text():
    url = "http://127.0.0.1:8765/s/agenda/ada@example.com"
    data = overlay_calendar([(meeting("uid-1", at("2026-11-23T14:00"), title=HOSTILE_TITLE), url,
                              'Ada "the; admin", Lovelace\nX')], now=NOW)
    (event,) = parse(data)
    expected = HOSTILE_TITLE.replace("\r\n", "\n").replace("\r", "\n")
    assert str(event["SUMMARY"]) == f"1:1 agenda: {expected}"
    assert str(event["URL"]) == url
    assert 'Ada "the; admin", Lovelace\nX' in str(event["DESCRIPTION"])
    lines = data.decode().split("\r\n")
    injected = ("URL:https://evil", "DESCRIPTION:pwned", "X <script>")
    assert not [line for line in lines if line.startswith(injected)]
    assert b"\r" not in data.replace(b"\r\n", b"")  # no bare CR
    assert b"\n" not in data.replace(b"\r\n", b"")  # no bare LF


def test_cancelled_meeting_and_missing_url():
    data = overlay_calendar([(meeting("uid-1", at("2026-11-23T14:00"), cancelled=True), None,
                              "Ada")], now=NOW)
    (event,) = parse(data)
    assert str(event["STATUS"]) == "CANCELLED"
    assert "URL" not in event
    assert "Agenda:" not in str(event["DESCRIPTION"])


def test_overlay_calendar_needs_aware_times():
    with pytest.raises(ValueError):
        overlay_calendar([], now=datetime(2026, 11, 20, 9))
    assert parse(overlay_calendar([], now=NOW)) == []


# --- the server --------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path):
    store = LocalAgendaStore(tmp_path / "agendas")
    calls = {"feed": 0}

    def feed() -> bytes:
        calls["feed"] += 1
        url = store.url(ADA)
        return overlay_calendar([(meeting("uid-1", at("2026-11-23T14:00"), title=HOSTILE_TITLE),
                                  url, "Ada Lovelace")], now=NOW)

    def index() -> list[tuple[str, str]]:
        return [(ADA, "Ada <Lovelace>"), ("bob@example.com", "Bob")]

    server = AgendaServer(host="127.0.0.1", port=0, secret=new_secret(), store=store,
                          feed=feed, index=index)
    server.start()
    store.base_url = server.base_url
    server.calls = calls
    yield server
    server.stop()


def request(server: AgendaServer, path: str, method: str = "GET", body: bytes | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def assert_security_headers(headers: dict[str, str]) -> None:
    for name, value in SECURITY_HEADERS:
        assert headers.get(name) == value, name
    assert headers["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'")


def test_base_url_and_secret(server):
    assert server.base_url == f"http://127.0.0.1:{server.port}/{server.secret}"
    assert server.port > 0
    assert len(server.secret) >= 32 and new_secret() != server.secret


def test_index_lists_the_agendas(server):
    status, headers, body = request(server, f"/{server.secret}/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert_security_headers(headers)
    page = body.decode()
    assert f'<a href="/{server.secret}/agenda/ada@example.com">Ada &lt;Lovelace&gt;</a>' in page
    assert f'href="/{server.secret}/agenda/bob@example.com"' in page
    assert f'href="/{server.secret}/calendar.ics"' in page
    assert request(server, f"/{server.secret}")[0] == 200


def test_agenda_page_is_rendered_safely(server):
    store = server.store
    store.write(ADA, "<!-- cadenced:meeting key=k -->\n## Mon 23 Nov\n\n"
                     "- [ ] <script>alert(1)</script> [x](javascript:alert(1)) "
                     "[doc](https://docs.example/a)\n", expected=None)
    url = store.url(ADA)
    assert url == f"{server.base_url}/agenda/ada@example.com"
    status, headers, body = request(server, url.removeprefix(f"http://127.0.0.1:{server.port}"))
    assert status == 200
    assert_security_headers(headers)
    page = body.decode()
    assert "<title>1:1 with Ada &lt;Lovelace&gt;</title>" in page
    assert "<h2>Mon 23 Nov</h2>" in page
    assert "☐ &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<a href="https://docs.example/a"' in page
    assert "<script" not in page and "cadenced:meeting" not in page
    # the address may be percent-encoded and in any case
    assert request(server, f"/{server.secret}/agenda/Ada%40Example.com")[0] == 200


def test_missing_or_invalid_agenda_is_404(server):
    for path in ("agenda/bob@example.com", "agenda/..%2F..%2Fetc%2Fpasswd",
                 "agenda/%2e%2e", "agenda/%ff%fe@x", "agenda/", "agenda/a/b", "nothing"):
        status, headers, body = request(server, f"/{server.secret}/{path}")
        assert status == 404, path
        assert_security_headers(headers)
        assert b"<script" not in body


def test_calendar_feed_is_served(server):
    status, headers, body = request(server, f"/{server.secret}/calendar.ics?x=1")
    assert status == 200
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert_security_headers(headers)
    (event,) = parse(body)
    assert str(event["URL"]) == f"{server.base_url}/agenda/ada@example.com"
    assert f"Agenda: {server.base_url}/agenda/ada@example.com" in str(event["DESCRIPTION"])
    assert str(event["SUMMARY"]).startswith("1:1 agenda: Ada, me;")


def test_wrong_secret_is_the_same_empty_404(server):
    secret = server.secret
    answers = []
    for path in ("/", "/x", f"/{secret[:-1]}/", f"/{secret}x/", f"/{secret.upper()}/",
                 f"/x/{secret}/", f"/.{secret}/", f"/{secret};/", "/agenda/ada@example.com",
                 "/calendar.ics",
                 f"/{secret[:-1]}/calendar.ics", "/%00", f"/{secret}%2F", "/%C3%A9/"):
        status, headers, body = request(server, path)
        headers.pop("Date")
        answers.append((status, sorted(headers.items()), body))
    assert answers[0][0] == 404
    assert answers[0][2] == b""
    assert all(answer == answers[0] for answer in answers)
    assert_security_headers(dict(answers[0][1]))


def test_only_get_and_head(server):
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW"):
        status, headers, body = request(server, f"/{server.secret}/", method, body=b"x=1")
        assert status == 405, method
        assert headers["Allow"] == "GET, HEAD"
        assert body == b""
        assert_security_headers(headers)
    status, headers, body = request(server, f"/{server.secret}/calendar.ics", "HEAD")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) > 0
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"


def test_secret_never_reaches_the_log(server, caplog):
    caplog.set_level(logging.DEBUG, logger="daemon.service.server")
    request(server, f"/{server.secret}/")
    request(server, f"/{server.secret}/calendar.ics")
    request(server, f"/{server.secret[:-1]}x/near-miss")
    request(server, f"/{server.secret}/", "POST", body=b"")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(f"GET / /{server.secret}/\r\n\r\n".encode())  # a malformed request line
        raw.recv(100)  # the server answers (400, as HTTP/0.9: no headers) and closes
    deadline = time.monotonic() + 5
    while len(caplog.records) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.secret not in caplog.text
    assert server.secret[:-1] not in caplog.text
    assert "/…/calendar.ics" in caplog.text
    assert "/…/near-miss" in caplog.text
    assert "Bad request version ('/…/')" in caplog.text


def test_a_failing_feed_is_a_500_and_the_server_goes_on(tmp_path, caplog):
    secret = new_secret()

    def feed() -> bytes:
        raise RuntimeError(f"boom at http://127.0.0.1/{secret}/")

    server = AgendaServer(host="127.0.0.1", port=0, secret=secret,
                          store=LocalAgendaStore(tmp_path), feed=feed, index=list)
    with server:
        status, headers, body = request(server, f"/{secret}/calendar.ics")
        assert (status, body) == (500, b"")
        assert_security_headers(headers)
        status, _, body = request(server, f"/{secret}/")
        assert status == 200 and b"No 1:1s yet" in body
    assert secret not in caplog.text
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


def test_refuses_a_weak_secret(tmp_path):
    for secret in ("", "short", "has/slash/in/it/aaaaaaaaaaaa", "a" * 15):
        with pytest.raises(ValueError):
            AgendaServer(host="127.0.0.1", port=0, secret=secret,
                         store=LocalAgendaStore(tmp_path), feed=bytes, index=list)


def test_a_busy_port_is_a_clear_error(server, tmp_path):
    from daemon.core.errors import CadencedError

    other = AgendaServer(host="127.0.0.1", port=server.port, secret=new_secret(),
                         store=LocalAgendaStore(tmp_path), feed=bytes, index=list)
    with pytest.raises(CadencedError, match="cannot serve agendas"):
        other.start()


def test_store_path_is_plain_file(tmp_path: Path):
    store = LocalAgendaStore(tmp_path)
    store.write("Ada@Example.com", "x", expected=None)
    assert (tmp_path / "ada@example.com.md").is_file()
    assert store.read("ada@example.com").text == "x"


def request_as(server: AgendaServer, path: str, host: str):
    """A GET with a chosen Host header (what a DNS-rebinding page sends)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "127.0.0.1.evil.example",
                                  "[::2]:8765", "localhost.evil.example"])
def test_another_host_name_gets_421_and_nothing_of_the_agendas(server, host):
    for path in (f"/{server.secret}/", f"/{server.secret}/calendar.ics",
                 f"/{server.secret}/agenda/ada@example.com"):
        status, body = request_as(server, path, host)
        assert (status, body) == (421, b""), (host, path)
    assert server.calls["feed"] == 0


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST:{port}",
                                  "127.0.0.1:{port}", "[::1]:{port}"])
def test_loopback_names_are_served(server, host):
    status, _ = request_as(server, f"/{server.secret}/", host.format(port=server.port))
    assert status == 200


def test_the_configured_host_is_served(tmp_path):
    served = AgendaServer(host="127.0.0.2", port=0, secret=new_secret(),
                          store=LocalAgendaStore(tmp_path), feed=lambda: b"", index=list)
    assert served.serves("127.0.0.2:8765") and served.serves("localhost")
    assert not served.serves("cadenced.example")
