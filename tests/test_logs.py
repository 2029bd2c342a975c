"""daemon.service.logs: plain lines, journald priority prefixes, colour, redaction."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from daemon.core.redact import redact, url_fingerprint
from daemon.service.logs import setup_logging

SECRET_URL = (
    "https://calendar.google.com/calendar/ical/ana%40example.com/private-0badc0ffee1234/basic.ics"
)
SECRET = "private-0badc0ffee1234"

own = logging.getLogger("daemon.test_logs")
connectors_log = logging.getLogger("connectors.test_logs")
third_party = logging.getLogger("httpx")


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def setup(verbose: bool = False, environ: dict[str, str] | None = None, stream=None):
    stream = io.StringIO() if stream is None else stream
    setup_logging(verbose=verbose, environ=environ or {}, stream=stream)
    return stream


def own_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, "_cadenced_owned", False)]


# --- format and levels ---------------------------------------------------------------


def test_plain_lines() -> None:
    stream = setup()
    own.info("synced %d sources", 2)
    own.warning("careful")
    own.error("broken")
    assert stream.getvalue() == "INFO: synced 2 sources\nWARNING: careful\nERROR: broken\n"


def test_debug_hidden_unless_verbose() -> None:
    stream = setup()
    own.debug("detail")
    connectors_log.debug("detail")
    assert stream.getvalue() == ""
    assert not logging.getLogger().isEnabledFor(logging.DEBUG)


def test_verbose_shows_debug() -> None:
    stream = setup(verbose=True)
    own.debug("detail")
    connectors_log.debug("more")
    logging.getLogger("cadenced").debug("cli")
    assert stream.getvalue() == "DEBUG: detail\nDEBUG: more\nDEBUG: cli\n"
    # daemon.cli.commands.handle_errors shows tracebacks when the root logger is at DEBUG
    assert logging.getLogger().isEnabledFor(logging.DEBUG)


@pytest.mark.parametrize("name", ["httpx", "httpcore.http11", "apscheduler.scheduler", "other"])
def test_third_party_from_warning(name: str) -> None:
    stream = setup()
    logger = logging.getLogger(name)
    logger.debug("chatter")
    logger.info("chatter")
    logger.warning("worth seeing")
    assert stream.getvalue() == "WARNING: worth seeing\n"


@pytest.mark.parametrize("name", ["httpx", "apscheduler.scheduler"])
def test_third_party_from_info_when_verbose(name: str) -> None:
    stream = setup(verbose=True)
    logger = logging.getLogger(name)
    logger.debug("chatter")
    logger.info("job ran")
    assert stream.getvalue() == "INFO: job ran\n"


def test_logger_name_prefix_is_not_enough_to_be_own() -> None:
    stream = setup()
    logging.getLogger("daemonize").info("not ours")
    assert stream.getvalue() == ""


def test_traceback_is_printed() -> None:
    stream = setup()
    try:
        raise ValueError("bad value")
    except ValueError:
        own.exception("failed")
    text = stream.getvalue()
    assert text.startswith("ERROR: failed\nTraceback (most recent call last):\n")
    assert text.endswith("ValueError: bad value\n")


# --- journald --------------------------------------------------------------------


def journal_file(tmp_path: Path):
    stream = (tmp_path / "journal.log").open("w+", encoding="utf-8")
    st = os.fstat(stream.fileno())
    return stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}


def test_journal_priority_prefix(tmp_path: Path) -> None:
    stream, environ = journal_file(tmp_path)
    with stream:
        setup(verbose=True, environ=environ, stream=stream)
        own.debug("d")
        own.info("i")
        own.warning("w")
        own.error("e")
        own.critical("c")
        stream.seek(0)
        assert stream.read() == "<7>d\n<6>i\n<4>w\n<3>e\n<2>c\n"


def test_journal_prefixes_every_line(tmp_path: Path) -> None:
    stream, environ = journal_file(tmp_path)
    with stream:
        setup(environ=environ, stream=stream)
        own.warning("first\nsecond")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            own.exception("failed")
        stream.seek(0)
        lines = stream.read().splitlines()
    assert lines[:3] == ["<4>first", "<4>second", "<3>failed"]
    assert lines[3] == "<3>Traceback (most recent call last):"
    assert lines[-1] == "<3>RuntimeError: boom"
    assert all(line.startswith("<3>") for line in lines[2:])


def test_journal_lines_are_never_coloured(tmp_path: Path) -> None:
    stream, environ = journal_file(tmp_path)
    with stream:
        setup(environ=environ, stream=stream)
        own.error("e")
        stream.seek(0)
        assert stream.read() == "<3>e\n"


def test_journal_stream_of_another_file(tmp_path: Path) -> None:
    other, environ = journal_file(tmp_path)
    other.close()
    with (tmp_path / "stderr.log").open("w+", encoding="utf-8") as stream:
        setup(environ=environ, stream=stream)
        own.warning("w")
        stream.seek(0)
        assert stream.read() == "WARNING: w\n"


@pytest.mark.parametrize("value", ["", "12", "a:b", "1:2:3", "0:0"])
def test_journal_stream_malformed_or_other(value: str) -> None:
    stream = setup(environ={"JOURNAL_STREAM": value})  # a StringIO has no file descriptor
    own.warning("w")
    assert stream.getvalue() == "WARNING: w\n"


# --- colour ------------------------------------------------------------------------


def test_no_colour_when_not_a_tty() -> None:
    stream = setup()
    own.warning("w")
    own.error("e")
    assert "\x1b" not in stream.getvalue()


def test_colour_on_a_tty() -> None:
    stream = setup(stream=TTY())
    own.info("i")
    own.warning("w")
    own.error("e")
    assert stream.getvalue() == ("INFO: i\n\x1b[33mWARNING\x1b[0m: w\n\x1b[31mERROR\x1b[0m: e\n")


@pytest.mark.parametrize("environ", [{"NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_no_colour_when_asked(environ: dict[str, str]) -> None:
    stream = setup(environ=environ, stream=TTY())
    own.warning("w")
    assert stream.getvalue() == "WARNING: w\n"


# --- idempotence ---------------------------------------------------------------------


def test_setup_twice_gives_one_line_per_message() -> None:
    first = setup()
    second = setup()
    own.warning("once")
    assert first.getvalue() == ""
    assert second.getvalue() == "WARNING: once\n"
    assert len(own_handlers()) == 1


def test_setup_keeps_other_handlers() -> None:
    other = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(other)
    setup()
    setup(verbose=True)
    assert other in logging.getLogger().handlers
    assert len(own_handlers()) == 1


def test_setup_switches_verbosity() -> None:
    stream = setup(verbose=True)
    stream = setup(verbose=False)
    own.debug("hidden")
    own.info("shown")
    assert stream.getvalue() == "INFO: shown\n"


def test_defaults_to_stderr(capsys) -> None:
    setup_logging(environ={})
    own.warning("to stderr")
    assert capsys.readouterr().err == "WARNING: to stderr\n"


# --- redaction in log lines --------------------------------------------------------------


def test_secret_url_in_arguments_is_replaced_by_its_fingerprint() -> None:
    stream = setup()
    own.warning("cannot fetch %s: timeout", SECRET_URL)
    assert stream.getvalue() == f"WARNING: cannot fetch {url_fingerprint(SECRET_URL)}: timeout\n"
    assert SECRET not in stream.getvalue()


def test_secret_url_in_message_is_replaced() -> None:
    stream = setup()
    own.warning(f"cannot fetch <{SECRET_URL}>.")
    assert stream.getvalue() == f"WARNING: cannot fetch <{url_fingerprint(SECRET_URL)}>.\n"


def test_password_and_bearer_are_masked() -> None:
    stream = setup()
    own.info("login with password=hunter2 ok")
    own.info("sending %s", "Authorization: Bearer abc.def")
    text = stream.getvalue()
    assert "hunter2" not in text
    assert "abc.def" not in text
    assert text == "INFO: login with password=*** ok\nINFO: sending Authorization: Bearer ***\n"


def test_secret_in_traceback_is_masked() -> None:
    stream = setup()
    try:
        raise httpx.HTTPStatusError(
            f"Client error '404 Not Found' for url '{SECRET_URL}'",
            request=httpx.Request("GET", SECRET_URL),
            response=httpx.Response(404),
        )
    except httpx.HTTPStatusError:
        own.exception("download failed (token=%s)", "s3cr3t")
    text = stream.getvalue()
    assert SECRET not in text
    assert "s3cr3t" not in text
    assert url_fingerprint(SECRET_URL) in text


def test_secret_in_stack_info_is_masked() -> None:
    stream = setup()
    own.warning("where is %s", SECRET_URL, stack_info=True)
    assert "Stack (most recent call last)" in stream.getvalue()
    assert SECRET not in stream.getvalue()


def test_secret_in_journal_lines_is_masked(tmp_path: Path) -> None:
    stream, environ = journal_file(tmp_path)
    with stream:
        setup(environ=environ, stream=stream)
        own.warning("url %s\nclient_secret=xyz123", SECRET_URL)
        stream.seek(0)
        text = stream.read()
    assert text == f"<4>url {url_fingerprint(SECRET_URL)}\n<4>client_secret=***\n"


def test_httpx_request_line_keeps_the_fetchers_fingerprint() -> None:
    """connectors.ics.fetch already swaps httpx's URL argument for its fingerprint;
    the formatter leaves that fingerprint as it is."""
    stream = setup(verbose=True)
    url = httpx.URL(SECRET_URL)
    third_party.info('HTTP Request: %s %s "%s %d %s"', "GET", url, "HTTP/1.1", 200, "OK")
    assert stream.getvalue() == (
        f'INFO: HTTP Request: GET {url_fingerprint(SECRET_URL)} "HTTP/1.1 200 OK"\n'
    )


def test_broken_logging_call_is_still_redacted() -> None:
    # Formatted directly: pytest's own capture handler would raise on this record.
    setup()
    record = own.makeRecord(
        own.name, logging.WARNING, __file__, 1, "two args %s %s", ("password=hunter2",), None
    )
    text = own_handlers()[0].format(record)
    assert text.startswith("WARNING: two args %s %s (bad logging arguments:")
    assert "hunter2" not in text


# --- redact() -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password=hunter2", "password=***"),
        ("user=password=x", "user=password=***"),
        ("PASSWORD: hunter2 rest", "PASSWORD: *** rest"),
        ("Authorization: Bearer abc.def", "Authorization: Bearer ***"),
        ("authorization=Basic dXNlcjpwdw==", "authorization=Basic ***"),
        ("token=bob", "token=***"),
        ("refresh_token=r1&scope=cal", "refresh_token=***&scope=cal"),
        (
            '{"access_token": "a b", "client_secret":"cs"}',
            '{"access_token": "***", "client_secret":"***"}',
        ),
        ("{'refresh_token': 'rt'}", "{'refresh_token': '***'}"),
        ("[(b'Authorization', b'Bearer xyz')]", "[(b'Authorization', b'***')]"),
        ("x-api-key=ABC123", "x-api-key=***"),
        ("passed Bearer eyJhbGciOi.J9", "passed Bearer ***"),
        ("ftp://bob:pw@files.example.com/x", "ftp://***@files.example.com/x"),
        ("the secret ICS address is reset", "the secret ICS address is reset"),
        ("no secrets here: 3 sources, 12 people", "no secrets here: 3 sources, 12 people"),
        ("Password:\nnext", "Password:\nnext"),
        # Prose after an article is not a key: the service's start hint reads as written.
        ("agenda server on 127.0.0.1:8765 (its address with the secret: cadenced status)",
         "agenda server on 127.0.0.1:8765 (its address with the secret: cadenced status)"),
        ("the token: expired, sign in again", "the token: expired, sign in again"),
        ("token: abc", "token: ***"),
        ("secret=abc after the", "secret=*** after the"),
        ('the secret: "abc"', 'the secret: "***"'),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "url",
    [
        SECRET_URL,
        "https://user:pa55@calendar.example.com/feed.ics",
        "http://calendar.example.com/feed.ics?token=abc123",
        "HTTPS://calendar.example.com/feed.ics",
        "https://[::1]:8443/private-abc/feed.ics",
    ],
)
def test_redact_urls(url: str) -> None:
    assert redact(f"fetching {url} now") == f"fetching {url_fingerprint(url)} now"


def test_redact_webcal_like_the_fetcher() -> None:
    url = "webcal://p01-caldav.icloud.com/published/2/SECRETSECRET"
    https = "https://p01-caldav.icloud.com/published/2/SECRETSECRET"
    assert redact(f"({url})") == f"({url_fingerprint(https)})"


def test_redact_leaves_fingerprints() -> None:
    fingerprint = url_fingerprint(SECRET_URL)
    assert redact(f"reading {fingerprint}.") == f"reading {fingerprint}."


def test_redact_is_linear() -> None:
    # Patterns that backtrack quadratically would take minutes on these.
    for text in ("a" * 200_000 + " https://x", "token" * 40_000 + "://", "x=" * 100_000):
        assert redact(text)


def test_the_service_start_hint_is_logged_as_written(tmp_path: Path) -> None:
    """Regression: the redactor turned "the secret: cadenced status" into "***"."""
    stream = io.StringIO()
    setup_logging(stream=stream, environ={})
    own.info("agenda server on %s:%d (its address with the secret: cadenced status)",
             "127.0.0.1", 8765)
    assert stream.getvalue() == (
        "INFO: agenda server on 127.0.0.1:8765 (its address with the secret: cadenced status)\n")
