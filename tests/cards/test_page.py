"""Reading a page's metadata (cards/page.py): Open Graph first, then Twitter cards, then
plain HTML; URLs made absolute; a canonical URL only on the page's own host."""

from __future__ import annotations

from datetime import UTC, datetime

from connecthub.cards.page import TITLE_LIMIT, parse_page

BASE = "https://news.example/articles/1?ref=x"


def test_open_graph_wins_and_urls_are_absolute() -> None:
    body = b"""<html lang="de-DE"><head><title>Plain</title>
    <meta property="og:title" content=" The   story ">
    <meta name="twitter:title" content="Twitter title">
    <meta property="og:description" content="OG description">
    <meta property="og:image" content="/img/a.png">
    <meta property="og:url" content="/articles/1">
    <meta property="article:published_time" content="2026-03-04T05:06:07+02:00">
    </head></html>"""
    details = parse_page(body, BASE, "utf-8")
    assert details.title == "The story"
    assert details.description == "OG description"
    assert details.image_url == "https://news.example/img/a.png"
    assert details.url == "https://news.example/articles/1"
    assert details.language == "de"
    assert details.published_at == datetime(2026, 3, 4, 3, 6, 7, tzinfo=UTC)


def test_fallbacks_twitter_then_plain_html() -> None:
    body = b"""<html><head><title> Only a title </title>
    <meta name="description" content="Plain description">
    <meta name="twitter:image" content="https://cdn.example/t.jpg">
    <meta property="og:locale" content="en_GB">
    </head></html>"""
    details = parse_page(body, BASE, None)
    assert details.title == "Only a title"
    assert details.description == "Plain description"
    assert details.image_url == "https://cdn.example/t.jpg"
    assert details.language == "en"
    assert details.url == BASE
    assert details.authors == []


def test_a_canonical_url_on_another_host_is_ignored() -> None:
    """A page may not claim another site's URL (cards are shared by URL)."""
    body = b"""<html><head><title>T</title>
    <link rel="canonical" href="https://victim.example/page">
    <meta property="og:image" content="javascript:alert(1)">
    </head></html>"""
    details = parse_page(body, BASE, None)
    assert details.url == BASE
    assert details.image_url is None


def test_values_are_bounded_and_charsets_honoured() -> None:
    long_title = "x" * (TITLE_LIMIT + 50)
    body = f'<html><head><meta property="og:title" content="{long_title}"></head></html>'
    assert len(parse_page(body.encode(), BASE, None).title) == TITLE_LIMIT
    latin = "<html><head><title>Caf\xe9</title></head></html>".encode("latin-1")
    assert parse_page(latin, BASE, "iso-8859-1").title == "Caf\xe9"
    assert parse_page(b"not html at all", BASE, None).title == ""
