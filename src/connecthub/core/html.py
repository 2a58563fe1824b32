"""Plain text to safe HTML: the one rule for links, paragraphs and the tag allow-list, used
by statuses (which add mentions and hashtags, `statuses/text.py`) and by profiles (bio and
field values) alike."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import nh3

# A link ends before trailing punctuation: "see https://example.com/a." links ".../a".
URL = r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]"
_URL = re.compile(URL)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")

_ALLOWED_TAGS = {"p", "br", "a", "span"}
_ALLOWED_ATTRIBUTES = {"a": {"href", "rel", "class", "target"}, "span": {"class"}}


def link(url: str) -> str:
    """An external link as clients expect it: new tab, no referrer, no follow."""
    escaped = html.escape(url)
    return f'<a href="{escaped}" target="_blank" rel="nofollow noopener noreferrer">{escaped}</a>'


def sanitize(markup: str) -> str:
    """The allow-list every rendered text passes through: no script, style, event handler
    or non-http(s) link survives."""
    return nh3.clean(
        markup,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        link_rel=None,
        url_schemes={"http", "https"},
    )


def plain_text(markup: str) -> str:
    """The text of sanitised HTML: tags dropped, paragraphs and line breaks as newlines,
    entities decoded (for plain-text uses such as a link preview's description)."""
    spaced = re.sub(r"(?i)<br\s*/?>|</p>", "\n", markup)
    return html.unescape(nh3.clean(spaced, tags=set())).strip()


def paragraphs(text: str, render_line: Callable[[str], str]) -> str:
    """Blank lines make paragraphs, single newlines `<br />`; each raw line is rendered by
    `render_line` (which escapes it) and the whole is sanitised."""
    stripped = text.strip()
    if not stripped:
        return ""
    markup = "".join(
        "<p>" + "<br />".join(render_line(part) for part in paragraph.split("\n")) + "</p>"
        for paragraph in _PARAGRAPH_BREAK.split(stripped)
        if paragraph.strip()
    )
    return sanitize(markup)


def _linked_line(raw: str) -> str:
    out: list[str] = []
    position = 0
    for match in _URL.finditer(raw):
        out.append(html.escape(raw[position : match.start()]))
        out.append(link(match.group(0)))
        position = match.end()
    out.append(html.escape(raw[position:]))
    return "".join(out)


def text_to_html(text: str) -> str:
    """Plain text (a bio, a profile field) to HTML: escaped, links made, paragraphs and
    line breaks kept."""
    return paragraphs(text, _linked_line)


_DOCUMENT_TAGS = _ALLOWED_TAGS | {
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
_DOCUMENT_ATTRIBUTES = {"a": {"href"}}


def markdown_to_html(source: str) -> str:
    """An admin's Markdown (the privacy policy, the terms of service) to safe HTML: raw
    HTML in the source is escaped, images are left out (as Mastodon renders these), and
    the result passes the same kind of allow-list as every other rendered text."""
    from markdown_it import MarkdownIt  # only documents need it: imported when rendered

    renderer = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")
    return nh3.clean(
        renderer.render(source),
        tags=_DOCUMENT_TAGS,
        attributes=_DOCUMENT_ATTRIBUTES,
        link_rel="nofollow noopener noreferrer",
        url_schemes={"http", "https", "mailto"},
    )
