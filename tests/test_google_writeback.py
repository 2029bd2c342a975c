"""The write-back plan: what cadenced adds to an invite, and what it never touches."""

from __future__ import annotations

import copy

import pytest

from connectors.google.writeback import (
    KEY_DOC,
    KEY_SUFFIX,
    KEY_URL,
    Link,
    description_suffix,
    plan,
)

LINK = Link("doc123", "https://docs.google.com/document/d/doc123/edit", "1:1 agenda: Ada")


def series(**fields):
    resource = {
        "id": "abc", "etag": '"1"', "iCalUID": "abc@google.com", "status": "confirmed",
        "summary": "Ada / me", "organizer": {"email": "me@example.com", "self": True},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO"],
        "start": {"dateTime": "2026-11-23T10:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-11-23T10:30:00+01:00", "timeZone": "Europe/Berlin"},
    }
    resource.update(fields)
    return resource


def applied(resource, body):
    """The event after Google applied a patch: dicts merged, lists replaced."""
    out = copy.deepcopy(resource)
    for key, value in body.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            for inner, inner_value in value.items():
                if isinstance(inner_value, dict):
                    out[key].setdefault(inner, {}).update(inner_value)
                else:
                    out[key][inner] = inner_value
        else:
            out[key] = copy.deepcopy(value)
    return out


@pytest.mark.parametrize("description", [
    "Agenda in the doc.\nBring numbers ✨  ",
    "<b>Bring</b> numbers<br>and <a href=\"https://x.example\">the deck</a>",
    "",
    "ends with newline\n",
])
def test_user_description_stays_byte_identical_as_a_prefix(description):
    body = plan(series(description=description), LINK)
    assert body["description"].startswith(description)
    added = body["description"][len(description):]
    assert added == body["extendedProperties"]["private"][KEY_SUFFIX]
    assert added.count(LINK.url) == (2 if "<" in description else 1)
    assert "\n" not in added.strip()


def test_html_description_gets_an_html_line_with_the_url_escaped():
    url = 'https://docs.google.com/document/d/x"><script>/edit'
    body = plan(series(description="<p>hi</p>"), Link("x", url, "t"))
    suffix = body["description"][len("<p>hi</p>"):]
    assert suffix.startswith("<br><br>")
    assert "<script>" not in suffix and "&quot;&gt;&lt;script&gt;" in suffix


def test_plain_description_without_text_gets_just_the_line():
    assert description_suffix("", LINK.url) == f"1:1 agenda: {LINK.url} (added by cadenced)"
    assert description_suffix("  ", LINK.url).startswith("1:1 agenda")


def test_existing_attachments_are_kept_whole_and_the_doc_added_once():
    theirs = [{"fileUrl": "https://drive.google.com/file/d/f1", "title": "Deck",
               "fileId": "f1", "mimeType": "application/pdf", "iconLink": "https://x/i.png"}]
    body = plan(series(attachments=copy.deepcopy(theirs)), LINK)
    assert body["attachments"][:1] == theirs
    assert body["attachments"][1]["fileId"] == "doc123"
    assert len(body["attachments"]) == 2


def test_second_plan_after_the_patch_changes_nothing():
    resource = series(description="notes", attachments=[])
    once = applied(resource, plan(resource, LINK))
    assert plan(once, LINK) is None


def test_a_line_or_attachment_the_owner_removed_is_not_put_back():
    resource = applied(series(description="notes"), plan(series(description="notes"), LINK))
    resource["description"] = "notes"  # the owner deleted cadenced's line
    resource["attachments"] = []
    assert plan(resource, LINK) is None


def test_a_new_doc_replaces_cadenceds_own_older_line_and_attachment_only():
    first = series(description="notes",
                   attachments=[{"fileUrl": "https://x/deck", "fileId": "deck"}])
    linked = applied(first, plan(first, LINK))
    new = Link("doc999", "https://docs.google.com/document/d/doc999/edit", "1:1 agenda: Ada")
    body = plan(linked, new)
    assert body["description"].startswith("notes") and LINK.url not in body["description"]
    assert new.url in body["description"]
    assert [a["fileId"] for a in body["attachments"]] == ["deck", "doc999"]
    assert body["extendedProperties"]["private"][KEY_DOC] == "doc999"
    assert body["extendedProperties"]["private"][KEY_URL] == new.url


@pytest.mark.parametrize("resource", [
    series(organizer={"email": "boss@example.com"}),
    series(organizer={"email": "me@example.com", "self": True}, recurringEventId="abc",
           originalStartTime={"dateTime": "2026-11-30T10:00:00+01:00"}),
    series(status="cancelled"),
], ids=["someone else organizes it", "an instance of a series", "cancelled"])
def test_events_cadenced_does_not_own_get_no_patch(resource):
    assert plan(resource, LINK) is None


def test_extended_property_keys_fit_googles_44_character_limit():
    body = plan(series(), LINK)
    assert all(len(key) <= 44 for key in body["extendedProperties"]["private"])
    assert all(len(value) <= 1024 for value in body["extendedProperties"]["private"].values())
