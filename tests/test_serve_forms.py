"""The agenda forms of `cadenced serve` over real HTTP on 127.0.0.1: what a POST must
carry to reach the store, and the pure edits behind them."""

from __future__ import annotations

import http.client
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from daemon.core.agenda import forms
from daemon.service.server import MAX_BODY, AgendaServer, new_secret
from daemon.state.agendas import LocalAgendaStore

from conftest import BERLIN, at

ADA = "ada@example.com"
DOC = ("# 1:1 — Me & Ada\n\n## Next time\n<!-- cadenced:next -->\n- (either of you: add topics "
       "here; they move into the next meeting's agenda)\n\n"
       "## Mon 16 Nov 2026\n<!-- cadenced:meeting key=u|20261116T090000Z -->\n\n"
       "### Notes\n\n### Action items\n- [ ] Ada: send it (due 2026-11-30)\n")


@pytest.fixture
def server(tmp_path):
    store = LocalAgendaStore(tmp_path / "agendas")
    store.write(ADA, DOC, expected=None)
    served = AgendaServer(host="127.0.0.1", port=0, secret=new_secret(), store=store,
                          feed=bytes, index=lambda: [(ADA, "Ada")])
    served.start()
    yield served
    served.stop()


def post(server, path, fields=None, *, origin="same", content_type=None, raw=None,
         host=None):
    body = raw if raw is not None else urlencode(fields or {}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Content-Type": content_type or "application/x-www-form-urlencoded",
               "Content-Length": str(len(body))}
    if origin == "same":
        headers["Origin"] = f"http://127.0.0.1:{server.port}"
    elif origin is not None:
        headers["Origin"] = origin
    if host is not None:
        headers["Host"] = host
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def form(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", f"/{server.secret}/agenda/{ADA}")
    page = connection.getresponse().read().decode()
    connection.close()
    token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    version = re.search(r'name="version" value="([0-9a-f]+)"', page).group(1)
    return {"token": token, "version": version}


def test_a_good_topic_is_saved_and_answered_303(server):
    status, headers, _ = post(server, f"/{server.secret}/agenda/{ADA}/topic",
                              {**form(server), "topic": "budget"})
    assert status == 303
    assert headers["Location"] == f"/{server.secret}/agenda/{ADA}"
    assert "- budget\n" in server.store.read(ADA).text


@pytest.mark.parametrize(("change", "status"), [
    ({"origin": None}, 403),
    ({"origin": "null"}, 403),
    ({"origin": "http://evil.example"}, 403),
    ({"origin": "http://127.0.0.1:1"}, 403),
    ({"origin": "https://127.0.0.1"}, 403),
    ({"host": "evil.example"}, 421),
    ({"content_type": "text/plain"}, 415),
    ({"content_type": "multipart/form-data; boundary=x"}, 415),
])
def test_a_form_without_this_servers_origin_host_or_type_is_refused(server, change, status):
    fields = {**form(server), "topic": "planted"}
    assert post(server, f"/{server.secret}/agenda/{ADA}/topic", fields, **change)[0] == status
    assert server.store.read(ADA).text == DOC


def test_a_missing_or_foreign_token_is_refused(server):
    fields = form(server)
    for token in ("", "0" * 64, None):
        sent = {**fields, "topic": "planted"}
        if token is None:
            sent.pop("token")
        else:
            sent["token"] = token
        assert post(server, f"/{server.secret}/agenda/{ADA}/topic", sent)[0] == 403
    other = AgendaServer(host="127.0.0.1", port=0, secret=server.secret, store=server.store,
                         feed=bytes, index=list)
    foreign = other.site.token(ADA)  # another server's key: another token
    sent = {**fields, "token": foreign, "topic": "planted"}
    assert post(server, f"/{server.secret}/agenda/{ADA}/topic", sent)[0] == 403
    assert server.store.read(ADA).text == DOC


def test_a_body_over_the_limit_is_refused_unread(server):
    raw = b"topic=" + b"x" * MAX_BODY
    assert post(server, f"/{server.secret}/agenda/{ADA}/topic", raw=raw)[0] == 413
    assert server.store.read(ADA).text == DOC


def test_post_is_answered_only_at_the_forms_and_behind_the_secret(server):
    fields = {**form(server), "topic": "planted"}
    for path in (f"/{server.secret}/", f"/{server.secret}/agenda/{ADA}",
                 f"/{server.secret}/calendar.ics", f"/{server.secret}/agenda/{ADA}/delete"):
        status, headers, _ = post(server, path, fields)
        assert status == 405 and headers["Allow"] == "GET, HEAD", path
    assert post(server, f"/{'x' * 32}/agenda/{ADA}/topic", fields)[0] == 404
    assert server.store.read(ADA).text == DOC


def test_a_stale_version_is_409_with_the_newer_text_and_what_was_typed(server):
    fields = form(server)
    version = server.store.read(ADA).version
    server.store.write(ADA, DOC + "- [ ] Me: a newer line\n", expected=version)
    status, _, body = post(server, f"/{server.secret}/agenda/{ADA}/notes",
                           {**fields, "key": "u|20261116T090000Z", "notes": "my <notes>"})
    assert status == 409
    page = body.decode()
    assert "a newer line" in page
    assert "my &lt;notes&gt;</textarea>" in page
    assert "my <notes>" not in server.store.read(ADA).text


def test_ticking_a_line_that_changed_is_refused(server):
    fields = form(server)
    sent = {**fields, "index": "12", "line": "- [ ] Ada: something else", "done": "1"}
    status, _, body = post(server, f"/{server.secret}/agenda/{ADA}/item", sent)
    assert status == 409 and b"Not saved" in body
    assert server.store.read(ADA).text == DOC


# --- the pure edits ------------------------------------------------------------------


def test_tick_and_untick_change_only_the_box():
    [task] = forms.task_lines(DOC)
    ticked = forms.set_done(DOC, task.index, task.line, True)
    assert ticked == DOC.replace("- [ ] Ada: send it", "- [x] Ada: send it")
    assert forms.set_done(ticked, task.index, ticked.splitlines()[task.index], False) == DOC


def test_a_topic_goes_to_next_time_without_a_coming_section_and_keeps_crlf():
    text = DOC.replace("\n", "\r\n")
    new = forms.add_topic(text, "budget\r\nplanted: line", now=at("2026-11-20T09:00"), tz=BERLIN)
    assert "- budget planted: line\r\n" in new  # one line, whatever was typed
    assert new.replace("- budget planted: line\r\n", "", 1) == text
    with pytest.raises(forms.EditError):
        forms.add_topic(text, "  \n ", now=at("2026-11-20T09:00"), tz=BERLIN)


def test_notes_are_replaced_inside_their_section_only():
    new = forms.set_notes(DOC, "u|20261116T090000Z", "one\ntwo")
    assert forms.notes_of(new, "u|20261116T090000Z") == "one\ntwo"
    assert new.replace("### Notes\none\ntwo\n\n", "### Notes\n\n") == DOC
    with pytest.raises(forms.EditError):
        forms.set_notes(DOC, "gone", "x")


def test_the_coming_section_is_the_first_that_has_not_begun():
    doc = forms.parse(DOC, tz=BERLIN)
    assert forms.coming_section(doc, at("2026-11-10T09:00")).key == "u|20261116T090000Z"
    assert forms.coming_section(doc, at("2026-11-16T09:00") + timedelta(hours=1)) is None


# --- the command -----------------------------------------------------------------------


def test_cadenced_serve_serves_the_health_page_and_stops_on_sigterm(tmp_path, demo):
    """`cadenced serve` as a user runs it: a process, its address in the runtime file."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    from daemon.state import paths

    config = tmp_path / "config.toml"
    people = "".join(f'[[people]]\nname = "{p["name"]}"\nemail = "{p["email"]}"\n\n'
                     for p in demo["people"])
    config.write_text(
        f'[owner]\nemail = "{demo["owner"]["email"]}"\nname = "Maya Chen"\n'
        f'timezone = "Europe/Berlin"\n\n[[sources]]\nname = "demo"\ntype = "ics"\n'
        f'url = "{demo["sources"][0]["url"]}"\n\n{people}'
        '[server]\nenabled = true\nport = 0\n')
    process = subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(config),
                                "serve"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    runtime = paths.runtime_dir() / paths.RUNTIME_FILE
    try:
        base = None
        deadline = time.monotonic() + 60
        while base is None and time.monotonic() < deadline and process.poll() is None:
            if runtime.exists():
                base = json.loads(runtime.read_text()).get("server")
            time.sleep(0.1)
        assert base, process.stderr.read().decode() if process.poll() is not None else "slow"
        with urllib.request.urlopen(base + "/") as reply:
            page = reply.read().decode()
        assert "<h1>Your 1:1s</h1>" in page and "Tom Becker" in page
        assert "/person/jonas@example.com" in page
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert not runtime.exists()
    assert os.environ["XDG_RUNTIME_DIR"] in str(runtime)  # never the real one
