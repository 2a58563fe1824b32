"""Preview cards through the API, on both engines: a status' first link gets its card from
a job (title, description, image through the media pipeline, blurhash), everywhere the
status is shown; cards are shared by URL, follow edits, and are never fetched from an
address the rules refuse."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connecthub.cards.service import fetch_for_status
from tests.cards.origin import Origin, Writer, answer, origin, page, redirect
from tests.media import files
from tests.social_factories import auth, post_status, user_with_token

# The tests poll a status while its card job runs: a poll that rendered the row just
# before the job's commit is refused its store after the job's invalidation (the race ADR
# 0010 names), with no repeated invalidation (tests run with 0).
ALLOW_LOOPBACK = {"preview_card_allowed_hosts": ["127.0.0.1"]}


async def card_of(client: httpx.AsyncClient, status_id: str, seconds: float = 60) -> Any:
    """Poll the status until it carries a card (the job runs after the post's commit)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = await client.get(f"/api/v1/statuses/{status_id}")
        assert response.status_code == 200, response.text
        if response.json()["card"] is not None:
            return response.json()["card"]
        await asyncio.sleep(0.1)
    raise AssertionError(f"status {status_id} got no card")


def held(writer: Writer, gate: asyncio.Event) -> Writer:
    """`writer`, answering only once `gate` is set."""

    async def write(stream: asyncio.StreamWriter) -> None:
        await gate.wait()
        await writer(stream)

    return write


def site_routes(site: Origin, gate: asyncio.Event) -> None:
    image = files.png(800, 600, seed=7)
    site.routes["/page"] = held(
        answer("200 OK", "text/html; charset=utf-8", page("A fine page", "/image.png")), gate
    )
    site.routes["/image.png"] = answer("200 OK", "image/png", image)
    site.routes["/other"] = answer("200 OK", "text/html", page("Another page"))


@pytest.mark.slow
async def test_a_link_gets_its_card_everywhere(app_factory: Callable[..., Any]) -> None:
    gate = asyncio.Event()
    async with origin() as site, app_factory(**ALLOW_LOOPBACK) as (app, client):
        site_routes(site, gate)
        _alice, token = await user_with_token(app, "alice")
        link = site.url("/page")
        status = await post_status(client, token, f"Read this: {link} #news")
        assert status["card"] is None
        # Read (and cached) without its card, then the page answers: the card must show.
        assert (await client.get(f"/api/v1/statuses/{status['id']}")).json()["card"] is None
        gate.set()
        card = await card_of(client, status["id"])

        assert card == {
            "url": link,
            "title": "A fine page",
            "description": "What the page is about.",
            "type": "link",
            "author_name": "Ada Writer",
            "author_url": "",
            "provider_name": "Test Site",
            "provider_url": "",
            "html": "",
            "width": 640,
            "height": 480,
            "image": card["image"],
            "image_description": "A test picture",
            "embed_url": "",
            "blurhash": card["blurhash"],
            "language": "en",
            "published_at": "2026-01-02T03:04:05.000Z",
            "authors": [{"name": "Ada Writer", "url": "", "account": None}],
        }
        assert card["blurhash"]
        served = await client.get(httpx.URL(card["image"]).path)
        assert served.status_code == 200
        assert served.content.startswith(b"\xff\xd8")  # re-encoded by the media pipeline
        assert sorted(path for path, _ in site.requests) == ["/image.png", "/page"]

        reply = await post_status(client, token, "and a reply", in_reply_to_id=status["id"])
        views = {
            "home": (await client.get("/api/v1/timelines/home", headers=auth(token))).json(),
            "public": (await client.get("/api/v1/timelines/public")).json(),
            "tag": (await client.get("/api/v1/timelines/tag/news")).json(),
            "account": (await client.get(f"/api/v1/accounts/{_alice.id}/statuses")).json(),
            "context": (await client.get(f"/api/v1/statuses/{reply['id']}/context")).json()[
                "ancestors"
            ],
        }
        for name, statuses in views.items():
            shown = next(s for s in statuses if s["id"] == status["id"])
            assert shown["card"] == card, name
        deprecated = await client.get(f"/api/v1/statuses/{status['id']}/card")
        assert deprecated.status_code == 200
        assert deprecated.json() == card
        assert (await client.get(f"/api/v1/statuses/{reply['id']}/card")).json() == {}


@pytest.mark.slow
async def test_cards_are_shared_by_url_and_follow_edits(app_factory: Callable[..., Any]) -> None:
    gate = asyncio.Event()
    gate.set()
    async with origin() as site, app_factory(**ALLOW_LOOPBACK) as (app, client):
        site_routes(site, gate)
        _bob, token = await user_with_token(app, "bob")
        first = await post_status(client, token, f"one {site.url('/page')}")
        card = await card_of(client, first["id"])
        fetched = len(site.requests)

        second = await post_status(client, token, f"two {site.url('/page')} again")
        assert await card_of(client, second["id"]) == card
        assert len(site.requests) == fetched  # the card of that URL, not fetched again

        async def edit(text: str) -> Any:
            response = await client.put(
                f"/api/v1/statuses/{second['id']}", headers=auth(token), json={"status": text}
            )
            assert response.status_code == 200, response.text
            return response.json()

        # Same first link: the card stays.
        assert (await edit(f"two, edited {site.url('/page')}"))["card"] == card
        # Another first link: the old card goes at once, the new one comes from a job.
        assert (await edit(f"now {site.url('/other')} and {site.url('/page')}"))["card"] is None
        other = await card_of(client, second["id"])
        assert other["title"] == "Another page"
        assert other["image"] is None
        assert other["blurhash"] is None
        # No link any more: no card.
        assert (await edit("no link"))["card"] is None
        assert (await client.get(f"/api/v1/statuses/{second['id']}")).json()["card"] is None
        # The first status still shows the shared card.
        assert (await client.get(f"/api/v1/statuses/{first['id']}")).json()["card"] == card


async def test_mentions_hashtags_and_own_links_are_not_cards(
    app_factory: Callable[..., Any],
) -> None:
    async with origin() as site, app_factory(**ALLOW_LOOPBACK) as (app, client):
        site.routes["/page"] = answer("200 OK", "text/html", page("A page"))
        _carol, token = await user_with_token(app, "carol")
        await user_with_token(app, "dave")
        settings = app.state.engines.settings
        own = f"{settings.base_url}/@dave"
        status = await post_status(client, token, f"@dave #tag {own} then {site.url('/page')}")
        assert (await card_of(client, status["id"]))["url"] == site.url("/page")


async def ssrf_attempt(app: FastAPI, client: httpx.AsyncClient, token: str, url: str) -> None:
    """Post a link, run its card job to the end, and check that no card came of it."""
    status = await post_status(client, token, f"look {url}")
    await fetch_for_status(app.state.engines, int(status["id"]), url)
    assert (await client.get(f"/api/v1/statuses/{status['id']}")).json()["card"] is None


async def test_no_card_and_no_request_for_forbidden_addresses(
    app_factory: Callable[..., Any],
) -> None:
    """Without the setting, loopback is as forbidden as any private address."""
    async with origin() as site, app_factory() as (app, client):
        site.routes["/page"] = answer("200 OK", "text/html", page("Internal"))
        _eve, token = await user_with_token(app, "eve")
        for url in (
            site.url("/page"),
            site.url("/page", "localhost"),
            site.url("/page", "[::ffff:127.0.0.1]"),
            "http://10.0.0.1/page",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/page",
        ):
            await ssrf_attempt(app, client, token, url)
        assert site.requests == []


async def test_a_redirect_to_loopback_gives_no_card(app_factory: Callable[..., Any]) -> None:
    """An allowed host stands in for a public site that redirects inside: the hop to an
    address the setting does not name is refused, and that address hears nothing."""
    async with (
        origin("127.0.0.2") as inside,
        origin() as public,
        app_factory(**ALLOW_LOOPBACK) as (app, client),
    ):
        inside.routes["/page"] = answer("200 OK", "text/html", page("Internal"))
        public.routes["/go"] = redirect(inside.url("/page"))
        public.routes["/go-name"] = redirect(inside.url("/page", "localhost"))
        _frank, token = await user_with_token(app, "frank")
        await ssrf_attempt(app, client, token, public.url("/go"))
        await ssrf_attempt(app, client, token, public.url("/go-name"))
        # Asked (by the test's run and the server's own job), and refused at the next hop.
        assert {path for path, _ in public.requests} == {"/go", "/go-name"}
        assert inside.requests == []


@pytest.mark.slow
async def test_pages_the_rules_refuse_give_no_card(app_factory: Callable[..., Any]) -> None:
    async with (
        origin() as site,
        app_factory(
            **ALLOW_LOOPBACK, preview_card_timeout_seconds=1, preview_card_max_page_bytes=4096
        ) as (app, client),
    ):
        from tests.cards.origin import streamed

        site.routes["/json"] = answer("200 OK", "application/json", b'{"title": "no"}')
        site.routes["/huge"] = streamed("text/html", b"<p>" + b"x" * 1021, count=16)
        site.routes["/slow"] = streamed("text/html", b"<", count=400, pause=0.05)
        site.routes["/untitled"] = answer("200 OK", "text/html", b"<html><p>no title</p></html>")
        _grace, token = await user_with_token(app, "grace")
        for path in ("/json", "/huge", "/slow", "/untitled"):
            await ssrf_attempt(app, client, token, site.url(path))


async def test_the_card_route_answers_as_the_status_does(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory() as (app, client):
        _henry, token = await user_with_token(app, "henry")
        _ivy, other = await user_with_token(app, "ivy")
        private = await post_status(client, token, "mine", visibility="private")
        path = f"/api/v1/statuses/{private['id']}/card"
        assert (await client.get(path, headers=auth(token))).json() == {}
        assert (await client.get(path, headers=auth(other))).status_code == 404
        assert (await client.get(path)).status_code == 404
        assert (await client.get("/api/v1/statuses/123x/card")).status_code == 404
