"""connectors.ics.fetch against a real HTTP server on 127.0.0.1 (no mocks of httpx)."""

from __future__ import annotations

import hashlib
import logging
import socket
import time

import pytest

from connectors.ics.fetch import fetch_feed
from connectors.ics.validators import Fetched, Validators, content_hash
from daemon.core.errors import SourceError
from daemon.core.redact import normalize_url, url_fingerprint

from feedserver import FeedServer, serving
from feedserver import Reply as _Reply

SECRET = "secret-abc123"

CAL = (
    b"BEGIN:VCALENDAR\r\n"
    b"VERSION:2.0\r\n"
    b"PRODID:-//test//EN\r\n"
    b"BEGIN:VEVENT\r\n"
    b"UID:one@test\r\n"
    b"DTSTAMP:20240101T000000Z\r\n"
    b"DTSTART:20240102T100000Z\r\n"
    b"SUMMARY:1:1 Alice\r\n"
    b"END:VEVENT\r\n"
    b"BEGIN:VEVENT\r\n"
    b"UID:two@test\r\n"
    b"DTSTAMP;VALUE=DATE-TIME:2024010\r\n"
    b" 1T000000Z\r\n"
    b"DTSTART:20240103T100000Z\r\n"
    b"SUMMARY:1:1 Bob\r\n"
    b"END:VEVENT\r\n"
    b"END:VCALENDAR\r\n"
)
# The same calendar exported later: only the DTSTAMP lines (one of them folded) differ.
CAL_RESTAMPED = CAL.replace(b"DTSTAMP:20240101T000000Z", b"DTSTAMP:20250601T121212Z").replace(
    b"DTSTAMP;VALUE=DATE-TIME:2024010\r\n 1T000000Z",
    b"DTSTAMP;VALUE=DATE-TIME:2025\r\n 0601T\r\n\t121212Z",
)
CAL_CHANGED = CAL.replace(b"SUMMARY:1:1 Bob", b"SUMMARY:1:1 Bob (moved)")
HTML = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Login</body></html>\n"


def Reply(**kwargs: object) -> _Reply:
    """A reply that serves CAL unless told otherwise."""
    kwargs.setdefault("body", CAL)
    return _Reply(**kwargs)  # type: ignore[arg-type]


def fetch(url: str, **kwargs: object) -> Fetched:
    kwargs.setdefault("source", "work")
    kwargs.setdefault("timeout", 5.0)
    return fetch_feed(url, **kwargs)  # type: ignore[arg-type]


def fetch_error(url: str, **kwargs: object) -> SourceError:
    with pytest.raises(SourceError) as info:
        fetch(url, **kwargs)
    err = info.value
    assert err.source == "work"
    assert str(err).startswith("source 'work': ")
    assert err.hint
    return err


# --- success, validators, change detection -----------------------------------------


def test_200_returns_body_and_sets_validators(server: FeedServer) -> None:
    server.routes["/cal.ics"] = Reply(
        headers={"Content-Type": "text/calendar", "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"},
        etag='"v1"',
    )
    got = fetch(server.url("/cal.ics"))
    assert got.content == CAL
    assert got.not_modified is False
    assert got.validators == Validators(
        etag='"v1"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT", content_hash=content_hash(CAL),
        raw_hash=hashlib.sha256(CAL).hexdigest(),
    )


def test_default_user_agent_names_cadenced_and_can_be_overridden(server: FeedServer) -> None:
    server.routes["/cal.ics"] = Reply()
    fetch(server.url("/cal.ics"))
    ua = server.headers_of_last("/cal.ics")["user-agent"]
    assert ua.startswith("cadenced/")
    assert ua.endswith("(+calendar sync)")
    fetch(server.url("/cal.ics"), user_agent="custom/1")
    assert server.headers_of_last("/cal.ics")["user-agent"] == "custom/1"


def test_second_fetch_sends_validators_and_304_means_not_modified(server: FeedServer) -> None:
    server.routes["/cal.ics"] = Reply(
        headers={"Content-Type": "text/calendar", "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"},
        etag='"v1"',
    )
    first = fetch(server.url("/cal.ics"))
    second = fetch(server.url("/cal.ics"), previous=first.validators)
    sent = server.headers_of_last("/cal.ics")
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert second.not_modified is True
    assert second.content is None
    assert second.validators == first.validators


def test_restamped_dtstamp_lines_alone_count_as_not_modified(server: FeedServer) -> None:
    server.routes["/cal.ics"] = Reply(body=CAL)
    first = fetch(server.url("/cal.ics"))
    server.routes["/cal.ics"] = Reply(body=CAL_RESTAMPED)
    second = fetch(server.url("/cal.ics"), previous=first.validators)
    assert CAL_RESTAMPED != CAL
    assert second.not_modified is True
    assert second.content is None
    assert second.validators.content_hash == first.validators.content_hash


def test_real_content_change_is_returned(server: FeedServer) -> None:
    server.routes["/cal.ics"] = Reply(body=CAL)
    first = fetch(server.url("/cal.ics"))
    server.routes["/cal.ics"] = Reply(body=CAL_CHANGED)
    second = fetch(server.url("/cal.ics"), previous=first.validators)
    assert second.not_modified is False
    assert second.content == CAL_CHANGED
    assert second.validators.content_hash != first.validators.content_hash


# --- content_hash --------------------------------------------------------------------


def test_content_hash_ignores_dtstamp_lines_with_lf_crlf_and_folding() -> None:
    assert content_hash(CAL) == content_hash(CAL_RESTAMPED)
    lf, lf_restamped = CAL.replace(b"\r\n", b"\n"), CAL_RESTAMPED.replace(b"\r\n", b"\n")
    assert content_hash(lf) == content_hash(lf_restamped)
    assert content_hash(CAL) != content_hash(CAL_CHANGED)
    # the folded continuation belongs to DTSTAMP; the next property is kept
    assert content_hash(b"A\nDTSTAMP:1\n 2\nB\n") == content_hash(b"A\nB\n")
    assert content_hash(b"A\nDTSTAMP:1\n 2\nB\n") != content_hash(b"A\n")
    # a DTSTAMP on the very first line, and one without a final newline
    assert content_hash(b"DTSTAMP:1\r\nA\r\n") == content_hash(b"DTSTAMP:2\r\nA\r\n")
    assert content_hash(b"A\nDTSTAMP:1") == content_hash(b"A\nDTSTAMP:22")
    # other properties that merely start with the same letters are kept
    assert content_hash(b"A\nDTSTAMPX:1\n") != content_hash(b"A\nDTSTAMPX:2\n")


def test_content_hash_of_10_mb_is_fast() -> None:
    event = (
        b"BEGIN:VEVENT\r\nUID:%d@test\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240102T100000Z\r\n"
        b"SUMMARY:a one-on-one with a longer summary text\r\nDESCRIPTION:lorem ipsum dolor\r\n"
        b" sit amet\r\nEND:VEVENT\r\n"
    )
    data = (
        b"BEGIN:VCALENDAR\r\n" + b"".join(event % i for i in range(60_000)) + b"END:VCALENDAR\r\n"
    )
    assert len(data) > 10_000_000
    start = time.perf_counter()
    content_hash(data)
    # well under 100 ms on a laptop; the margin keeps a loaded CI machine green
    assert time.perf_counter() - start < 0.5


# --- HTTP failures -------------------------------------------------------------------


def test_429_says_rate_limited_and_will_retry(server: FeedServer) -> None:
    server.routes["/cal.ics"] = Reply(
        status=429, body=b"slow down", headers={"Retry-After": "3600"}
    )
    err = fetch_error(server.url("/cal.ics"))
    assert err.reason == "HTTP 429 Too Many Requests"
    assert "rate-limit" in err.hint
    assert "retry later" in err.hint


def test_500_reports_the_status(server: FeedServer) -> None:
    server.routes["/cal.ics"] = Reply(status=500, body=b"oops")
    err = fetch_error(server.url("/cal.ics"))
    assert err.reason == "HTTP 500 Internal Server Error"


@pytest.mark.parametrize(
    ("status", "reason"),
    [(404, "HTTP 404 Not Found"), (401, "HTTP 401 Unauthorized"), (410, "HTTP 410 Gone")],
)
def test_gone_link_suggests_the_secret_link_was_reset(
    server: FeedServer, status: int, reason: str
) -> None:
    server.routes["/cal.ics"] = Reply(status=status, body=b"<html>nope</html>")
    err = fetch_error(server.url("/cal.ics"))
    assert err.reason == reason
    assert err.hint == (
        "the secret link may have been reset; copy the current ICS address into the config"
    )


def test_slow_server_times_out_with_the_configured_timeout(server: FeedServer) -> None:
    server.routes["/slow.ics"] = Reply(delay=3.0)
    start = time.monotonic()
    err = fetch_error(server.url("/slow.ics"), timeout=0.3)
    assert time.monotonic() - start < 2.0
    assert err.reason == "timed out after 0.3s"


def test_connection_refused_says_could_not_connect() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    err = fetch_error(f"http://127.0.0.1:{port}/{SECRET}/basic.ics")
    assert err.reason.startswith("could not connect")
    assert "ConnectError" in err.reason
    assert SECRET not in str(err)


def test_html_page_with_html_content_type_is_rejected(server: FeedServer) -> None:
    server.routes["/cal.ics"] = Reply(
        body=b"<p>please log in</p>", headers={"Content-Type": "text/html"}
    )
    err = fetch_error(server.url("/cal.ics"))
    assert err.reason == (
        "the server sent an HTML page instead of a calendar "
        "(an expired or private link usually shows a login page)"
    )


def test_html_page_served_as_text_calendar_is_rejected(server: FeedServer) -> None:
    body = b"\xef\xbb\xbf  \r\n" + HTML.replace(b"<!DOCTYPE", b"<!doctype")
    server.routes["/cal.ics"] = Reply(body=body)
    err = fetch_error(server.url("/cal.ics"))
    assert err.reason.startswith("the server sent an HTML page instead of a calendar")
    server.routes["/cal2.ics"] = Reply(body=b"<HTML><body>Sign in</body></HTML>")
    err = fetch_error(server.url("/cal2.ics"))
    assert err.reason.startswith("the server sent an HTML page instead of a calendar")


def test_calendar_mislabelled_as_html_is_still_accepted(server: FeedServer) -> None:
    server.routes["/cal.ics"] = Reply(headers={"Content-Type": "text/html; charset=utf-8"})
    assert fetch(server.url("/cal.ics")).content == CAL


def test_body_without_begin_vcalendar_is_not_an_icalendar_file(server: FeedServer) -> None:
    server.routes["/cal.ics"] = Reply(body=b"hello world\n", headers={"Content-Type": "text/plain"})
    err = fetch_error(server.url("/cal.ics"))
    assert err.reason == "not an iCalendar file"
    server.routes["/empty.ics"] = Reply(body=b"")
    assert fetch_error(server.url("/empty.ics")).reason == "not an iCalendar file"


def test_connection_closed_before_content_length_is_truncated(server: FeedServer) -> None:
    server.routes["/cal.ics"] = Reply(body=CAL[:100], content_length=len(CAL))
    err = fetch_error(server.url("/cal.ics"))
    assert err.reason == "the feed was cut off (truncated download)"


def test_body_missing_end_vcalendar_is_truncated(server: FeedServer) -> None:
    cut = CAL[: CAL.rindex(b"END:VCALENDAR")]
    server.routes["/cal.ics"] = Reply(body=cut)  # correct Content-Length, no final line
    assert fetch_error(server.url("/cal.ics")).reason == "the feed was cut off (truncated download)"
    server.routes["/nolen.ics"] = Reply(body=cut, content_length=None)
    assert (
        fetch_error(server.url("/nolen.ics")).reason == "the feed was cut off (truncated download)"
    )


def test_trailing_whitespace_after_end_vcalendar_is_fine(server: FeedServer) -> None:
    server.routes["/cal.ics"] = Reply(body=CAL.replace(b"\r\n", b"\n") + b"\n\n  ")
    assert fetch(server.url("/cal.ics")).content is not None


def test_declared_content_length_over_the_cap_is_refused_up_front(server: FeedServer) -> None:
    # The body sent is small: only the up-front check can produce "larger than".
    server.routes["/big.ics"] = Reply(body=CAL, content_length=50_000)
    err = fetch_error(server.url("/big.ics"), max_bytes=1000)
    assert err.reason == "feed is larger than the 1000 bytes limit"


def test_streamed_body_over_the_cap_is_aborted(server: FeedServer) -> None:
    big = CAL.replace(b"END:VCALENDAR", b"X-PAD:" + b"x" * 5000 + b"\r\nEND:VCALENDAR")
    server.routes["/big.ics"] = Reply(body=big, content_length=None)
    err = fetch_error(server.url("/big.ics"), max_bytes=1000)
    assert err.reason == "feed is larger than the 1000 bytes limit"


def test_default_cap_is_described_in_mb(tmp_path) -> None:
    path = tmp_path / "huge.ics"
    path.write_bytes(b"x" * (20 * 1024 * 1024 + 1))
    err = fetch_error(str(path))
    assert err.reason == "feed is larger than the 20 MB limit"


def test_redirect_is_followed(server: FeedServer) -> None:
    server.routes["/old.ics"] = Reply(status=302, body=b"", headers={"Location": "/new.ics"})
    server.routes["/new.ics"] = Reply()
    assert fetch(server.url("/old.ics")).content == CAL


def test_five_redirects_are_followed_but_a_loop_is_refused(server: FeedServer) -> None:
    for i in range(5):
        server.routes[f"/hop{i}.ics"] = Reply(
            status=301, body=b"", headers={"Location": f"/hop{i + 1}.ics"}
        )
    server.routes["/hop5.ics"] = Reply()
    assert fetch(server.url("/hop0.ics")).content == CAL

    server.routes["/loop.ics"] = Reply(status=302, body=b"", headers={"Location": "/loop.ics"})
    err = fetch_error(server.url("/loop.ics"))
    assert err.reason == "too many redirects"
    assert len([p for p, _ in server.requests if p == "/loop.ics"]) == 6


def test_given_client_is_used_and_redirect_cap_still_applies(server: FeedServer) -> None:
    import httpx

    server.routes["/loop.ics"] = Reply(status=302, body=b"", headers={"Location": "/loop.ics"})
    server.routes["/cal.ics"] = Reply()
    with httpx.Client(max_redirects=50) as client:
        assert fetch(server.url("/cal.ics"), client=client).content == CAL
        assert fetch_error(server.url("/loop.ics"), client=client).reason == "too many redirects"
        assert not client.is_closed


def test_redirect_from_https_to_plain_http_is_refused_before_anything_is_sent_in_clear(
        pki, server: FeedServer) -> None:
    """A TLS feed server (the test CA) whose address moved to a plain-http feed server:
    the fetcher refuses to follow, and the plain server is never asked."""
    import ssl

    import httpx

    server.routes["/cal.ics"] = Reply()
    trusting = ssl.create_default_context(cafile=str(pki.ca_file))
    with serving(pki.server_context()) as tls, httpx.Client(verify=trusting) as client:
        tls.routes["/moved.ics"] = Reply(status=301, body=b"",
                                         headers={"Location": server.url("/cal.ics")})
        tls.routes["/hop.ics"] = Reply(status=302, body=b"", headers={"Location": "/moved.ics"})
        tls.routes["/cal.ics"] = Reply()
        assert tls.url("/cal.ics").startswith("https://127.0.0.1:")
        assert fetch(tls.url("/cal.ics"), client=client).content == CAL  # TLS itself works

        for path in ("/moved.ics", "/hop.ics"):
            err = fetch_error(tls.url(path), client=client)
            assert err.reason == (
                "its https address redirects to plain http, which is refused (the feed "
                "would travel unencrypted): use the calendar's https address")
            assert "'work'" in err.hint and "https://" in err.hint
            assert "\n" not in str(err) and str(server.port) not in str(err) + err.hint
    assert server.requests == []


def test_redirect_from_http_to_https_is_followed(pki, server: FeedServer) -> None:
    import ssl

    import httpx

    trusting = ssl.create_default_context(cafile=str(pki.ca_file))
    with serving(pki.server_context()) as tls, httpx.Client(verify=trusting) as client:
        tls.routes["/cal.ics"] = Reply()
        server.routes["/old.ics"] = Reply(status=301, body=b"",
                                          headers={"Location": tls.url("/cal.ics")})
        assert fetch(server.url("/old.ics"), client=client).content == CAL


# --- URLs, local files ---------------------------------------------------------------


def test_webcal_urls_mean_https() -> None:
    assert normalize_url("webcal://example.com/a/b.ics?x=1") == "https://example.com/a/b.ics?x=1"
    assert normalize_url("webcals://example.com/b.ics") == "https://example.com/b.ics"
    assert normalize_url("WEBCAL://example.com/b.ics") == "https://example.com/b.ics"
    assert normalize_url("  https://example.com/b.ics\n") == "https://example.com/b.ics"
    assert normalize_url("http://example.com/b.ics") == "http://example.com/b.ics"
    assert normalize_url("/home/me/cal.ics") == "/home/me/cal.ics"


def test_url_fingerprint_keeps_host_and_hides_the_secret() -> None:
    url = f"https://calendar.google.com/calendar/ical/{SECRET}/basic.ics"
    fp = url_fingerprint(url)
    assert fp.startswith("https://calendar.google.com/…#")
    assert len(fp.rsplit("#", 1)[1]) == 6
    assert SECRET not in fp
    assert url_fingerprint("https://user:pw@example.com:8443/x").startswith(
        "https://example.com:8443/…#"
    )
    assert url_fingerprint(f"/home/me/{SECRET}.ics").startswith("file:…#")
    assert url_fingerprint(f"file:///home/me/{SECRET}.ics").startswith("file:…#")
    assert url_fingerprint(url) != url_fingerprint(url + "x")


def test_local_path_and_file_url_are_read(tmp_path) -> None:
    path = tmp_path / "my cal.ics"
    path.write_bytes(CAL)
    by_path = fetch(str(path))
    assert by_path.content == CAL
    assert by_path.validators.content_hash == content_hash(CAL)
    by_url = fetch(path.as_uri())
    assert by_url.content == CAL
    again = fetch(str(path), previous=by_path.validators)
    assert again.not_modified is True
    assert again.content is None


def test_missing_local_file_names_the_problem(tmp_path) -> None:
    err = fetch_error(str(tmp_path / "gone.ics"))
    assert "No such file or directory" in err.reason
    assert err.hint == "check the url of source 'work' in the config"
    err = fetch_error((tmp_path / "gone.ics").as_uri())
    assert "No such file or directory" in err.reason
    assert "Is a directory" in fetch_error(str(tmp_path)).reason


def test_local_file_gets_the_same_content_checks(tmp_path) -> None:
    path = tmp_path / "page.ics"
    path.write_bytes(HTML)
    assert fetch_error(str(path)).reason.startswith("the server sent an HTML page")


def test_truncated_local_file_gets_no_network_hint(tmp_path) -> None:
    path = tmp_path / "cut.ics"
    path.write_bytes(CAL[:200])
    err = fetch_error(str(path))
    assert err.reason == "the local file is incomplete (it ends before END:VCALENDAR)"
    assert "download" not in err.hint and "connection" not in err.hint


def test_unsupported_scheme_is_refused() -> None:
    err = fetch_error(f"ftp://example.com/{SECRET}.ics")
    assert err.reason == "unsupported URL scheme 'ftp'"
    assert SECRET not in str(err)


# --- secrets -------------------------------------------------------------------------


def test_errors_and_debug_logs_never_contain_the_secret_part_of_the_url(
    server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    base = f"/{SECRET}"
    server.routes[f"{base}/basic.ics"] = Reply(etag='"e"')
    server.routes[f"{base}/moved.ics"] = Reply(
        status=302, body=b"", headers={"Location": f"{base}/basic.ics"}
    )
    server.routes[f"{base}/404.ics"] = Reply(status=404, body=f"{base} not found".encode())
    server.routes[f"{base}/500.ics"] = Reply(status=500)
    server.routes[f"{base}/html.ics"] = Reply(body=HTML)
    server.routes[f"{base}/cut.ics"] = Reply(body=CAL[:50], content_length=len(CAL))
    server.routes[f"{base}/loop.ics"] = Reply(
        status=302, body=b"", headers={"Location": f"{base}/loop.ics"}
    )
    server.routes[f"{base}/slow.ics"] = Reply(delay=2.0)

    ok = fetch(server.url(f"{base}/moved.ics"))
    fetch(server.url(f"{base}/basic.ics"), previous=ok.validators)
    errors = [
        fetch_error(server.url(f"{base}/{name}.ics"))
        for name in ("404", "500", "html", "cut", "loop")
    ]
    errors.append(fetch_error(server.url(f"{base}/slow.ics"), timeout=0.2))
    errors.append(fetch_error(f"webcal://127.0.0.1:1/{SECRET}/basic.ics", timeout=0.5))

    assert len(caplog.records) > 0
    assert "HTTP Request" in caplog.text  # httpx's own line is there, with the URL redacted
    assert SECRET not in caplog.text
    for err in errors:
        assert SECRET not in str(err)
        assert SECRET not in (err.hint or "")
        assert SECRET not in repr(err.args)


def test_trickling_server_hits_the_overall_deadline(server: FeedServer) -> None:
    # Each 64-byte piece arrives well within the per-read timeout, but the whole body
    # would take ~2.6 s, more than 4 x 0.3 s.
    padded = CAL.replace(b"END:VCALENDAR", b"X-PAD:" + b"x" * 3000 + b"\r\nEND:VCALENDAR")
    server.routes["/slow.ics"] = Reply(body=padded, trickle=0.05)
    start = time.monotonic()
    err = fetch_error(server.url("/slow.ics"), timeout=0.3)
    assert "too slow" in err.reason
    assert time.monotonic() - start < 2.5
