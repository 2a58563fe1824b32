"""From what an author typed to what clients render: mentions and hashtags found, links
made, the length counted as Mastodon counts it, and the HTML sanitised by an allow-list."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from connecthub.core.html import URL as _URL
from connecthub.core.html import link, paragraphs
from connecthub.instance.limits import CHARACTERS_RESERVED_PER_URL, MAX_URL_CHARACTERS

_MENTION = r"(?<![\w/@.])@(?P<mention>[A-Za-z0-9_]{1,30})(?:@(?P<domain>[\w.-]+\w))?"
_HASHTAG = r"(?<![\w/&#])#(?P<tag>\w{1,128})"
_TOKENS = re.compile(rf"(?P<url>{_URL})|{_MENTION}|{_HASHTAG}")


@dataclass(frozen=True)
class Parsed:
    """Usernames (lower-cased) mentioned and hashtags used, in order of appearance."""

    mentions: list[str]
    hashtags: list[str]


def _is_tag(name: str) -> bool:
    # `#1` is a number, not a tag, as in Mastodon.
    return any(ch.isalpha() for ch in name)


_TAG_NAME = re.compile(r"\w{1,128}")


def is_hashtag_name(name: str) -> bool:
    """A name a post can tag (`#name`): what `/api/v1/tags/:name` accepts."""
    return _TAG_NAME.fullmatch(name) is not None and _is_tag(name)


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


def link_and_mention_counts(text: str) -> tuple[int, int]:
    """How many links and how many mentions (local or not, repeats counted) the text has:
    what the spam heuristics count (detection/spam.py)."""
    links = mentions = 0
    for match in _TOKENS.finditer(text):
        if match.group("url"):
            links += 1
        elif match.group("mention"):
            mentions += 1
    return links, mentions


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
            return link(match.group("url"))
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

    return paragraphs(text, line)


def preview_link(text: str, local_domain: str) -> str | None:
    """The link a status' preview card is made from, as Mastodon picks it: the first
    http(s) link of the text (a mention or a hashtag is not a link) to another host than
    this server."""
    for match in _TOKENS.finditer(text):
        url = match.group("url")
        if not url:
            continue
        host = urlsplit(url).netloc.rpartition("@")[2].lower()
        if host and host != local_domain.lower():
            return url
    return None
