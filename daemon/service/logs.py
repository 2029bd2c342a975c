"""Logging for a command run by hand and for a ``systemd --user`` service.

:func:`setup_logging` installs one handler on the root logger that writes plain
lines to stderr, without timestamps (journald adds them):

* ``WARNING: message`` on a terminal or in a pipe (the level word coloured on a
  terminal unless ``$NO_COLOR`` is set);
* ``<4>message`` when stderr is connected to the journal (systemd says so in
  ``$JOURNAL_STREAM``): the ``<N>`` syslog priority prefix on every line of a record
  lets journald keep its level (``journalctl -p warning`` works).

Levels: cadenced's own loggers (``daemon``, ``connectors``, ``cadenced``) from INFO,
or DEBUG with ``verbose``; every other library (httpx, httpcore, apscheduler, ...)
from WARNING, or INFO with ``verbose`` (never its DEBUG chatter).

Whatever is printed goes through :func:`redact` first: a secret calendar URL is a
credential, so no http(s)/webcal URL, password, token or Authorization header value
ever reaches the log.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TextIO

from daemon.core.redact import redact

__all__ = ["OWN_LOGGERS", "setup_logging"]

OWN_LOGGERS = ("daemon", "connectors", "cadenced", "__main__")

# Marks the handler setup_logging owns, so a second call replaces it.
_OWNED = "_cadenced_owned"

_PRIORITIES = (  # syslog priority of a level: the first threshold it reaches
    (logging.CRITICAL, 2),
    (logging.ERROR, 3),
    (logging.WARNING, 4),
    (logging.INFO, 6),
)
_COLOURS = (
    (logging.CRITICAL, "\x1b[1;31m"),  # bold red
    (logging.ERROR, "\x1b[31m"),  # red
    (logging.WARNING, "\x1b[33m"),  # yellow
)
_RESET = "\x1b[0m"


def setup_logging(
    *,
    verbose: bool = False,
    environ: Mapping[str, str] = os.environ,
    stream: TextIO | None = None,
) -> None:
    """Send log records to ``stream`` (default: ``sys.stderr``), for a person or journald.

    Sets the root logger's level (DEBUG with ``verbose``, else INFO) and replaces the
    handler a previous call installed; other handlers (pytest's, for instance) are
    left alone. Named loggers' levels are not touched: which records are printed is
    decided by the handler (see the module docstring).
    """
    if stream is None:
        stream = sys.stderr
    journal = _is_journal_stream(stream, environ)
    colour = not journal and _wants_colour(stream, environ)

    handler = logging.StreamHandler(stream)
    setattr(handler, _OWNED, True)
    handler.setFormatter(_Formatter(journal=journal, colour=colour))
    handler.addFilter(_LevelPolicy(verbose=verbose))

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OWNED, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


# --- what is printed -------------------------------------------------------------


class _LevelPolicy(logging.Filter):
    """Own loggers from INFO (DEBUG when verbose); everything else from WARNING
    (INFO when verbose)."""

    def __init__(self, *, verbose: bool) -> None:
        super().__init__()
        self.own_level = logging.DEBUG if verbose else logging.INFO
        self.other_level = logging.INFO if verbose else logging.WARNING

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        own = any(name == p or name.startswith(p + ".") for p in OWN_LOGGERS)
        return record.levelno >= (self.own_level if own else self.other_level)


class _Formatter(logging.Formatter):
    """``LEVEL: message``, or ``<N>`` on every line for journald; always redacted."""

    def __init__(self, *, journal: bool, colour: bool) -> None:
        super().__init__()
        self.journal = journal
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        try:
            text = record.getMessage()
        except (TypeError, ValueError, KeyError, IndexError):
            # A broken logging call: logging's own error report would print the raw
            # arguments, unredacted. Show them here, redacted, instead.
            text = f"{record.msg!s} (bad logging arguments: {record.args!r})"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            text = f"{text.rstrip(chr(10))}\n{record.exc_text}"
        if record.stack_info:
            text = f"{text.rstrip(chr(10))}\n{self.formatStack(record.stack_info)}"
        text = redact(text)

        if self.journal:
            prefix = f"<{_priority(record.levelno)}>"
            return "\n".join(prefix + line for line in text.split("\n"))
        label = record.levelname
        if self.colour:
            code = next((c for level, c in _COLOURS if record.levelno >= level), None)
            if code:
                label = f"{code}{label}{_RESET}"
        return f"{label}: {text}"


def _priority(levelno: int) -> int:
    return next((p for level, p in _PRIORITIES if levelno >= level), 7)


def _is_journal_stream(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """True when ``$JOURNAL_STREAM`` (``<st_dev>:<st_ino>``) names ``stream``'s file:
    systemd connected it to the journal (see systemd.exec(5))."""
    value = environ.get("JOURNAL_STREAM", "")
    dev, sep, ino = value.partition(":")
    if not sep:
        return False
    try:
        st = os.fstat(stream.fileno())
        return (st.st_dev, st.st_ino) == (int(dev), int(ino))
    except (AttributeError, OSError, ValueError):  # no file descriptor, closed, bad value
        return False


def _wants_colour(stream: TextIO, environ: Mapping[str, str]) -> bool:
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":  # see no-color.org
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
