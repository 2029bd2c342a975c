"""A 1:1 document as a safe HTML page.

The Markdown is written by people (and by cadenced), so it is treated as hostile:

1. markdown-it-py in CommonMark mode with ``html`` off: raw HTML in the text is
   shown as text, never passed through. Tables and ``~~strikethrough~~`` are on;
   images are off (``![alt](url)`` shows as ``!`` and a link: no external resource
   is ever loaded).
2. Links are validated while parsing: only ``https://`` and ``mailto:`` targets
   become links; any other link (``javascript:``, ``data:``, ``http:``, relative)
   is shown as the text it was written as.
3. HTML comments (cadenced's hidden markers, ``<!-- cadenced:meeting key=... -->``)
   are removed before the inline text is parsed, so they never reach the page.
4. Task items ``- [ ]`` / ``- [x]`` are shown as ☐ / ☑ (plain text).
5. The HTML that comes out goes through an allowlist sanitizer (:class:`_Sanitizer`,
   built on :mod:`html.parser`): only a few structural tags survive, with no
   attributes but ``a[href]`` (re-checked) and a numeric ``ol[start]``; every
   other tag is dropped with its attributes (its text stays, escaped); the
   content of ``script``/``style``-like elements is dropped altogether.

The page has a small inline style sheet and nothing else: no script, no external
resource (the server's Content-Security-Policy forbids them anyway).
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

__all__ = ["is_safe_href", "page", "render_document", "render_markdown", "sanitize"]

_COMMENT_OPEN = "<!--"
_COMMENT_CLOSE = "-->"
_TASK = re.compile(r"\[([ xX])\](?:[ \t]+|$)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_STYLE = """
:root { color-scheme: light dark; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
       max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
h1, h2, h3 { line-height: 1.25; }
h2 { border-bottom: 1px solid #8884; padding-bottom: .2rem; margin-top: 2rem; }
code, pre { font: .9em ui-monospace, SFMono-Regular, Menlo, monospace; }
pre { padding: .6rem; overflow-x: auto; background: #8881; border-radius: 4px; }
blockquote { margin: 0; padding-left: 1rem; border-left: 3px solid #8886; color: #888; }
table { border-collapse: collapse; }
th, td { border: 1px solid #8886; padding: .2rem .5rem; }
hr { border: 0; border-top: 1px solid #8886; }
li { margin: .15rem 0; }
footer, .muted { color: #888; font-size: .9em; }
""".strip()


def is_safe_href(url: str) -> bool:
    """Only ``https://`` and ``mailto:`` targets may be links."""
    value = url.strip().lower()
    if _CONTROL.search(value) or any(c.isspace() for c in value):
        return False
    return value.startswith("https://") or (value.startswith("mailto:") and len(value) > 7)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})
    md.enable(["table", "strikethrough"])
    md.disable("image")
    md.validateLink = is_safe_href  # type: ignore[method-assign]
    md.core.ruler.before("inline", "cadenced_comments", _strip_comments)
    md.core.ruler.after("inline", "cadenced_tasks", _task_boxes)
    return md


def _strip_comments(state: StateCore) -> None:
    """Remove every closed ``<!-- ... -->`` from the inline text of the document.

    A comment may span several paragraphs (a blank line inside it ends a paragraph
    when raw HTML is off): it is then cut from each of them. An opening ``<!--``
    that is never closed stays as it is (as text), so a stray one cannot hide the
    rest of someone's notes. Paragraphs and headings left empty disappear.
    """
    inline = [t for t in state.tokens if t.type == "inline"]
    i = 0
    while i < len(inline):
        content = inline[i].content
        start = content.find(_COMMENT_OPEN)
        if start < 0:
            i += 1
            continue
        end = content.find(_COMMENT_CLOSE, start + len(_COMMENT_OPEN))
        if end >= 0:
            inline[i].content = _cut(content, start, end + len(_COMMENT_CLOSE))
            continue  # look again: there may be more comments in this text
        # Not closed here: find the close in a following block.
        j = next((k for k in range(i + 1, len(inline))
                  if _COMMENT_CLOSE in inline[k].content), None)
        if j is None:
            # Never closed: leave the rest as it is.
            i += 1
            while i < len(inline):
                _drop_closed_comments(inline[i])
                i += 1
            break
        inline[i].content = content[:start]
        for k in range(i + 1, j):
            inline[k].content = ""
        tail = inline[j].content
        inline[j].content = tail[tail.find(_COMMENT_CLOSE) + len(_COMMENT_CLOSE):]
        i = j
    _hide_empty_blocks(state.tokens)


def _drop_closed_comments(token: Token) -> None:
    content = token.content
    while True:
        start = content.find(_COMMENT_OPEN)
        end = content.find(_COMMENT_CLOSE, start + len(_COMMENT_OPEN)) if start >= 0 else -1
        if end < 0:
            break
        content = _cut(content, start, end + len(_COMMENT_CLOSE))
    token.content = content


def _cut(content: str, start: int, end: int) -> str:
    """``content`` without ``content[start:end]``; a comment on a line of its own
    takes its line break with it."""
    if (start == 0 or content[start - 1] == "\n") and content[end:end + 1] == "\n":
        end += 1
    return content[:start] + content[end:]


def _hide_empty_blocks(tokens: list[Token]) -> None:
    for idx in range(1, len(tokens) - 1):
        token = tokens[idx]
        if token.type != "inline" or token.content.strip():
            continue
        token.content = ""
        before, after = tokens[idx - 1], tokens[idx + 1]
        if before.type in ("paragraph_open", "heading_open") and after.type in (
            "paragraph_close", "heading_close"
        ):
            before.hidden = after.hidden = True


def _task_boxes(state: StateCore) -> None:
    """``- [ ] text`` → ``☐ text``, ``- [x] text`` → ``☑ text``."""
    tokens = state.tokens
    for idx in range(2, len(tokens)):
        token = tokens[idx]
        if (
            token.type != "inline"
            or tokens[idx - 1].type != "paragraph_open"
            or tokens[idx - 2].type != "list_item_open"
            or not token.children
            or token.children[0].type != "text"
        ):
            continue
        first = token.children[0]
        match = _TASK.match(first.content)
        if match:
            box = "☐" if match.group(1) == " " else "☑"
            rest = first.content[match.end():]
            first.content = f"{box} {rest}" if rest or len(token.children) > 1 else box


_MD = _markdown()


def render_markdown(text: str) -> str:
    """The document's body as sanitized HTML (no page around it)."""
    return sanitize(_MD.render(text))


def page(body: str, *, title: str) -> str:
    """A complete HTML page around ``body`` (already safe HTML); ``title`` is text."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="same-origin">\n'
        f"<title>{escape(title)}</title>\n<style>\n{_STYLE}\n</style>\n"
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def render_document(text: str, *, title: str) -> str:
    """A full, self-contained HTML page showing the Markdown ``text``.

    ``title`` is shown as text (escaped) in the page's title.
    """
    return page(f"<main>\n{render_markdown(text)}</main>", title=title)


# --- the sanitizer -------------------------------------------------------------------

_ALLOWED = frozenset({
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "a", "strong", "em",
    "code", "pre", "blockquote", "hr", "br", "table", "thead", "tbody", "tr", "th",
    "td", "del", "s",
})
_VOID = frozenset({"hr", "br"})
# Elements whose content is dropped with them (markdown-it never makes them).
_DROP_CONTENT = frozenset({
    "script", "style", "template", "iframe", "object", "embed", "noscript", "textarea",
    "title", "svg", "math", "select", "xmp", "noembed", "noframes", "plaintext",
})


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[str] = []
        self.skipping: list[str] = []  # open elements whose content is dropped

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipping:
            if tag in _DROP_CONTENT:
                self.skipping.append(tag)
            return
        if tag in _DROP_CONTENT:
            self.skipping.append(tag)
            return
        if tag not in _ALLOWED:
            return
        kept = ""
        if tag == "a":
            href = next((v for k, v in attrs if k == "href"), None)
            if href is None or not is_safe_href(href):
                return  # the link goes, its text stays
            kept = f' href="{escape(href, quote=True)}" rel="noopener noreferrer"'
        elif tag == "ol":
            start = next((v for k, v in attrs if k == "start"), None)
            if start is not None and start.isascii() and start.isdigit() and len(start) < 10:
                kept = f' start="{int(start)}"'
        if tag in _VOID:
            self.out.append(f"<{tag}>")
            return
        self.stack.append(tag)
        self.out.append(f"<{tag}{kept}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            self.handle_starttag(tag, attrs)
        # any other self-closed element is dropped

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return
        if tag not in self.stack:
            return
        while self.stack:
            open_tag = self.stack.pop()
            self.out.append(f"</{open_tag}>")
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(escape(_CONTROL.sub("", data), quote=False))

    # comments, declarations, processing instructions: dropped
    def handle_comment(self, data: str) -> None:
        pass

    def handle_decl(self, decl: str) -> None:
        pass

    def handle_pi(self, data: str) -> None:
        pass

    def unknown_decl(self, data: str) -> None:
        pass

    def result(self) -> str:
        self.close()
        self.out.extend(f"</{tag}>" for tag in reversed(self.stack))
        self.stack.clear()
        return "".join(self.out)


def sanitize(markup: str) -> str:
    """Keep only the allowlisted tags and attributes of ``markup``; escape all text."""
    sanitizer = _Sanitizer()
    sanitizer.feed(markup)
    return sanitizer.result()
