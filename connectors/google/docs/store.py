"""The store: one Doc per person in the owner's Drive, found by its appProperties,
shared with the person, read and written through the snapshot and the planner."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.base import AgendaStoreError, Conflict, InvalidPerson, Revision, plain_address
from connectors.google.api import execute
from connectors.google.docs.planner import plan_requests
from connectors.google.docs.snapshot import Snapshot, extract
from connectors.google.errors import GoogleApiError
from daemon.core.errors import NeedsSignIn

log = logging.getLogger(__name__)


DOC_MIME = "application/vnd.google-apps.document"
PERSON_KEY = "cadencedPerson"
VERSION_KEY = "cadencedVersion"
SHARED_KEY = "cadencedShared"
FORMAT_VERSION = "1"
APP_PROPERTY_BYTES = 124  # Drive's limit on a key and its value together
EDIT_URL = "https://docs.google.com/document/d/{}/edit"
MAX_PAGES = 10  # of files.list; more than a few Docs for one person is a mistake
# What Docs strips from inserted text (tab, newline and vertical tab stay).
# ---------------------------------------------------------------- the store


def _person(person: str) -> str:
    return plain_address(person)


def person_tag(email: str) -> str:
    """The ``cadencedPerson`` value of ``email``'s Doc (a hash when too long for Drive)."""
    if len(PERSON_KEY.encode()) + len(email.encode()) <= APP_PROPERTY_BYTES:
        return email
    return "sha256:" + hashlib.sha256(email.encode()).hexdigest()


def _quote(value: str) -> str:
    """``value`` as a string literal of a Drive query."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def query(email: str) -> str:
    """The Drive query that finds ``email``'s Doc."""
    return (f"appProperties has {{ key={_quote(PERSON_KEY)} and value={_quote(person_tag(email))}"
            f" }} and mimeType = {_quote(DOC_MIME)} and trashed = false")


def _title(text: str, owner_name: str, email: str) -> str:
    first = text.split("\n", 1)[0].strip()
    if first.startswith("# ") and first[2:].strip():
        return first[2:].strip()
    return f"1:1 — {owner_name.strip() or 'me'} & {email}"


@dataclass
class _File:
    id: str
    shared: bool


class GoogleDocsAgendaStore:
    """Agendas as Google Docs (see the module's docstring).

    ``services`` returns the (Drive v3, Docs v1) clients, built from fresh
    credentials; it is called for every operation, so it should cache them.
    ``source`` names the Google source whose sign-in is used (in messages).
    """

    def __init__(self, services: Callable[[], tuple[Any, Any]], *, source: str,
                 owner_name: str, share: bool = True, notify: bool = False) -> None:
        self.services = services
        self.source = source
        self.owner_name = owner_name
        self.share = share
        self.notify = notify
        self._lock = threading.RLock()  # one API call at a time: clients are not thread-safe
        self._files: dict[str, _File] = {}  # person -> their Doc
        self._snapshots: dict[str, Snapshot] = {}  # person -> the Doc as last read

    # --- AgendaStore ----------------------------------------------------------------

    def read(self, person: str) -> Revision | None:
        email = _person(person)
        with self._lock:
            drive, docs = self.services()
            found = self._find(drive, email)
            if found is None:
                return None
            try:
                document = self._get(docs, found.id, email)
            except GoogleApiError as exc:
                if exc.status != 404:
                    raise
                self._files.pop(email, None)  # deleted for good: look again
                found = self._find(drive, email)
                if found is None:
                    return None
                document = self._get(docs, found.id, email)
            snap = extract(document)
            self._snapshots[email] = snap
            if snap.empty:
                return None
            return Revision(snap.text, snap.revision)

    def write(self, person: str, text: str, *, expected: str | None) -> str:
        email = _person(person)
        with self._lock:
            drive, docs = self.services()
            if expected is None:
                return self._create_or_fill(drive, docs, email, text)
            found = self._find(drive, email)
            if found is None:
                raise self._gone(email)
            snap = self._snapshots.get(email)
            if snap is None or snap.document_id != found.id or snap.revision != expected:
                snap = extract(self._get(docs, found.id, email, during_write=True))
                if snap.revision != expected:
                    raise self._conflict(email, found.id)
            requests = plan_requests(snap, text)
            revision = self._batch(docs, found.id, email, requests, expected) \
                if requests else expected
            self._ensure_shared(drive, found, email)
            return revision

    def url(self, person: str) -> str | None:
        """Where the person opens their Doc; None when there is none (or it cannot
        be looked up now)."""
        doc_id = self.document_id(person)
        return EDIT_URL.format(doc_id) if doc_id else None

    def document_id(self, person: str) -> str | None:
        """The id of the person's Doc; None when there is none (or it cannot be looked
        up now, which is logged)."""
        try:
            email = _person(person)
            with self._lock:
                cached = self._files.get(email)
                if cached is not None:
                    return cached.id
                found = self._find(self.services()[0], email)
                return found.id if found else None
        except (NeedsSignIn, GoogleApiError, InvalidPerson) as exc:
            log.info("agenda Doc of %s: cannot look it up: %s", person, exc)
            return None

    # --- internals --------------------------------------------------------------------

    def _find(self, drive: Any, email: str) -> _File | None:
        """The person's Doc: remembered, else looked up in Drive."""
        cached = self._files.get(email)
        if cached is not None:
            return cached
        files: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            reply = execute(
                drive.files().list(q=query(email), spaces="drive", pageSize=100,
                                   pageToken=token,
                                   fields="nextPageToken,files(id,name,createdTime,appProperties)"),
                source=self.source, what=f"looking up the agenda Doc of {email}")
            files += [f for f in reply.get("files") or [] if f.get("id")]
            token = reply.get("nextPageToken")
            if not token:
                break
        if not files:
            return None
        files.sort(key=lambda f: (str(f.get("createdTime") or ""), str(f["id"])))
        if len(files) > 1:
            log.warning("agenda: %d Google Docs for %s; using the oldest, %s (%s); the "
                        "others can be deleted", len(files), email, files[0]["id"],
                        EDIT_URL.format(files[0]["id"]))
        found = _File(str(files[0]["id"]),
                      (files[0].get("appProperties") or {}).get(SHARED_KEY) == "1")
        self._files[email] = found
        return found

    def _get(self, docs: Any, doc_id: str, email: str, *,
             during_write: bool = False) -> dict[str, Any]:
        try:
            return dict(execute(docs.documents().get(documentId=doc_id),
                                source=self.source, what=f"reading the agenda Doc of {email}"))
        except GoogleApiError as exc:
            if exc.status == 404:
                self._files.pop(email, None)
                self._snapshots.pop(email, None)
                if during_write:
                    raise self._gone(email) from None
            raise

    def _gone(self, email: str) -> AgendaStoreError:
        return AgendaStoreError(
            f"the agenda Doc of {email} disappeared while cadenced was updating it",
            hint="it was deleted in Drive; cadenced creates a new one at its next change "
            "(restore the old one from Drive's trash to keep it instead)")

    def _conflict(self, email: str, doc_id: str) -> Conflict:
        return Conflict(f"the agenda Doc of {email} changed since cadenced read it",
                        path=EDIT_URL.format(doc_id), hint="read it again and re-apply the change")

    def _create_or_fill(self, drive: Any, docs: Any, email: str, text: str) -> str:
        """A new Doc for ``email`` with ``text`` (or an empty one filled)."""
        found = self._find(drive, email)
        if found is None:
            reply = execute(
                drive.files().create(
                    body={"name": _title(text, self.owner_name, email), "mimeType": DOC_MIME,
                          "appProperties": {PERSON_KEY: person_tag(email),
                                            VERSION_KEY: FORMAT_VERSION}},
                    fields="id,createdTime,appProperties"),
                source=self.source, what=f"creating the agenda Doc of {email}",
                idempotent=False)
            found = _File(str(reply["id"]), False)
            self._files[email] = found
            log.info("agenda: created the Google Doc of %s: %s", email, EDIT_URL.format(found.id))
        snap = extract(self._get(docs, found.id, email, during_write=True))
        if not snap.empty:
            raise Conflict(f"the agenda Doc of {email} was created by someone else meanwhile",
                           path=EDIT_URL.format(found.id),
                           hint="read it again and re-apply the change")
        requests = plan_requests(snap, text)
        revision = self._batch(docs, found.id, email, requests, snap.revision) \
            if requests else snap.revision
        self._ensure_shared(drive, found, email)
        return revision

    def _batch(self, docs: Any, doc_id: str, email: str, requests: Sequence[dict[str, Any]],
               expected: str) -> str:
        """Send ``requests`` in one batchUpdate, only onto revision ``expected``."""
        what = f"updating the agenda Doc of {email}"
        body = {"requests": list(requests), "writeControl": {"requiredRevisionId": expected}}
        self._snapshots.pop(email, None)
        try:
            # Retrying is safe: once applied, the revision guard refuses the repeat.
            reply = execute(docs.documents().batchUpdate(documentId=doc_id, body=body),
                            source=self.source, what=what)
        except GoogleApiError as exc:
            if exc.status == 404:
                self._files.pop(email, None)
                raise self._gone(email) from None
            if exc.status == 400 and (
                    "revision" in exc.reason[len(what):].lower()
                    or self._moved(docs, doc_id, email, expected)):
                raise self._conflict(email, doc_id) from None
            raise
        revision = (reply.get("writeControl") or {}).get("requiredRevisionId")
        if not revision:
            revision = self._get(docs, doc_id, email, during_write=True).get("revisionId")
        return str(revision)

    def _moved(self, docs: Any, doc_id: str, email: str, expected: str) -> bool:
        """Whether the Doc's revision is no longer ``expected`` (after a refusal)."""
        current = self._get(docs, doc_id, email, during_write=True)
        return str(current.get("revisionId") or "") != expected

    def _ensure_shared(self, drive: Any, found: _File, email: str) -> None:
        """Share the Doc with the person as a writer, once; a failure is logged and
        the share tried again at the next write."""
        if not self.share or found.shared:
            return
        try:
            execute(drive.permissions().create(
                fileId=found.id, sendNotificationEmail=self.notify, fields="id",
                body={"type": "user", "role": "writer", "emailAddress": email}),
                source=self.source, what=f"sharing the agenda Doc with {email}",
                idempotent=not self.notify)  # a repeat could send a second e-mail
            execute(drive.files().update(fileId=found.id, fields="id",
                                         body={"appProperties": {SHARED_KEY: "1"}}),
                    source=self.source, what=f"marking the agenda Doc of {email} shared")
        except GoogleApiError as exc:
            hint = exc.hint or (
                "Google invites an address without a Google account only with an e-mail: "
                "set notify = true under [agenda]" if not self.notify and exc.status == 400
                else "cadenced tries again at its next change")
            log.warning("agenda: could not share the Doc of %s: %s (%s)", email, exc, hint)
            return
        found.shared = True
        log.info("agenda: shared the Doc with %s%s", email,
                 " (Google e-mailed them)" if self.notify else "")
