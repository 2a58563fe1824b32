"""What a fetched page says about itself: Open Graph, Twitter card and plain HTML metadata,
read with BeautifulSoup (pure functions of bytes; no network)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup
from bs4.element import Tag

# Bounds on what a page may put in a card (a card is shown in every timeline it reaches).
TITLE_LIMIT = 300
DESCRIPTION_LIMIT = 1000
NAME_LIMIT = 200
_SPACES = re.compile(r"\s+")
_LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}")


@dataclass
class PageDetails:
    url: str  # canonical: og:url or <link rel=canonical> on the page's own host, else the page
    title: str
    description: str
    image_url: str | None
    image_description: str
    provider_name: str
    author_name: str
    author_url: str
    language: str | None
    published_at: datetime | None
    authors: list[dict[str, str]] = field(default_factory=list)


def _clean(value: str | None, limit: int) -> str:
    return _SPACES.sub(" ", value or "").strip()[:limit]


def _http_url(value: str | None, base: str) -> str | None:
    """An absolute http(s) URL from `value` (relative to `base`), or None."""
    if not value:
        return None
    absolute = urljoin(base, value.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return absolute


def _same_host(url: str | None, base: str) -> str | None:
    if url and urlsplit(url).hostname == urlsplit(base).hostname:
        return url
    return None


def _language(value: str | None) -> str | None:
    match = _LANGUAGE.match(value or "")
    return match.group(0).lower() if match else None


def _published(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Meta:
    """The page's <meta> values by property or name (the first of each)."""

    def __init__(self, soup: BeautifulSoup) -> None:
        self.values: dict[str, str] = {}
        for meta in soup.find_all("meta"):
            if not isinstance(meta, Tag):
                continue
            key = meta.get("property") or meta.get("name")
            content = meta.get("content")
            if isinstance(key, str) and isinstance(content, str):
                self.values.setdefault(key.strip().lower(), content)

    def first(self, *keys: str) -> str | None:
        for key in keys:
            value = self.values.get(key)
            if value and value.strip():
                return value
        return None


def _link_href(soup: BeautifulSoup, rel: str) -> str | None:
    for link in soup.find_all("link"):
        if isinstance(link, Tag) and rel in (link.get("rel") or []):
            href = link.get("href")
            return href if isinstance(href, str) else None
    return None


def parse_page(body: bytes, page_url: str, charset: str | None) -> PageDetails:
    soup = BeautifulSoup(body, "html.parser", from_encoding=charset)
    meta = _Meta(soup)
    title_tag = soup.find("title")
    plain_title = title_tag.get_text() if title_tag else None
    canonical = _same_host(
        _http_url(meta.first("og:url") or _link_href(soup, "canonical"), page_url), page_url
    )
    html_tag = soup.find("html")
    lang = html_tag.get("lang") if isinstance(html_tag, Tag) else None
    author_name = _clean(meta.first("author", "article:author", "twitter:creator"), NAME_LIMIT)
    author_url = _http_url(meta.first("article:author"), page_url) or ""
    if author_name.startswith(("http://", "https://")):
        author_name = ""
    return PageDetails(
        url=canonical or page_url,
        title=_clean(meta.first("og:title", "twitter:title") or plain_title, TITLE_LIMIT),
        description=_clean(
            meta.first("og:description", "twitter:description", "description"), DESCRIPTION_LIMIT
        ),
        image_url=_http_url(
            meta.first("og:image:secure_url", "og:image", "og:image:url", "twitter:image"),
            page_url,
        ),
        image_description=_clean(
            meta.first("og:image:alt", "twitter:image:alt"), DESCRIPTION_LIMIT
        ),
        provider_name=_clean(meta.first("og:site_name"), NAME_LIMIT),
        author_name=author_name,
        author_url=author_url,
        language=_language(lang if isinstance(lang, str) else None)
        or _language(meta.first("og:locale")),
        published_at=_published(meta.first("article:published_time", "og:article:published_time")),
        authors=[{"name": author_name, "url": author_url}] if author_name or author_url else [],
    )
