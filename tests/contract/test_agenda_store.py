"""The AgendaStore contract (connectors/base.py) against both stores: local Markdown
files and Google Docs (through the real google-api-python-client and the emulator).
Read with a version, compare-and-swap writes, conflicts that name the document,
with_retry re-applying a change over someone else's edit, refusing what is not an
address."""

from __future__ import annotations

import pytest
from google.oauth2.credentials import Credentials

from connectors.base import Conflict, InvalidPerson, with_retry
from connectors.google.api import build_service
from connectors.google.docs.store import GoogleDocsAgendaStore
from daemon.state.agendas import LocalAgendaStore

ADA = "ada@example.com"
FIRST = "# 1:1 Ada\n\n## Mon 23 Nov 2026\n\n### Topics\n\n- the offsite\n"
SECOND = FIRST + "- hiring plan\n"


def _docs(emulator):
    info = emulator.issue_token(["https://www.googleapis.com/auth/drive.file"])
    signed_in = Credentials(info["token"], refresh_token=info["refresh_token"],
                            token_uri=info["token_uri"], client_id=info["client_id"],
                            client_secret=info["client_secret"], scopes=info["scopes"])
    built = (build_service("drive", signed_in, api_root=emulator.root, timeout=10),
             build_service("docs", signed_in, api_root=emulator.root, timeout=10))
    return lambda: GoogleDocsAgendaStore(lambda: built, source="work", owner_name="Me",
                                         share=False)


@pytest.fixture(params=["local", "google-docs"])
def stores(request, tmp_path):
    """A factory of stores over one place, as two writers (cadenced and another) see it."""
    if request.param == "local":
        return lambda: LocalAgendaStore(tmp_path / "agendas")
    return _docs(request.getfixturevalue("google"))


def test_nothing_there_reads_as_none_and_a_first_write_creates_it(stores):
    store = stores()
    assert store.read(ADA) is None
    version = store.write(ADA, FIRST, expected=None)
    revision = store.read(ADA)
    assert revision is not None and revision.text == FIRST and revision.version == version


def test_a_write_against_an_old_version_is_a_conflict_and_changes_nothing(stores):
    ours, theirs = stores(), stores()
    old = ours.write(ADA, FIRST, expected=None)
    theirs.write(ADA, SECOND, expected=theirs.read(ADA).version)
    with pytest.raises(Conflict):
        ours.write(ADA, FIRST + "- ours\n", expected=old)
    assert ours.read(ADA).text == SECOND


def test_creating_what_someone_else_created_is_a_conflict(stores):
    ours, theirs = stores(), stores()
    theirs.write(ADA, FIRST, expected=None)
    with pytest.raises(Conflict):
        ours.write(ADA, SECOND, expected=None)
    assert ours.read(ADA).text == FIRST


def test_with_retry_applies_the_change_over_an_edit_made_in_between(stores):
    ours, theirs = stores(), stores()
    ours.write(ADA, FIRST, expected=None)
    seen = []

    def change(text):
        seen.append(text)
        if len(seen) == 1:  # someone saves while cadenced works on its change
            theirs.write(ADA, SECOND, expected=theirs.read(ADA).version)
        return text + "- carried item\n"

    with_retry(ours, ADA, change)
    assert seen == [FIRST, SECOND]
    assert ours.read(ADA).text == SECOND + "- carried item\n"


def test_an_unchanged_text_writes_nothing_and_keeps_the_version(stores):
    store = stores()
    version = store.write(ADA, FIRST, expected=None)
    assert with_retry(store, ADA, lambda text: text) == version
    assert store.read(ADA).version == version


@pytest.mark.parametrize("who", ["../etc/passwd", "not an address", "a@b@c"])
def test_what_is_not_a_plain_address_names_no_document(stores, who):
    with pytest.raises(InvalidPerson):
        stores().write(who, FIRST, expected=None)
