"""Feed addresses: which kind of address a source's ``url`` is, and what it may say.

``url`` is a filesystem path or a ``file://``, ``http(s)://`` or ``webcal(s)://``
address (:func:`~daemon.core.redact.normalize_url` turns ``webcal`` into ``http``).
Nothing here puts an address into a message: a secret feed URL is a credential.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

from daemon.core.errors import SourceError

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


def scheme_of(url: str) -> tuple[str, bool]:
    """The lowercase scheme of ``url`` ("" for none) and whether it has one at all."""
    match = _SCHEME.match(url)
    return (match.group(1).lower() if match else ""), match is not None


def unsupported_scheme(source: str, scheme: str) -> SourceError:
    return SourceError(
        source,
        f"unsupported URL scheme {scheme!r}",
        hint=f"use an https://, webcal:// or file:// address for source {source!r}",
    )


def file_url_path(url: str, source: str) -> Path:
    """The local path a ``file://`` URL names (on this host only)."""
    parts = urllib.parse.urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise SourceError(
            source,
            "file:// URLs naming another host are not supported",
            hint=check_url_hint(source),
        )
    from urllib.request import url2pathname  # file:// only: it loads http.client, email

    return Path(url2pathname(parts.path))


def check_url_hint(source: str) -> str:
    return f"check the url of source {source!r} in the config"
