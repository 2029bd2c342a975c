"""Write-back to Outlook invites through Graph (the emulator): only the owner's masters
and single events, one marked line after the owner's HTML (a byte-identical prefix),
If-Match with 412 re-read and re-planned, a record in an extended property so a second
run changes nothing and a removed line is not put back, dry runs write nothing."""

from __future__ import annotations

import pytest
from test_microsoft_sync import ADA, NOW, series, syncer_for

from connectors.base import AgendaLink
from connectors.microsoft.writeback import PROPERTY
from daemon.config import parse_config
from daemon.state.store import Store

from conftest import BERLIN, OWNER
from graphserver import config_data, sign_in

LINK = AgendaLink("https://docs.example.com/d/ada", "1:1 agenda: Ada <Lovelace>")
BODY = '<html><head><meta charset="utf-8"></head><body><p>Bring &amp; share</p></body></html>'


@pytest.fixture
def source(graph, tmp_path):
    def make(read_only=False, **keys):
        token = tmp_path / "token.json"
        sign_in(graph, token, read_only=read_only)
        config = parse_config({"owner": {"email": OWNER, "timezone": "Europe/Berlin"},
                               "sources": [config_data(graph, token, name="ms", **keys)]}
                              ).config
        with Store.open(tmp_path / "state") as state:
            calendar = syncer_for(config, state).sources[0]
        calendar.read(tz=BERLIN, interest=None)
        return calendar
    return make


def patches(graph):
    return [r for r in graph.graph_requests() if r.method == "PATCH"]


def test_the_line_follows_the_owners_html_and_two_runs_make_one_patch(graph, source):
    master = series(graph, body=BODY)
    calendar = source()
    [change] = calendar.link_agenda(master["iCalUId"], LINK)
    assert "ms" in change.describe() and LINK.url in change.describe()
    [patch] = patches(graph)
    assert patch.headers["if-match"] == master["@odata.etag"]
    content = graph.events[master["id"]]["body"]["content"]
    assert content.startswith(BODY) and content != BODY
    assert "Ada &lt;Lovelace&gt;" in content and f'href="{LINK.url}"' in content
    assert set(patch.body) == {"body", "singleValueExtendedProperties"}  # nothing else
    assert PROPERTY in graph.properties[master["id"]]
    calendar.read(tz=BERLIN, interest=None)
    assert calendar.link_agenda(master["iCalUId"], LINK) == []
    assert len(patches(graph)) == 1


def test_a_line_the_owner_removed_is_not_put_back(graph, source):
    master = series(graph, body=BODY)
    calendar = source()
    calendar.link_agenda(master["iCalUId"], LINK)
    graph.update(master["id"], body={"contentType": "html", "content": BODY})
    calendar.read(tz=BERLIN, interest=None)
    assert calendar.link_agenda(master["iCalUId"], LINK) == []
    assert graph.events[master["id"]]["body"]["content"] == BODY


def test_someone_elses_meeting_gets_no_write(graph, source):
    theirs = series(graph, organizer=ADA, other=OWNER)
    calendar = source()
    calls = len(graph.graph_requests())
    assert calendar.link_agenda(theirs["iCalUId"], LINK) == []
    assert len(graph.graph_requests()) == calls and patches(graph) == []


def test_a_concurrent_edit_is_read_again_and_planned_again(graph, source):
    master = series(graph, body=BODY)
    calendar = source()
    calendar.link_agenda(master["iCalUId"], LINK)
    edited = graph.events[master["id"]]["body"]["content"] + "<p>new</p>"
    graph.update(master["id"], body={"contentType": "html", "content": edited})
    moved = AgendaLink("https://docs.example.com/d/ada-2", LINK.title)
    assert len(calendar.link_agenda(master["iCalUId"], moved)) == 1  # planned on a stale etag
    assert [p.status for p in patches(graph)] == [200, 412, 200]
    content = graph.events[master["id"]]["body"]["content"]
    assert content.startswith(BODY) and "<p>new</p>" in content
    assert moved.url in content and f'href="{LINK.url}"' not in content  # its old line went


def test_a_dry_run_and_a_read_only_sign_in_write_nothing(graph, source, tmp_path):
    master = series(graph, body=BODY)
    calendar = source()
    [change] = calendar.link_agenda(master["iCalUId"], LINK, dry_run=True)
    assert LINK.url in change.describe() and patches(graph) == []
    read_only = source(read_only=True)
    assert not read_only.can_write
    assert not source(write_back=False).can_write and source().can_write


def test_a_single_event_is_linked_and_a_text_body_gets_a_text_line(graph, source):
    single = graph.add_event(subject="Ada / me", start=NOW, minutes=30,
                             attendees=[(ADA, "accepted")], body="plain words")
    graph.update(single["id"], body={"contentType": "text", "content": "plain words"})
    calendar = source()
    assert len(calendar.link_agenda(single["iCalUId"], LINK)) == 1
    content = graph.events[single["id"]]["body"]["content"]
    assert content.startswith("plain words") and content.endswith(
        f"1:1 agenda: {LINK.url} (added by cadenced)")
