"""Google's own error: an API call that failed for good, with its HTTP status and
Google's reason. A :class:`~daemon.core.errors.SourceError`, so everything above the
connector handles it as any source's failure."""

from __future__ import annotations

from daemon.core.errors import SourceError


class GoogleApiError(SourceError):
    """A Google API call failed for good (after retries where retrying makes sense).

    ``status`` is the HTTP status (0 for a network failure or timeout);
    ``google_reason`` the first ``errors[].reason`` of Google's reply, if any.
    """

    def __init__(self, source: str, reason: str, *, status: int = 0,
                 google_reason: str | None = None, hint: str | None = None) -> None:
        super().__init__(source, reason, hint=hint)
        self.status = status
        self.google_reason = google_reason
