"""Secrets out of every text cadenced shows or logs. Pure.

A calendar feed's URL is itself a secret (Google's and Outlook's "secret address"),
and so are tokens, passwords and API keys in an error text or an HTTP dump.
:func:`redact` masks them; :func:`url_fingerprint` is the stand-in a URL becomes,
short enough to tell two feeds apart and revealing nothing. The log handler applies
:func:`redact` to every line; connectors use :func:`url_fingerprint` when they name a
URL themselves.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


def normalize_url(url: str) -> str:
    """Return ``url`` with surrounding whitespace removed and ``webcal://`` /
    ``webcals://`` replaced by ``https://`` (calendar apps' alias for an HTTPS feed).

    Every other URL or path is returned unchanged apart from the whitespace.
    Never raises.
    """
    url = url.strip()
    match = _SCHEME.match(url)
    if match and match.group(1).lower() in ("webcal", "webcals") and url[match.end() :][:2] == "//":
        return "https:" + url[match.end() :]
    return url


def url_fingerprint(url: str) -> str:
    """Return a loggable stand-in for ``url`` that does not reveal its secret parts.

    ``"https://calendar.google.com/…#3fa2c1"``: scheme, host (and port, never user
    info) and the first 6 hex digits of the SHA-256 of the whole URL, enough to tell
    two feeds apart. Local paths and ``file:`` URLs give ``"file:…#3fa2c1"``.
    Never raises.
    """
    url = url.strip()
    digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else ""
    if not match or scheme == "file" or "://" not in url:
        return f"file:…#{digest}"
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return f"{scheme}:…#{digest}"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None:
        host = f"{host}:{port}"
    return f"{scheme}://{host}/…#{digest}"


# Any http(s)/webcal(s) URL, up to white space or a quote.
_URL = re.compile(r"""(?i)(?:https?|webcals?)://[^\s<>"'`]+""")
# What url_fingerprint returns: already safe, left as it is.
_FINGERPRINT = re.compile(r"(?i)[a-z][a-z0-9+.\-]*://[^/\s]*/…#[0-9a-f]{6}")
# User info in a URL of any other scheme: ftp://user:pw@host. (Each pattern starts
# only where a run of its characters starts, so that it stays linear in the text.)
_USERINFO = re.compile(r"""(?i)(?<![a-z0-9+.\-])([a-z][a-z0-9+.\-]*://)[^\s/?#@<>"'`]+@""")
# key=value, key: value, "key": "value", (b'key', b'value') where the key names a secret.
_SECRET_PAIR = re.compile(
    r"""(?ix)
    (?<![\w.\-])
    (?P<key>
        (?=[\w.\-]*?(?:passw(?:or)?d|passphrase|secret|token|api[_\-]?key|authorization|cookie))
        [\w.\-]+
    )
    (?P<sep>['"]?[ \t]*[:=][ \t]*(?:b(?=['"]))?|['"],[ \t]*(?:b(?=['"]))?)
    (?:
        (?P<q>['"])(?:\\.|(?!(?P=q))[^\\\n])*(?P=q)?          # a quoted value
      | (?P<scheme>(?:bearer|basic|digest|negotiate|token)[ \t]+)?
        [^\s,;&'"<>(){}\[\]]+                               # or a bare one
    )
    """
)
# A bearer token on its own.
_BEARER = re.compile(r"(?i)\b(bearer[ \t]+)[\w\-.~+/]+=*")
_TRAILING = ".,;:!?"
_CLOSERS = {")": "(", "]": "[", "}": "{"}

def redact(text: str) -> str:
    """Return ``text`` with every secret masked.

    * each http, https, webcal or webcals URL becomes its
      :func:`url_fingerprint` (``https://host/…#3fa2c1``, the
      same stand-in the fetcher logs); fingerprints are left as they are;
    * user info in a URL of another scheme becomes ``***``;
    * the value of a key naming a secret (``password``, ``token``, ``access_token``,
      ``refresh_token``, ``client_secret``, ``api_key``, ``Authorization``, ``Cookie``,
      ...) after ``=`` or ``:``, quoted or not, becomes ``***`` (an auth scheme such
      as ``Bearer`` stays visible), and so does a ``Bearer`` token on its own.

    Errs on the side of masking too much. Never raises.
    """
    if "://" in text:
        text = _URL.sub(_replace_url, text)
        text = _USERINFO.sub(r"\1***@", text)
    text = _SECRET_PAIR.sub(_replace_pair, text)
    return _BEARER.sub(r"\1***", text)


def _replace_url(match: re.Match[str]) -> str:
    url = match.group(0)
    end = len(url)
    while end and (url[end - 1] in _TRAILING or _unbalanced(url, end)):
        end -= 1
    url, tail = url[:end], url[end:]
    if not url or _FINGERPRINT.fullmatch(url):
        return url + tail
    return url_fingerprint(normalize_url(url)) + tail


def _unbalanced(url: str, end: int) -> bool:
    """Whether ``url[:end]`` ends with a closing bracket it does not open (the URL was
    written in parentheses)."""
    last = url[end - 1]
    opener = _CLOSERS.get(last)
    return opener is not None and url.count(last, 0, end) > url.count(opener, 0, end)


# "the secret: ...", "a token: ...": a word after an article is prose, not a key.
_PROSE = re.compile(r"(?i)\b(?:the|a|an|its|your|their|our|this|that|no|new)[ \t]+$")


def _replace_pair(match: re.Match[str]) -> str:
    head = match.group("key") + match.group("sep")
    bare = not match.group("q") and ":" in match.group("sep")
    if bare and _PROSE.search(match.string, 0, match.start()):
        return match.group(0)
    if match.group("q"):
        return f"{head}{match.group('q')}***{match.group('q')}"
    return f"{head}{match.group('scheme') or ''}***"
