"""The front door and about page: server-rendered HTML, no scripts, under the CSP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.factories import create_user

AppFactory = Callable[..., Any]


async def test_front_door_shows_the_instance_and_the_way_in(app_factory: AppFactory) -> None:
    settings = {
        "instance_title": "Kopi Club",
        "instance_description": "Coffee people of Bandung.",
        "instance_rules": "No spam,Be nice",
    }
    async with app_factory(**settings) as (_, client):
        response = await client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<title>Kopi Club</title>" in page
    assert "Coffee people of Bandung." in page
    assert 'href="/auth/sign_up"' in page
    assert 'href="/auth/sign_in"' in page
    assert 'href="/docs"' in page
    assert "<li>No spam</li>" in page
    assert "<li>Be nice</li>" in page
    assert "<script" not in page
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]


async def test_front_door_escapes_the_settings(app_factory: AppFactory) -> None:
    async with app_factory(instance_title="<b>Bold</b> & co") as (_, client):
        page = (await client.get("/")).text

    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in page
    assert "<b>Bold</b>" not in page


async def test_front_door_without_sign_up_when_closed(app_factory: AppFactory) -> None:
    async with app_factory(registration_mode="closed") as (_, client):
        page = (await client.get("/")).text

    assert "/auth/sign_up" not in page
    assert 'href="/auth/sign_in"' in page
    assert "Sign-ups are closed" in page


async def test_front_door_mentions_review_when_approval_is_required(
    app_factory: AppFactory,
) -> None:
    async with app_factory(registration_mode="approval") as (_, client):
        page = (await client.get("/")).text

    assert 'href="/auth/sign_up"' in page
    assert "reviewed by a moderator" in page


async def test_head_of_the_front_door(client: httpx.AsyncClient) -> None:
    response = await client.head("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "content-security-policy" in response.headers


async def test_about_page_counts_people(app_factory: AppFactory) -> None:
    async with app_factory(instance_stats_cache_seconds=0, instance_title="Kopi Club") as (
        app,
        client,
    ):
        await create_user(app, "alice")
        response = await client.get("/about")

    assert response.status_code == 200
    assert "About Kopi Club" in response.text
    assert "<dt>People</dt><dd>1</dd>" in response.text
    assert "content-security-policy" in response.headers


async def test_static_files(client: httpx.AsyncClient) -> None:
    css = await client.get("/static/site.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "max-age" in css.headers["cache-control"]

    image = await client.get("/static/preview.png")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")


async def test_the_favicon_is_served(client: httpx.AsyncClient) -> None:
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content.startswith(b"\x00\x00\x01\x00")  # an ICO directory
    assert "max-age" in icon.headers["cache-control"]


async def test_unknown_static_files_are_not_found(client: httpx.AsyncClient) -> None:
    for path in ("/static/nope.css", "/static/..%2Fendpoints.py", "/static/templates"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "error" in response.json()


async def test_thumbnail_in_the_instance_document_is_served(client: httpx.AsyncClient) -> None:
    instance = (await client.get("/api/v2/instance")).json()
    urls = [instance["thumbnail"]["url"], *(icon["src"] for icon in instance["icon"])]

    for url in urls:
        response = await client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"] == "image/png"
