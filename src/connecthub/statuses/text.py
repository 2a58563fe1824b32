"""From what an author typed to what clients render: mentions and hashtags found, links
made, the length counted as Mastodon counts it, and the HTML sanitised by an allow-list."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import nh3

from connecthub.instance.limits import CHARACTERS_RESERVED_PER_URL, MAX_URL_CHARACTERS

_URL = r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]"
_MENTION = r"(?<![\w/@.])@(?P<mention>[A-Za-z0-9_]{1,30})(?:@(?P<domain>[\w.-]+\w))?"
_HASHTAG = r"(?<![\w/&#])#(?P<tag>\w{1,128})"
_TOKENS = re.compile(rf"(?P<url>{_URL})|{_MENTION}|{_HASHTAG}")

_ALLOWED_TAGS = {"p", "br", "a", "span"}
_ALLOWED_ATTRIBUTES = {"a": {"href", "rel", "class", "target"}, "span": {"class"}}


@dataclass(frozen=True)
class Parsed:
    """Usernames (lower-cased) mentioned and hashtags used, in order of appearance."""

    mentions: list[str]
    hashtags: list[str]


def _is_tag(name: str) -> bool:
    # `#1` is a number, not a tag, as in Mastodon.
    return any(ch.isalpha() for ch in name)


def _local(domain: str | None, local_domain: str) -> bool:
    return domain is None or domain.lower() == local_domain.lower()


def parse(text: str, local_domain: str) -> Parsed:
    mentions: list[str] = []
    hashtags: list[str] = []
    for match in _TOKENS.finditer(text):
        if match.group("mention") and _local(match.group("domain"), local_domain):
            name = match.group("mention").lower()
            if name not in mentions:
                mentions.append(name)
        elif match.group("tag") and _is_tag(match.group("tag")):
            tag = match.group("tag")
            if tag.lower() not in (t.lower() for t in hashtags):
                hashtags.append(tag)
    return Parsed(mentions=mentions, hashtags=hashtags)


def length(text: str) -> int:
    """Characters as Mastodon counts them: a URL is 23, whatever its length up to
    MAX_URL_CHARACTERS (a longer one counts in full), and a mention's domain is free."""
    total = len(text)
    for match in _TOKENS.finditer(text):
        url = match.group("url")
        if url and len(url) <= MAX_URL_CHARACTERS:
            total += CHARACTERS_RESERVED_PER_URL - len(url)
        elif match.group("domain"):
            total -= len(match.group("domain")) + 1
    return total


def sanitize(markup: str) -> str:
    """The allow-list every status' HTML passes through: no script, style, event handler
    or non-http(s) link survives."""
    return nh3.clean(
        markup,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        link_rel=None,
        url_schemes={"http", "https"},
    )


def render(
    text: str,
    *,
    local_domain: str,
    mention_url: Mapping[str, str],
    tag_url: Callable[[str], str],
) -> str:
    """The status' HTML. `mention_url` maps each mentioned local username (lower-cased)
    that exists to its profile URL; unknown names stay plain text."""

    def token(match: re.Match[str]) -> str:
        if match.group("url"):
            url = html.escape(match.group("url"))
            return f'<a href="{url}" target="_blank" rel="nofollow noopener noreferrer">{url}</a>'
        name = match.group("mention")
        if name:
            profile = mention_url.get(name.lower())
            if profile is None or not _local(match.group("domain"), local_domain):
                return html.escape(match.group(0))
            return (
                f'<span class="h-card"><a href="{html.escape(profile)}" class="u-url mention">'
                f"@<span>{html.escape(name)}</span></a></span>"
            )
        tag = match.group("tag")
        if not _is_tag(tag):
            return html.escape(match.group(0))
        return (
            f'<a href="{html.escape(tag_url(tag))}" class="mention hashtag" rel="tag">'
            f"#<span>{html.escape(tag)}</span></a>"
        )

    def line(raw: str) -> str:
        out: list[str] = []
        position = 0
        for match in _TOKENS.finditer(raw):
            out.append(html.escape(raw[position : match.start()]))
            out.append(token(match))
            position = match.end()
        out.append(html.escape(raw[position:]))
        return "".join(out)

    stripped = text.strip()
    if not stripped:
        return ""
    paragraphs = [p for p in re.split(r"\n\s*\n", stripped) if p.strip()]
    markup = "".join(
        "<p>" + "<br />".join(line(part) for part in paragraph.split("\n")) + "</p>"
        for paragraph in paragraphs
    )
    return sanitize(markup)
