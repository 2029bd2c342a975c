"""Docs' own checklists as action items (issue 15), end to end: the demo's calendar,
the daemon's agenda preparation, the Google Docs store through the real client, and
the emulator playing Docs. A person adds checklist items from the toolbar and ticks
them; Docs strikes a ticked item through, which is all the API shows of the tick.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from google.oauth2.credentials import Credentials

from connectors.google.api import build_service
from connectors.google.docs.snapshot import extract
from connectors.google.docs.store import GoogleDocsAgendaStore
from daemon.config import parse_config
from daemon.core.agenda.doc import parse
from daemon.service.agendas import prepare
from daemon.service.sync import Syncer
from daemon.state.store import Store

JONAS = "jonas@example.com"  # the demo's weekly 1:1 on Mondays at 14:00
DRIVE_FILE = "https://www.googleapis.com/auth/drive.file"
SUNDAYS = ("2026-11-22T15:00+01:00", "2026-11-29T15:00+01:00", "2026-12-06T15:00+01:00")


@pytest.fixture
def week(tmp_path, demo, google):
    """A function that runs one sync (agendas included) on the next of ``SUNDAYS``, or
    at ``now``, and returns the id of Jonas's Doc."""
    config = parse_config(demo).config
    info = google.issue_token([DRIVE_FILE])
    signed_in = Credentials(info["token"], refresh_token=info["refresh_token"],
                            token_uri=info["token_uri"], client_id=info["client_id"],
                            client_secret=info["client_secret"], scopes=info["scopes"])
    built = (build_service("drive", signed_in, api_root=google.root, timeout=10),
             build_service("docs", signed_in, api_root=google.root, timeout=10))
    store = GoogleDocsAgendaStore(lambda: built, source="work", owner_name="Maya Chen")
    sundays = iter(SUNDAYS)
    with Store.open(tmp_path / "state") as state:
        def run(now: str | None = None) -> str:
            moment = datetime.fromisoformat(now or next(sundays))
            Syncer(config, state).sync(moment, steps=[
                lambda analysis, at: prepare(analysis, config, store, state, at)])
            (doc_id,) = google.drive.files
            return doc_id
        yield run


def index_after(google, doc_id: str, needle: str) -> int:
    """The Doc index just after the first ``needle`` in the Doc's own text."""
    text = google.docs.text(doc_id)
    end = text.index(needle) + len(needle)
    return 1 + len(text[:end].encode("utf-16-le")) // 2


def add_checklist_items(google, doc_id: str, *items: str) -> list[int]:
    """A person adding checklist items under the newest section's Action items, from
    the toolbar; the index where each one starts."""
    at = index_after(google, doc_id, "### Action items\n")
    google.docs.human_insert(doc_id, at, "".join(item + "\n" for item in items))
    end = at + sum(len((item + "\n").encode("utf-16-le")) // 2 for item in items)
    google.docs.human_bullets(doc_id, at, end - 1, checkbox=True)
    starts = [at]
    for item in items[:-1]:
        starts.append(starts[-1] + len((item + "\n").encode("utf-16-le")) // 2)
    return starts


def newest_carried(store_text: str) -> list[str]:
    section = parse(store_text).sections[0]
    body = store_text[section.start:section.end]
    if "### Carried over\n" not in body:
        return []
    block = body.split("### Carried over\n", 1)[1].split("\n\n", 1)[0]
    return block.splitlines()


def read(google, doc_id: str) -> str:
    """The Doc as the store reads it (boxes and all)."""
    return extract(google.docs.document(doc_id)).text


def paragraph(google, doc_id: str, contains: str, nth: int = 1) -> dict:
    found = [c["paragraph"] for c in google.docs.document(doc_id)["body"]["content"]
             if "paragraph" in c and contains in "".join(
                 e.get("textRun", {}).get("content", "") for e in c["paragraph"]["elements"])]
    return found[nth - 1]


def in_checklist(google, doc_id: str, para: dict) -> bool:
    bullet = para.get("bullet")
    if bullet is None:
        return False
    levels = google.docs.document(doc_id)["lists"][bullet["listId"]]["listProperties"][
        "nestingLevels"]
    return not any("glyphType" in level or "glyphSymbol" in level for level in levels)


def test_an_open_native_checklist_item_is_carried_into_the_next_meeting(google, week):
    doc_id = week()
    add_checklist_items(google, doc_id, "Jonas: draft the on-call proposal (due 2026-11-27)")
    assert "- [ ] Jonas: draft the on-call proposal (due 2026-11-27)\n" in read(google, doc_id)
    week()
    text = read(google, doc_id)
    assert parse(text).sections[0].heading.startswith("Mon 30 Nov 2026")
    assert newest_carried(text) == [
        "- [ ] Jonas: draft the on-call proposal (due 2026-11-27) — open 6 days, carried 1x, "
        "**overdue**"]


def test_a_struck_through_checklist_item_is_done_and_not_carried(google, week):
    doc_id = week()
    ticked, _ = add_checklist_items(
        google, doc_id, "Maya: book the offsite room", "Jonas: write the ADR")
    google.docs.human_tick(doc_id, ticked + 2)
    assert "- [x] Maya: book the offsite room\n- [ ] Jonas: write the ADR\n" in read(
        google, doc_id)
    week()
    assert newest_carried(read(google, doc_id)) == [
        "- [ ] Jonas: write the ADR — open 6 days, carried 1x"]


def test_an_item_struck_through_only_in_part_is_open(google, week):
    doc_id = week()
    (start,) = add_checklist_items(google, doc_id, "Jonas: ask Sam, then Lena")
    google.docs.human_style(doc_id, start + len("Jonas: ask "), start + len("Jonas: ask Sam"),
                            strikethrough=True)
    runs = [e["textRun"].get("textStyle", {}).get("strikethrough", False)
            for e in paragraph(google, doc_id, "ask Sam")["elements"]]
    assert runs == [False, True, False]
    week()
    assert newest_carried(read(google, doc_id)) == [
        "- [ ] Jonas: ask Sam, then Lena — open 6 days, carried 1x"]


def test_a_typed_box_and_a_native_item_in_one_section_are_both_carried(google, week):
    doc_id = week()
    add_checklist_items(google, doc_id, "Maya: share the roadmap")
    at = index_after(google, doc_id, "Maya: share the roadmap\n")
    google.docs.human_insert(doc_id, at, "[ ] Jonas: send the notes\n")
    google.docs.human_bullets(doc_id, at, at + 5)  # a plain bullet, the box typed
    assert not in_checklist(google, doc_id, paragraph(google, doc_id, "send the notes"))
    week()
    assert newest_carried(read(google, doc_id)) == [
        "- [ ] Maya: share the roadmap — open 6 days, carried 1x",
        "- [ ] Jonas: send the notes — open 6 days, carried 1x"]


def test_a_carried_item_is_written_as_a_native_checklist_item(google, week):
    doc_id = week()
    add_checklist_items(google, doc_id, "Jonas: draft the proposal")
    google.requests.clear()
    week()
    carried = paragraph(google, doc_id, "draft the proposal", nth=1)  # the newest section's
    own_text = "".join(e["textRun"]["content"] for e in carried["elements"])
    assert own_text == "Jonas: draft the proposal — open 6 days, carried 1x\n"  # no typed box
    assert in_checklist(google, doc_id, carried)
    older = paragraph(google, doc_id, "draft the proposal", nth=2)
    assert carried["bullet"]["listId"] != older["bullet"]["listId"]
    (bullets,) = [r["createParagraphBullets"] for r in google.requests
                  if r.path.endswith(":batchUpdate") for r in r.body["requests"]
                  if "createParagraphBullets" in r]
    assert bullets["bulletPreset"] == "BULLET_CHECKBOX"
    # ... so Jonas ticks the box there, and it is done
    google.docs.human_tick(doc_id, index_after(google, doc_id, "### Carried over\n") + 1)
    week()
    assert newest_carried(read(google, doc_id)) == []


def test_an_item_carried_twice_is_one_line_and_a_second_run_adds_nothing(google, week):
    doc_id = week()
    add_checklist_items(google, doc_id, "Jonas: draft the proposal")
    week()
    week()
    text = read(google, doc_id)
    assert [s.heading[:15] for s in parse(text).sections] == [
        "Mon 7 Dec 2026 ", "Mon 30 Nov 2026", "Mon 23 Nov 2026"]
    assert newest_carried(text) == ["- [ ] Jonas: draft the proposal — open 1 week, carried 2x"]
    assert google.docs.text(doc_id).count("draft the proposal") == 3  # once a section
    revision = google.docs.revision(doc_id)
    week("2026-12-06T15:30+01:00")  # the same sync again
    assert google.docs.revision(doc_id) == revision and read(google, doc_id) == text
