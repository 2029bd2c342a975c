"""The 1:1 documents as Google Docs: an :class:`~connectors.base.AgendaStore`.

:mod:`.snapshot` reads a Doc, :mod:`.planner` turns a new text into edits,
:mod:`.store` is :class:`~connectors.google.docs.store.GoogleDocsAgendaStore`.

The contract of :class:`GoogleDocsAgendaStore`:

* **One Doc per person**, created by cadenced in the owner's Drive. cadenced asks
  only for the ``drive.file`` scope, which sees nothing but the files cadenced
  created; it finds a person's Doc again by its ``appProperties``
  (``cadencedPerson`` = the person's address, lowercased). Several found (two
  machines racing): the oldest is used, with a warning. The Doc is shared with the
  person as a writer, without a notification e-mail unless ``notify``; a share that
  fails is logged and tried again at the next write (``cadencedShared`` records it).
* **read** gives the Doc as Markdown text and its ``revisionId`` as the version. The
  text is the body's paragraphs, run by run. A paragraph Docs shows as a bullet but
  whose text has no list marker of its own (``- topic`` typed in Docs becomes one)
  reads as ``- text``, nested ones indented by two spaces per level; a paragraph in
  a heading style (Heading 1-6) without a ``#`` of its own reads as ``## text``.
  These prefixes are not in the Doc, so they take no room there. Person chips and
  smart links read as their name or title; images, tables, headers, footers and
  footnotes are not read. A soft line break (Shift+Enter) stays a ``\\v`` inside its
  line. An empty Doc reads as no document (None).
* **Checklists.** An action item is a Markdown task: ``[ ]`` or ``[x]`` at the start
  of a list item. In a Doc that is ``[ ]``/``[x]`` typed in a bulleted list or after a
  typed ``- ``, or an item of one of Docs' own checklists (the checkbox bullets of
  the toolbar, which :func:`is_checklist` tells from other lists by their nesting
  levels). A checklist item reads as ``- [ ] text``, or as ``- [x] text`` when all of
  its text is struck through (:func:`is_ticked`): the API does not say whether a box
  is ticked, but Docs strikes a ticked item through. An item struck through only in
  part is open; one with a typed box of its own, or a list marker, reads as typed.
* **write** never re-uploads the document. It diffs the text it read against the new
  text line by line and sends one ``documents.batchUpdate``: ``deleteContentRange`` for
  the lines that went, ``insertText`` for the lines that came, in descending index
  order, guarded by ``writeControl.requiredRevisionId``. A Doc changed in between is
  refused by Google and raises :class:`~connectors.base.Conflict`, so
  :func:`~connectors.base.with_retry` reads it again and re-applies its change.
  Lines cadenced did not change are never touched, whoever wrote them. The lines it
  inserts get plain paragraph and text styles (not those of their neighbours),
  ``#``-lines the matching heading style, and its hidden ``<!-- ... -->`` lines small
  grey text. An open item it writes at a line's start (``- [ ] what``: the items it
  carries over) goes in as ``what`` in a checklist (``createParagraphBullets`` with
  ``BULLET_CHECKBOX``), which reads back as the same line; the person ticks its box.
  ``expected=None`` creates the Doc (or fills an empty one), and raises
  :class:`Conflict` when the person's Doc has text already.
* Errors: :class:`~daemon.core.errors.NeedsSignIn` and
  :class:`~connectors.google.errors.GoogleApiError` leave as they are; a Doc that
  disappeared while being written is an :class:`~connectors.base.AgendaStoreError`.
  :meth:`url` and :meth:`document_id` never raise: they give None when they cannot
  tell.

Docs indexes a body in UTF-16 code units from 1. :func:`extract` keeps, with the
text, where each of its characters sits in the Doc (:class:`Snapshot`);
:func:`plan_requests` turns a new text into the requests. Both are pure.
"""
