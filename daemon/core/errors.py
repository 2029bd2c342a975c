"""One error hierarchy for cadenced.

Every failure a user can act on is a :class:`CadencedError`. Errors carry data
(which source, which key, what to do next) as attributes; turning them into the
one-line message a user reads happens in one place, :func:`daemon.cli.commands.report_error`.
Connectors raise these, never their libraries' exceptions.
"""

from __future__ import annotations


class CadencedError(Exception):
    """Base of everything cadenced raises on purpose.

    ``hint`` says what the user can do about it; it is printed after the message.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(CadencedError):
    """The configuration file is missing, unreadable or invalid.

    ``problems`` holds one ``(key, message)`` pair per problem, all of them at once,
    so a user fixes the file in one go.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        problems: list[tuple[str, str]] | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.problems = problems or []


class SourceError(CadencedError):
    """A calendar source could not be read.

    ``source`` is the configured source name; ``reason`` is a short phrase
    ("HTTP 429 Too Many Requests", "the server sent an HTML page"). A failed
    source is never read as "this calendar has no events".
    """

    def __init__(self, source: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"source {source!r}: {reason}", hint=hint)
        self.source = source
        self.reason = reason


class NeedsSignIn(SourceError):
    """A source's sign-in no longer works: the refresh token was revoked or expired
    (Google apps in "testing" mode get 7-day tokens), or there is none yet.

    The source is shown as "needs sign-in" in ``status`` and the report; it is not
    retried until its token file changes (``cadenced auth ...`` writes a new one).
    """


class MalformedEventError(CadencedError):
    """One event of a source is unusable; it is skipped and the rest is read."""

    def __init__(self, source: str, uid: str | None, reason: str) -> None:
        super().__init__(f"source {source!r}: event {uid or '(no UID)'} skipped: {reason}")
        self.source = source
        self.uid = uid
        self.reason = reason


class InputError(CadencedError):
    """Something named on the command line does not exist or cannot be used (a person
    cadenced does not know, a file it cannot write). Exit status 2, like a bad config."""

    exit_code = 2
