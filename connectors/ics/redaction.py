"""Keep secret feed URLs out of httpx's and httpcore's own log lines.

Installed when the fetcher is imported, before any request is made.
"""

from __future__ import annotations

import logging
import re
import sys

from daemon.core.redact import url_fingerprint

# httpcore's DEBUG trace prints response headers as a list of byte-string pairs; a
# redirect's Location can carry the secret path. Matches ``(b'Location', b'<value>')``.
_LOCATION_HEADER = re.compile(
    r"""(\(b(['"])(?i:content-location|location)\2,\s*b)(['"])(?:\\.|(?!\3).)*\3"""
)
_HTTPCORE_LOGGERS = (
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


class RedactURLs(logging.Filter):
    """Keep feed URLs out of the HTTP libraries' log records.

    httpx logs every request's full URL at INFO ("HTTP Request: GET <url> ..."): URL
    arguments are replaced by their :func:`url_fingerprint`. httpcore's DEBUG trace
    shows response headers: Location values are blanked out. Never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        httpx = sys.modules.get("httpx")  # no httpx record before httpx is loaded
        if (httpx is not None and isinstance(args, tuple)
                and any(isinstance(a, httpx.URL) for a in args)):
            record.args = tuple(
                url_fingerprint(str(a)) if isinstance(a, httpx.URL) else a for a in args
            )
        if isinstance(record.msg, str) and "ocation" in record.msg:
            record.msg = _LOCATION_HEADER.sub(r"\1\3…\3", record.msg)
        return True


def install_redaction() -> None:
    """Attach the filter to each logger that emits records (filters do not inherit)."""
    for name in ("httpx", *_HTTPCORE_LOGGERS):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactURLs) for f in logger.filters):
            logger.addFilter(RedactURLs())
