"""Graph's own error: a call that failed for good, with its HTTP status and Graph's
error code. A :class:`~daemon.core.errors.SourceError`, so everything above the
connector handles it as any source's failure. It never carries a token."""

from __future__ import annotations

from daemon.core.errors import SourceError


class GraphError(SourceError):
    """A Microsoft Graph call failed for good (after retries where retrying makes sense).

    ``status`` is the HTTP status (0 for a network failure or timeout); ``code`` the
    ``error.code`` of Graph's reply (``ErrorAccessDenied``, ``syncStateNotFound``), if any.
    """

    def __init__(self, source: str, reason: str, *, status: int = 0, code: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(source, reason, hint=hint)
        self.status = status
        self.code = code
