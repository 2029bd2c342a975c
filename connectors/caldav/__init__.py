"""CalDAV (RFC 4791) as a calendar source with write-back, through the ``caldav``
library: :mod:`.source` reads (sync-collection, ctag/etag fallback),
:mod:`.server` talks to the server and turns its failures into ours,
:mod:`.credentials` finds the password, :mod:`.writeback` links the agenda."""
