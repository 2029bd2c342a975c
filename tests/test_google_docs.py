"""The Google Docs agenda store: reading a Doc as Markdown, and writing only the lines
that changed, as inserts and deletes guarded by the Doc's revision.

The pure half runs the planned requests on a small model of a Docs body (UTF-16
indices from 1, a paragraph's style and bullet on its newline, new paragraphs copying
the style of the one they are inserted into, the last newline undeletable) and reads
the result back. The other half runs the real client against the local emulator
(the ``google`` fixture, from the ``googleserver`` plugin conftest.py loads).
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from google.oauth2.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import AgendaStoreError, Conflict, Revision, with_retry
from connectors.google.api import build_service
from connectors.google.docs.planner import _lines, normalize, plan_requests
from connectors.google.docs.snapshot import Snapshot, extract
from connectors.google.docs.store import GoogleDocsAgendaStore, query
from connectors.google.errors import GoogleApiError
from daemon.core.agenda.doc import parse
from daemon.core.agenda.edits import add_section, new_document, update_section
from daemon.core.agenda.model import Meeting, SectionPlan, meeting_key
from daemon.core.errors import NeedsSignIn

BERLIN = ZoneInfo("Europe/Berlin")

# ---------------------------------------------------------------- a model of a Docs body


def width(c: str) -> int:
    return 2 if ord(c) > 0xFFFF else 1


class Body:
    """A Docs body: characters, each newline carrying its paragraph's properties."""

    def __init__(self, paragraphs=()):
        self.cells: list[list] = []  # [char, props or None]
        for text, props in paragraphs:
            assert text.endswith("\n") and "\n" not in text[:-1]
            self.cells += [[c, None] for c in text[:-1]]
            self.cells.append(["\n", dict(props)])
        if not self.cells:
            self.cells.append(["\n", {}])
        self.revision = 1

    @classmethod
    def of(cls, *paragraphs):
        """Paragraphs as strings ("- " prefix: a native bullet) or (text, props)."""
        out = []
        for p in paragraphs:
            if isinstance(p, tuple):
                out.append(p)
            elif p.startswith("•"):
                out.append((p[1:] + "\n", {"bullet": 0}))
            else:
                out.append((p + "\n", {}))
        return cls(out)

    def end(self) -> int:
        return 1 + sum(width(c) for c, _ in self.cells)

    def position(self, index: int) -> int:
        at = 1
        for k, (c, _) in enumerate(self.cells):
            if at == index:
                return k
            if at > index:
                break
            at += width(c)
        if at == index:
            return len(self.cells)
        raise AssertionError(f"index {index} is not on a character boundary")

    def paragraphs(self):
        """(start index, end index, cells) of each paragraph."""
        out, at, start, first = [], 1, 1, 0
        for k, (c, _) in enumerate(self.cells):
            at += width(c)
            if c == "\n":
                out.append((start, at, first, k))
                start, first = at, k + 1
        return out

    def apply(self, requests):
        for request in requests:
            (kind, body), = request.items()
            getattr(self, kind)(**body)
        self.revision += 1

    def insertText(self, location, text):
        index = location["index"]
        assert 1 <= index < self.end(), f"insert at {index} outside the body"
        k = self.position(index)
        props = next(p for c, p in self.cells[k:] if c == "\n")
        self.cells[k:k] = [[c, dict(props) if c == "\n" else None] for c in text]

    def deleteContentRange(self, range):
        a, b = range["startIndex"], range["endIndex"]
        assert 1 <= a < b < self.end(), f"delete {a}-{b} touches the final newline"
        del self.cells[self.position(a):self.position(b)]

    def _each_paragraph(self, range):
        a, b = range["startIndex"], range["endIndex"]
        assert 1 <= a < b <= self.end(), f"range {a}-{b} outside the body"
        self.position(a), self.position(b)
        for start, end, _, last in self.paragraphs():
            if start < b and a < end:
                yield self.cells[last][1]

    def deleteParagraphBullets(self, range):
        for props in self._each_paragraph(range):
            props.pop("bullet", None)
            props.pop("checkbox", None)

    def createParagraphBullets(self, range, bulletPreset):
        for props in self._each_paragraph(range):
            props["bullet"] = 0
            if bulletPreset == "BULLET_CHECKBOX":
                props["checkbox"] = True

    def updateParagraphStyle(self, range, paragraphStyle, fields):
        for props in self._each_paragraph(range):
            if "namedStyleType" in fields.split(","):
                props["style"] = paragraphStyle.get("namedStyleType", "NORMAL_TEXT")

    def updateTextStyle(self, range, textStyle, fields):
        a, b = range["startIndex"], range["endIndex"]
        assert 1 <= a < b <= self.end()
        self.position(a), self.position(b)

    def document(self) -> dict:
        content = [{"endIndex": 1, "sectionBreak": {}}]
        for start, end, first, last in self.paragraphs():
            props = self.cells[last][1]
            paragraph = {
                "elements": [{"startIndex": start, "endIndex": end, "textRun": {
                    "content": "".join(c for c, _ in self.cells[first:last + 1])}}],
                "paragraphStyle": {"namedStyleType": props.get("style", "NORMAL_TEXT")},
            }
            if "bullet" in props:
                paragraph["bullet"] = {"listId": "kix.box" if props.get("checkbox") else "kix.1"}
                if props["bullet"]:
                    paragraph["bullet"]["nestingLevel"] = props["bullet"]
            content.append({"startIndex": start, "endIndex": end, "paragraph": paragraph})
        return {"documentId": "doc1", "revisionId": f"r{self.revision}",
                "body": {"content": content}, "lists": {
                    "kix.1": {"listProperties": {"nestingLevels": [
                        {"glyphSymbol": "●", "glyphFormat": f"%{n}"} for n in range(9)]}},
                    "kix.box": {"listProperties": {"nestingLevels": [{}] * 9}}}}

    def snapshot(self) -> Snapshot:
        return extract(self.document())

    def write(self, text: str) -> list:
        """Plan against what the body holds now, apply, return the requests."""
        requests = plan_requests(self.snapshot(), text)
        self.apply(copy.deepcopy(requests))
        return requests


def kinds(requests) -> list[str]:
    return [next(iter(r)) for r in requests]


# ---------------------------------------------------------------- reading


def test_plain_paragraphs_read_as_their_text_with_utf16_positions():
    snap = Body.of("# Title", "", "a 😀 b", "end").snapshot()
    assert snap.text == "# Title\n\na 😀 b\nend\n"
    assert snap.starts[0] == 1
    emoji = snap.text.index("😀")
    assert snap.widths[emoji] == 2
    assert snap.starts[emoji + 1] == snap.starts[emoji] + 2
    assert snap.starts[-1] == 1 + len(snap.text.encode("utf-16-le")) // 2
    assert snap.pinned == {len(snap.text) - 1}
    assert snap.revision == "r1" and snap.document_id == "doc1"


def test_a_native_bullet_reads_as_a_markdown_list_item_taking_no_room_in_the_doc():
    snap = Body.of("## Next time", "•topic one", "•- typed dash", "",
                   ("nested\n", {"bullet": 2}), ("\n", {"bullet": 0})).snapshot()
    assert snap.text == "## Next time\n- topic one\n- typed dash\n\n    - nested\n\n"
    line = snap.text.index("- topic one")
    assert snap.widths[line:line + 2] == (0, 0)
    assert snap.starts[line] == snap.starts[line + 2]  # the prefix sits on the paragraph start
    assert line in snap.bulleted


def test_a_heading_style_without_hashes_reads_as_a_markdown_heading():
    snap = Body.of(("Next time\n", {"style": "HEADING_2"}),
                   ("## Typed\n", {"style": "HEADING_2"}),
                   ("Small\n", {"style": "HEADING_3"}), ("Big\n", {"style": "TITLE"})).snapshot()
    assert snap.text == "## Next time\n## Typed\n### Small\nBig\n"


def test_checklist_forms_cadenced_recognises_as_action_items():
    text = Body.of(
        "## Mon 2 Nov 2026 · 14:00–14:45 (45 min)",
        "### Action items",
        "•[ ] Ada: send the deck (due 2026-12-01)",  # typed [ ] in a Docs bullet
        "•[x] Ada: book the room",  # typed [x] in a Docs bullet
        "- [ ] Jonas: typed as Markdown",  # "- [ ]" typed in a plain paragraph
        ("Me: a native checklist item\n", {"bullet": 0, "checkbox": True}),  # Docs' own
        "[ ] not in a list",
        "•a plain bullet",
    ).snapshot().text
    items = parse(text).sections[0].items
    assert [(i.done, i.owner, i.text, str(i.due)) for i in items] == [
        (False, "Ada", "send the deck", "2026-12-01"),
        (True, "Ada", "book the room", "None"),
        (False, "Jonas", "typed as Markdown", "None"),
        (False, "Me", "a native checklist item", "None"),
    ]
    assert "- [ ] Me: a native checklist item\n" in text and "- a plain bullet\n" in text


def checklist_document(*paragraphs, lists=None) -> dict:
    """A documents.get reply: each paragraph a list of (text, textStyle) runs, or
    (runs, bullet) with a bullet of its own (default: the checklist "box" at level 0)."""
    content, at = [{"endIndex": 1, "sectionBreak": {}}], 1
    for p in paragraphs:
        runs, bullet = p if isinstance(p, tuple) else (p, {"listId": "box"})
        elements, start = [], at
        for text, style in runs:
            size = len(text.encode("utf-16-le")) // 2
            if text.startswith("@"):
                elements.append({"startIndex": at, "endIndex": at + 1, "person": {
                    "personProperties": {"name": text[1:]}, "textStyle": style}})
                size = 1
            else:
                elements.append({"startIndex": at, "endIndex": at + size,
                                 "textRun": {"content": text, "textStyle": style}})
            at += size
        paragraph = {"elements": elements}
        if bullet is not None:
            paragraph["bullet"] = bullet
        content.append({"startIndex": start, "endIndex": at, "paragraph": paragraph})
    return {"documentId": "d", "revisionId": "r", "body": {"content": content},
            "lists": lists if lists is not None else {
                "box": {"listProperties": {"nestingLevels": [{"glyphFormat": "%0"}] * 9}},
                "unset": {"listProperties": {"nestingLevels": [
                    {"glyphType": "GLYPH_TYPE_UNSPECIFIED"}] * 9}},
                "disc": {"listProperties": {"nestingLevels": [{"glyphSymbol": "●"}] * 9}},
                "numbered": {"listProperties": {"nestingLevels": [{"glyphType": "DECIMAL"}] * 9}},
                "mixed": {"listProperties": {"nestingLevels": [{"glyphSymbol": "●"}, {}]}},
            }}


STRUCK, PLAIN = {"strikethrough": True}, {}


def test_a_checklist_is_a_list_whose_levels_name_no_glyph():
    lines = extract(checklist_document(
        [("box\n", PLAIN)],
        ([("unspecified type\n", PLAIN)], {"listId": "unset"}),
        ([("disc\n", PLAIN)], {"listId": "disc"}),
        ([("numbered\n", PLAIN)], {"listId": "numbered"}),
        ([("disc level 0\n", PLAIN)], {"listId": "mixed"}),
        ([("box level 1\n", PLAIN)], {"listId": "mixed", "nestingLevel": 1}),
        ([("level 9 of 2\n", PLAIN)], {"listId": "mixed", "nestingLevel": 9}),
        ([("list not in the reply\n", PLAIN)], {"listId": "gone"}),
    )).text.splitlines()
    assert lines == ["- [ ] box", "- [ ] unspecified type", "- disc", "- numbered",
                     "- disc level 0", "  - [ ] box level 1",
                     "                  - level 9 of 2", "- list not in the reply"]


def test_a_checklist_item_is_ticked_when_all_its_text_is_struck_through():
    lines = extract(checklist_document(
        [("all struck\n", STRUCK)],
        [("part ", STRUCK), ("struck\n", PLAIN)],
        [("struck, its newline not", STRUCK), ("\n", PLAIN)],  # blank runs do not count
        [("struck, ", STRUCK), (" ", PLAIN), ("a space not\n", STRUCK)],
        [("ask ", STRUCK), ("@Ada L", STRUCK), ("\n", STRUCK)],  # a chip struck too
        [("ask ", STRUCK), ("@Ada L", PLAIN), ("\n", STRUCK)],
        [("[x] typed box, not struck\n", PLAIN)],  # the item's own box is read
        [("- own marker\n", STRUCK)],  # a list marker of its own: read as it is
        [("   \n", STRUCK)],  # blank: no box to read
    )).text.splitlines()
    assert lines == ["- [x] all struck", "- [ ] part struck", "- [x] struck, its newline not",
                     "- [x] struck,  a space not", "- [x] ask Ada L", "- [ ] ask Ada L",
                     "- [x] typed box, not struck", "- own marker", "   "]
    items = parse("## 2 Nov 2026\n" + "\n".join(lines) + "\n").sections[0].items
    assert [(i.done, i.text) for i in items][:3] == [
        (True, "all struck"), (False, "part struck"), (True, "struck, its newline not")]


def test_open_items_cadenced_writes_go_in_as_checklist_items_after_the_style_resets():
    body = Body.of("# Title", "•topic")
    new = ("# Title\n- [ ] Ada: one 😀\n- [ ] two\n- [x] ticked\n- [ ] - marker\n"
           "- [ ] three\n  - [ ] nested\n- [ ]\n- topic\n")
    requests = body.write(new)
    assert body.snapshot().text == new
    (insert,) = [r["insertText"]["text"] for r in requests if "insertText" in r]
    assert insert == ("Ada: one 😀\ntwo\n- [x] ticked\n- [ ] - marker\nthree\n"
                      "  - [ ] nested\n- [ ]\n")
    boxes = [r["createParagraphBullets"] for r in requests if "createParagraphBullets" in r]
    assert [b["bulletPreset"] for b in boxes] == ["BULLET_CHECKBOX"] * 2
    first = next(r["insertText"]["location"]["index"] for r in requests if "insertText" in r)
    assert [b["range"] for b in boxes] == [  # "Ada: one 😀" and "two"; then "three"
        {"startIndex": first, "endIndex": first + 15},
        {"startIndex": first + 44, "endIndex": first + 49}]
    order = kinds(requests)
    assert order.index("createParagraphBullets") > max(
        i for i, k in enumerate(order) if k in ("updateTextStyle", "updateParagraphStyle",
                                                "deleteParagraphBullets"))


def test_chips_read_as_their_names_and_images_take_room_but_no_text():
    document = {"documentId": "d", "revisionId": "r", "body": {"content": [
        {"endIndex": 1, "sectionBreak": {}},
        {"startIndex": 1, "endIndex": 9, "paragraph": {"elements": [
            {"startIndex": 1, "endIndex": 2, "inlineObjectElement": {"inlineObjectId": "i"}},
            {"startIndex": 2, "endIndex": 5, "textRun": {"content": "[ ]"}},
            {"startIndex": 5, "endIndex": 6, "person": {
                "personProperties": {"name": "Ada L", "email": "ada@example.com"}}},
            {"startIndex": 6, "endIndex": 9, "textRun": {"content": ": x\n"}},
        ], "bullet": {"listId": "l"}}},
        {"startIndex": 9, "endIndex": 10, "table": {}},
        {"startIndex": 10, "endIndex": 12, "paragraph": {"elements": [
            {"startIndex": 10, "endIndex": 12, "textRun": {"content": "z\n"}}]}},
    ]}}
    snap = extract(document)
    assert snap.text == "- [ ]Ada L: x\nz\n"
    assert snap.starts[2] == 1 and snap.widths[2] == 2  # "[" carries the image before it
    assert snap.starts[5] == 5 and snap.widths[5] == 1 and snap.widths[6] == 0
    assert snap.pinned == {snap.text.index("\n"), len(snap.text) - 1}  # the newline before a table


def test_drive_query_escapes_the_address():
    assert query("o'brien\\x@example.com") == (
        "appProperties has { key='cadencedPerson' and value='o\\'brien\\\\x@example.com' }"
        " and mimeType = 'application/vnd.google-apps.document' and trashed = false")
    long = "a" * 120 + "@example.com"
    assert "value='sha256:" in query(long)


def test_normalize_keeps_what_docs_keeps():
    assert normalize("a\r\nb\x01\ue000\tc\x0bd") == "a\nb\tc\x0bd\n"
    assert _lines("a\x0bb\nc\u2028d\n") == ["a\x0bb\n", "c\u2028d\n"]


# ---------------------------------------------------------------- writing: requests on the model


def test_first_write_into_an_empty_doc_is_one_insert():
    body = Body()
    text = new_document("Ada", "Me")
    requests = body.write(text)
    assert kinds(requests)[0] == "insertText" and kinds(requests).count("insertText") == 1
    assert requests[0]["insertText"] == {"location": {"index": 1}, "text": text[:-1]}
    assert body.snapshot().text == text
    styles = [r["updateParagraphStyle"] for r in requests if "updateParagraphStyle" in r]
    assert {"HEADING_1", "HEADING_2", "NORMAL_TEXT"} == {
        s["paragraphStyle"]["namedStyleType"] for s in styles}


def meeting(day: int, hour: int = 14) -> Meeting:
    start = datetime(2026, 11, day, hour, tzinfo=BERLIN)
    return Meeting(meeting_key("weekly@example.com", start), start,
                   start + timedelta(minutes=45), "1:1 Ada / me")


def section_plan(m: Meeting) -> SectionPlan:
    return SectionPlan(m, "Last held 7 days ago", (), "trust", ("How are you doing?",))


def test_a_new_section_is_only_inserted_and_a_native_bullet_topic_moves_into_it():
    body = Body()
    body.write(new_document("Ada", "Me"))
    body.write(add_section(body.snapshot().text, section_plan(meeting(16)), tz=BERLIN))
    # A human types a topic in Next time: Docs turns "- " into a bullet.
    paragraphs = body.document()["body"]["content"]
    placeholder = next(p for p in paragraphs if "(either of you" in str(p))
    at = body.position(placeholder["endIndex"])
    body.cells[at:at] = [[c, None] for c in "talk about 😀 hiring"] + [["\n", {"bullet": 0}]]
    before = body.snapshot()
    assert "- talk about 😀 hiring\n" in before.text
    new = add_section(before.text, section_plan(meeting(23)), tz=BERLIN)
    requests = body.write(new)
    assert body.snapshot().text == new
    deleted = [r["deleteContentRange"]["range"] for r in requests if "deleteContentRange" in r]
    line = before.text.index("- talk about")
    assert deleted == [{"startIndex": before.starts[line],
                        "endIndex": before.starts[before.text.index("\n", line) + 1]}]
    topics = parse(body.snapshot().text).sections[0]
    assert "- talk about 😀 hiring" in body.snapshot().text[topics.start:topics.end]


def test_a_moved_meeting_rewrites_only_its_heading_line():
    body = Body()
    body.write(new_document("Ada", "Me"))
    m = meeting(16)
    body.write(add_section(body.snapshot().text, section_plan(m), tz=BERLIN))
    before = body.snapshot()
    moved = Meeting(m.key, m.start + timedelta(hours=2), m.end + timedelta(hours=2), m.title)
    new = update_section(before.text, moved, tz=BERLIN)
    requests = body.write(new)
    assert body.snapshot().text == new
    heading = before.text.index("## Mon 16 Nov")
    (deleted,) = [r["deleteContentRange"]["range"] for r in requests if "deleteContentRange" in r]
    assert deleted == {"startIndex": before.starts[heading],
                       "endIndex": before.starts[before.text.index("\n", heading) + 1]}


def test_inserting_before_a_bullet_or_heading_does_not_make_the_new_lines_one():
    body = Body.of("•first", ("Heading\n", {"style": "HEADING_2"}), "•last")
    requests = body.write("x\n- first\ny\n## Heading\n- last\nz\n")
    assert body.snapshot().text == "x\n- first\ny\n## Heading\n- last\nz\n"
    assert "deleteParagraphBullets" in kinds(requests)


def test_replacing_the_last_line_keeps_the_final_newline():
    body = Body.of("keep", "•old last")
    body.write("keep\nnew 𝄞 last\n\n")
    assert body.snapshot().text == "keep\nnew 𝄞 last\n\n"
    body.write("keep\n")
    assert body.snapshot().text == "keep\n"


def test_nothing_changed_plans_nothing():
    body = Body.of("a", "•b")
    assert plan_requests(body.snapshot(), body.snapshot().text) == []
    assert plan_requests(body.snapshot(), body.snapshot().text[:-1]) == []


LINES = st.sampled_from(["", "a", "- b", "## H", "😀 c", "x 𝄞", "<!-- cadenced:next -->",
                         "[ ] Ada: d", "   ", "e\x0bf", "- [ ] Ada: g 😀", "- [ ] - h"])


@settings(max_examples=300, deadline=None)
@given(old=st.lists(st.tuples(LINES, st.sampled_from([None, 0, 1, "box"])), max_size=8),
       new=st.lists(LINES, max_size=10))
def test_any_line_edit_reads_back_as_the_new_text(old, new):
    body = Body([(t + "\n", {} if b is None else {"bullet": 0, "checkbox": True} if b == "box"
                  else {"bullet": b}) for t, b in old])
    before = body.snapshot()
    text = "".join(line + "\n" for line in new)
    requests = body.write(text)
    assert body.snapshot().text == normalize(text)
    starts = [r["deleteContentRange"]["range"]["startIndex"] for r in requests
              if "deleteContentRange" in r] + [
        r["insertText"]["location"]["index"] for r in requests if "insertText" in r]
    assert all(s <= before.starts[-1] - 1 for s in starts)


# ---------------------------------------------------------------- against the emulator

ADA = "ada@example.com"
DRIVE_FILE = "https://www.googleapis.com/auth/drive.file"


def credentials(info: dict) -> Credentials:
    """The emulator's token (google-auth's loader would forget its token_uri)."""
    return Credentials(info["token"], refresh_token=info["refresh_token"],
                       token_uri=info["token_uri"], client_id=info["client_id"],
                       client_secret=info["client_secret"], scopes=info["scopes"])


def clients(emulator, scopes=(DRIVE_FILE,), info=None):
    signed_in = credentials(info or emulator.issue_token(list(scopes)))
    return (build_service("drive", signed_in, api_root=emulator.root, timeout=10),
            build_service("docs", signed_in, api_root=emulator.root, timeout=10))


def docs_store(emulator, **kw) -> GoogleDocsAgendaStore:
    built = clients(emulator)
    return GoogleDocsAgendaStore(lambda: built, source="work", owner_name="Me", **kw)


def adding(m: Meeting):
    """What prepare's change does for one due meeting."""
    def change(text):
        return add_section(new_document("Ada", "Me") if text is None else text,
                           section_plan(m), tz=BERLIN)
    return change


def batches(emulator) -> list[dict]:
    return [r.body for r in emulator.requests if r.path.endswith(":batchUpdate")]


def sent(emulator, kind: str) -> list[dict]:
    return [r[kind] for body in batches(emulator) for r in body["requests"] if kind in r]


def index_after(emulator, doc_id: str, needle: str) -> int:
    """The Doc index just after the first ``needle`` in the Doc's own text."""
    text = emulator.docs.text(doc_id)
    end = text.index(needle) + len(needle)
    return 1 + len(text[:end].encode("utf-16-le")) // 2


def only_doc(emulator) -> str:
    (doc_id,) = emulator.drive.files
    return doc_id


def test_first_write_creates_the_doc_shares_it_without_email_and_inserts_the_text(google):
    store = docs_store(google)
    assert store.read(ADA) is None and store.url(ADA) is None
    text = new_document("Ada Lovelace", "Me")
    version = store.write(ADA, text, expected=None)
    doc_id = only_doc(google)
    file = google.drive.files[doc_id]
    assert file["name"] == "1:1 — Me & Ada Lovelace"
    assert file["mimeType"] == "application/vnd.google-apps.document"
    assert file["appProperties"] == {"cadencedPerson": ADA, "cadencedVersion": "1",
                                     "cadencedShared": "1"}
    (permission,) = google.drive.permissions[doc_id]
    assert (permission["type"], permission["role"], permission["emailAddress"],
            permission["sendNotificationEmail"]) == ("user", "writer", ADA, False)
    assert google.docs.text(doc_id) == text
    assert version == google.docs.revision(doc_id)
    (batch,) = batches(google)
    first = google.docs.documents[doc_id].revisions[0]  # the empty Doc's
    assert batch["writeControl"] == {"requiredRevisionId": first}
    assert sent(google, "insertText") == [{"location": {"index": 1}, "text": text[:-1]}]
    assert store.read(ADA) == Revision(text, version)
    assert store.url(ADA) == f"https://docs.google.com/document/d/{doc_id}/edit"
    assert store.document_id(ADA.upper()) == doc_id
    create = next(r for r in google.requests if r.method == "POST" and r.path == "/drive/v3/files")
    assert create.query.get("fields")  # and it was sent once, not retried


def test_notify_lets_google_email_the_person_and_share_false_shares_nothing(google):
    docs_store(google, notify=True).write(ADA, "# 1:1\n", expected=None)
    docs_store(google, share=False).write("bo@example.com", "# 1:1\n", expected=None)
    by_person = {f["appProperties"]["cadencedPerson"]: i for i, f in google.drive.files.items()}
    (permission,) = google.drive.permissions[by_person[ADA]]
    assert permission["sendNotificationEmail"] is True
    assert google.drive.permissions[by_person["bo@example.com"]] == []


def test_a_new_section_is_inserted_around_the_humans_text_which_stays_byte_for_byte(google):
    store = docs_store(google)
    with_retry(store, ADA, adding(meeting(16)))
    doc_id = only_doc(google)
    # Between syncs: Ada writes a note in the old section, and a topic in Next time
    # (Docs makes "- " a bullet).
    note = "Ada: the 😀 offsite went well, 𝄞 music too\n"
    google.docs.human_insert(doc_id, index_after(google, doc_id, "### Notes\n"), note)
    at = index_after(google, doc_id, "agenda)\n")
    google.docs.human_insert(doc_id, at, "hiring 🚀 plan\nthoughts 𝄞 so far\n")
    google.docs.human_bullets(doc_id, at, at + 5)
    before = store.read(ADA)
    assert "- hiring 🚀 plan\nthoughts 𝄞 so far\n" in before.text and note in before.text
    google.requests.clear()

    with_retry(store, ADA, adding(meeting(23)))

    after = store.read(ADA).text
    assert after == add_section(before.text, section_plan(meeting(23)), tz=BERLIN)
    new_section = parse(after).sections[0]
    assert "- hiring 🚀 plan\n" in after[new_section.start:new_section.end]
    assert after.count("hiring 🚀 plan") == 1
    assert google.docs.text(doc_id).count(note) == 1
    assert "agenda)\nthoughts 𝄞 so far\n" in after  # not a list item: it stays
    (delete,) = sent(google, "deleteContentRange")  # the topic line, nothing else
    start = index_after(google, doc_id, "agenda)\n")  # the topic was right there
    assert delete["range"] == {"startIndex": start, "endIndex": start + 15}  # 🚀 counts 2
    assert len(batches(google)) == 1


def test_an_edit_between_read_and_write_is_refused_by_the_revision_and_reapplied(google):
    store = docs_store(google)
    with_retry(store, ADA, adding(meeting(16)))
    doc_id = only_doc(google)
    edits = []

    class HumanTypesMeanwhile:
        def read(self, person):
            revision = store.read(person)
            if not edits:
                edits.append(1)
                google.docs.human_insert(
                    doc_id, index_after(google, doc_id, "### Takeaways\n"), "ship it 🚀\n")
            return revision

        def write(self, person, text, *, expected):
            return store.write(person, text, expected=expected)

        def url(self, person):
            return store.url(person)

    google.requests.clear()
    version = with_retry(HumanTypesMeanwhile(), ADA, adding(meeting(23)))
    statuses = [r.status for r in google.requests if r.path.endswith(":batchUpdate")]
    assert statuses == [400, 200]
    text = google.docs.text(doc_id)
    assert text.count("ship it 🚀\n") == 1
    assert text.count("## Mon 23 Nov 2026") == 1 and text.count("## Mon 16 Nov 2026") == 1
    assert version == google.docs.revision(doc_id)


def test_a_write_against_an_old_revision_raises_conflict(google):
    store = docs_store(google)
    with_retry(store, ADA, adding(meeting(16)))
    first = store.read(ADA)
    google.docs.human_insert(only_doc(google), 1, "x\n")
    with pytest.raises(Conflict):
        store.write(ADA, first.text + "more\n", expected=first.version)
    with pytest.raises(Conflict):  # nor may a second Doc be created
        store.write(ADA, "# other\n", expected=None)
    with pytest.raises(Conflict):  # a restarted daemon finds out by reading the revision
        docs_store(google).write(ADA, first.text + "more\n", expected=first.version)
    assert len(batches(google)) == 2  # the first with_retry's and the one refused


def test_a_refusal_is_a_conflict_only_when_the_revision_moved(google):
    store = docs_store(google)
    with_retry(store, ADA, adding(meeting(16)))
    current = store.read(ADA)
    google.fail("POST", r":batchUpdate$", 400, "badRequest")
    with pytest.raises(GoogleApiError, match="HTTP 400 badRequest"):
        store.write(ADA, current.text + "x\n", expected=current.version)
    current = store.read(ADA)
    google.fail("POST", r":batchUpdate$", 400, "badRequest")
    google.docs.human_insert(only_doc(google), 1, "y\n")
    with pytest.raises(Conflict):
        store.write(ADA, current.text + "x\n", expected=current.version)


def test_a_sign_in_without_drive_access_is_an_error_naming_the_source(google):
    built = clients(google, scopes=("https://www.googleapis.com/auth/calendar.events.owned",))
    store = GoogleDocsAgendaStore(lambda: built, source="work", owner_name="Me")
    with pytest.raises(GoogleApiError) as raised:
        store.read(ADA)
    assert raised.value.status == 403 and "cadenced auth google --source work" in raised.value.hint


def test_action_items_typed_in_bullets_and_native_checklist_items_are_read(google):
    store = docs_store(google)
    with_retry(store, ADA, adding(meeting(16)))
    doc_id = only_doc(google)
    at = index_after(google, doc_id, "### Action items\n")
    google.docs.human_insert(doc_id, at, "[ ] Ada: thing (due 2026-12-01)\n[x] Me: done one\n")
    google.docs.human_bullets(doc_id, at, at + 10)
    google.docs.human_bullets(doc_id, at + 34, at + 36)
    native = index_after(google, doc_id, "[x] Me: done one\n")
    google.docs.human_insert(doc_id, native, "book a room\n")
    google.docs.human_bullets(doc_id, native, native + 3, checkbox=True)
    text = store.read(ADA).text
    assert "- [ ] Ada: thing (due 2026-12-01)\n- [x] Me: done one\n- [ ] book a room\n" in text
    items = parse(text).sections[0].items
    assert [(i.done, i.owner, i.text, str(i.due)) for i in items] == [
        (False, "Ada", "thing", "2026-12-01"), (True, "Me", "done one", "None"),
        (False, None, "book a room", "None")]


def test_two_runs_and_two_stores_make_one_doc(google):
    with_retry(docs_store(google), ADA, adding(meeting(16)))
    text = google.docs.text(only_doc(google))
    google.requests.clear()
    fresh = docs_store(google)  # a restarted daemon: nothing remembered
    with_retry(fresh, ADA, adding(meeting(16)))
    assert len(google.drive.files) == 1 and google.docs.text(only_doc(google)) == text
    assert batches(google) == []
    assert not [r for r in google.writes() if r.path.endswith("/permissions")]


def test_several_docs_for_a_person_use_the_oldest(google, caplog):
    drive, _ = clients(google)
    store = docs_store(google)
    store.write(ADA, "# first\n", expected=None)
    older = only_doc(google)
    newer = drive.files().create(body={
        "name": "copy", "mimeType": "application/vnd.google-apps.document",
        "appProperties": {"cadencedPerson": ADA}}).execute()["id"]
    google.drive.files[newer]["createdTime"] = "2999-01-01T00:00:00.000Z"
    assert docs_store(google).document_id(ADA) == older
    assert "2 Google Docs for ada@example.com" in caplog.text
    drive.files().update(fileId=older, body={"trashed": True}).execute()
    assert docs_store(google).document_id(ADA) == newer


def test_a_share_google_refuses_is_logged_and_tried_again_at_the_next_write(google, caplog):
    google.fail("POST", r"/permissions", 400, "invalidSharingRequest")
    store = docs_store(google)
    version = store.write(ADA, "# 1:1\n", expected=None)
    doc_id = only_doc(google)
    assert google.drive.permissions[doc_id] == []
    assert "could not share the Doc of ada@example.com" in caplog.text
    assert "notify = true" in caplog.text
    store.write(ADA, "# 1:1\nmore\n", expected=version)
    assert [p["role"] for p in google.drive.permissions[doc_id]] == ["writer"]
    assert google.drive.files[doc_id]["appProperties"]["cadencedShared"] == "1"


def test_a_revoked_sign_in_raises_needs_sign_in(google):
    info = google.issue_token([DRIVE_FILE])
    built = clients(google, info=info)
    store = GoogleDocsAgendaStore(lambda: built, source="work", owner_name="Me")
    google.revoke_refresh_token(info["refresh_token"])
    google.expire_access_tokens()
    with pytest.raises(NeedsSignIn):
        store.read(ADA)
    assert store.url(ADA) is None  # never raises


def test_a_doc_deleted_in_drive_reads_as_none_and_a_write_to_it_says_so(google):
    store = docs_store(google)
    with_retry(store, ADA, adding(meeting(16)))
    current = store.read(ADA)
    drive, _ = clients(google)
    drive.files().delete(fileId=only_doc(google)).execute()
    with pytest.raises(AgendaStoreError, match="disappeared"):
        store.write(ADA, current.text + "x\n", expected=current.version)
    assert store.read(ADA) is None
    with_retry(store, ADA, adding(meeting(16)))  # a new one
    assert parse(google.docs.text(only_doc(google))).sections[0].key == meeting(16).key
