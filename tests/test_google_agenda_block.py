"""The agenda in the invite, for a Google calendar whose agendas are local files: the
coming meeting's section as a block in that instance's description, against the
Google emulator (the real client, over HTTP on 127.0.0.1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_google_sync import ADA, BEFORE_NEXT, calendar_patches, google_config, series, syncer_for

from connectors.google.agenda_block import END, START, plan_block, render_block
from connectors.registry import build_agenda_store
from daemon.core.agenda import forms
from daemon.core.agenda.digest import AgendaDigest, digest
from daemon.service.invites import agenda_steps
from daemon.state.store import Store

from conftest import BERLIN, at

OWNER_TEXT = "Bring numbers ✨  \nand the deck\n"
INSTANCE = "_20261123T090000Z"  # Monday 23 Nov 10:00 Berlin


@pytest.fixture
def state(tmp_path):
    with Store.open(tmp_path / "state") as opened:
        yield opened


def sync(google, tmp_path, state, now):
    config = google_config(google, tmp_path, store="local")
    syncer = syncer_for(config, state)
    agendas = build_agenda_store(config, syncer.sources, tmp_path / "data")
    syncer.sync(now, steps=agenda_steps(config, agendas, state, syncer.sources, nudges=False))
    state.commit()
    return agendas


def test_the_block_goes_into_the_next_instance_only_once_per_change(google, tmp_path, state):
    cal = google.calendar("primary")
    master = series(cal, description=OWNER_TEXT)
    before = cal.get(master["id"])
    agendas = sync(google, tmp_path, state, BEFORE_NEXT)

    [patch] = calendar_patches(google)
    instance_id = master["id"] + INSTANCE
    assert patch.path.endswith(f"/events/{instance_id}")  # the instance, not the series
    assert patch.query["sendUpdates"] == ["none"]
    assert patch.headers["if-match"] == before["etag"]  # the instance as read
    assert cal.get(master["id"])["description"] == OWNER_TEXT  # the series is untouched
    assert cal.get(master["id"])["etag"] == before["etag"]
    exceptions = [e for e in cal.events.values() if e.get("recurringEventId")]
    assert [e["id"] for e in exceptions] == [instance_id]
    event = cal.get(instance_id)
    assert event["description"].startswith(OWNER_TEXT + "\n\n" + START)  # a byte-identical prefix
    assert event["description"].endswith(END)
    assert "Prompts (" in event["description"]
    assert event["start"]["dateTime"].startswith("2026-11-23T10:00")

    # Nothing changed: no patch.
    sync(google, tmp_path, state, BEFORE_NEXT + timedelta(minutes=15))
    assert len(calendar_patches(google)) == 1

    # A topic is added: refreshed, but not within the hour of the last write.
    text = agendas.read(ADA)
    agendas.write(ADA, forms.add_topic(text.text, "the <b>offsite</b> & budget",
                                       now=BEFORE_NEXT, tz=BERLIN), expected=text.version)
    sync(google, tmp_path, state, BEFORE_NEXT + timedelta(minutes=30))
    assert len(calendar_patches(google)) == 1
    sync(google, tmp_path, state, BEFORE_NEXT + timedelta(minutes=61))
    assert len(calendar_patches(google)) == 2
    event = cal.get(instance_id)
    assert event["description"].startswith(OWNER_TEXT + "\n\n" + START)
    assert event["description"].count(START) == 1
    assert "- the <b>offsite</b> & budget" in event["description"]  # plain text, as typed
    assert "<br>" not in event["description"]
    assert cal.get(master["id"])["description"] == OWNER_TEXT

    # The owner deletes the block: it is not put back, even after the section changed.
    cal.update(instance_id, description=OWNER_TEXT)
    text = agendas.read(ADA)
    agendas.write(ADA, forms.add_topic(text.text, "one more", now=BEFORE_NEXT, tz=BERLIN),
                  expected=text.version)
    sync(google, tmp_path, state, BEFORE_NEXT + timedelta(hours=3))
    assert len(calendar_patches(google)) == 2
    assert cal.get(instance_id)["description"] == OWNER_TEXT


def test_no_block_before_the_section_exists_nor_on_someone_elses_invite(google, tmp_path, state):
    cal = google.calendar("primary")
    series(cal, description=OWNER_TEXT)
    series(cal, start="2026-10-27T10:00", other="bob@example.com",
           organizer={"email": "bob@example.com"})
    sync(google, tmp_path, state, at("2026-11-20T09:00"))  # three days ahead: no section
    assert calendar_patches(google) == []
    sync(google, tmp_path, state, BEFORE_NEXT)
    assert len(calendar_patches(google)) == 1  # Ada's, which the owner organizes


DIGEST = AgendaDigest("k", topics=("<script>alert(1)</script>",), carried=("Ada: send it",),
                      prompts=("How are you?",), theme="trust")


def test_an_html_description_gets_an_escaped_html_block():
    owner = "<b>Bring</b> numbers"
    resource = {"id": "x_1", "organizer": {"self": True}, "description": owner}
    body = plan_block(resource, DIGEST)
    assert body["description"].startswith(owner + "<br><br>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body["description"]
    assert "<script>" not in body["description"]
    assert "<li>Ada: send it</li>" in body["description"]


def test_the_block_sits_above_cadenceds_link_line_and_is_replaced_in_place():
    link = "\n\n1:1 agenda: https://docs.example/d (added by cadenced)"
    resource = {"id": "x_1", "organizer": {"self": True}, "description": "mine" + link,
                "extendedProperties": {"private": {"cadencedDescriptionSuffix": link}}}
    body = plan_block(resource, DIGEST)
    assert body["description"] == "mine\n\n" + render_block(DIGEST, as_html=False) + link
    resource["description"] = body["description"]
    resource["extendedProperties"]["private"].update(body["extendedProperties"]["private"])
    assert plan_block(resource, DIGEST) is None
    changed = AgendaDigest("k", topics=("other",), carried=(), prompts=())
    again = plan_block(resource, changed)
    assert again["description"] == "mine\n\n" + render_block(changed, as_html=False) + link


def test_digest_reads_topics_carried_items_and_prompts():
    text = ("## Mon 23 Nov 2026 · 10:00–10:30 (30 min)\n<!-- cadenced:meeting key=k1 -->\n\n"
            "### Carried over\n- [ ] Ada: send it (due 2026-11-20) — open 3 days, carried 1x\n\n"
            "### Topics\n- budget\n  more words\n\n### Prompts (theme: clarity)\n- Q?\n\n"
            "### Notes\n- private note\n")
    found = digest(text, "k1")
    assert found.topics == ("budget",)
    assert found.carried == ("Ada: send it (due 2026-11-20) — open 3 days, carried 1x",)
    assert found.prompts == ("Q?",) and found.theme == "clarity"
    assert digest(text, "other") is None


def test_a_topic_with_markup_does_not_turn_a_plain_block_into_html():
    resource = {"id": "x_1", "organizer": {"self": True}, "description": "mine"}
    body = plan_block(resource, DIGEST)
    resource.update(description=body["description"],
                    extendedProperties=body["extendedProperties"])
    again = plan_block(resource, AgendaDigest("k", topics=("<i>x</i>",), carried=(),
                                              prompts=()))
    assert again["description"] == "mine\n\n" + render_block(
        AgendaDigest("k", topics=("<i>x</i>",), carried=(), prompts=()), as_html=False)
