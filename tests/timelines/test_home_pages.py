"""Home pages kept in the process that answered them (timelines/home_pages.py): the same
page again costs no round trip, and every change that decides what the page shows reaches it
at once in the process that made the change and, in distributed mode, in every other process
through the entity cache's invalidations."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connecthub.timelines import home_pages
from connecthub.timelines.feeds import RedisFeedStore, feed_store
from connecthub.timelines.models import HOME_KIND
from tests.social_factories import auth, post_status, user_with_token
from tests.statuses.support import suspend
from tests.support.queries import counting_queries
from tests.timelines.support import settle

distributed_only = pytest.mark.skipif(
    not os.environ.get("TEST_REDIS_URL"),
    reason="two processes share invalidations through Redis only (CI's second pass)",
)

Pair = tuple[FastAPI, httpx.AsyncClient]


@pytest.fixture
async def two_processes(app_factory: Callable[..., Any]) -> AsyncIterator[tuple[Pair, Pair]]:
    """Two apps on the same database and Redis: two server processes, as far as the near
    copies and their invalidations go."""
    async with app_factory() as first, app_factory() as second:
        yield first, second


async def page(client: httpx.AsyncClient, token: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/timelines/home", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return list(response.json())


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"timed out waiting for {what}")


async def kept(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    """Read the first page until it is kept (a read that rendered entries afresh is not:
    their copies are held from the read after)."""
    for _ in range(3):
        shown = await page(client, token)
    return shown


async def alice_follows_bob(app: FastAPI, client: httpx.AsyncClient) -> tuple[Any, str, Any, str]:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    followed = await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=auth(alice_token))
    assert followed.json()["following"] is True
    return alice, alice_token, bob, bob_token


async def followed_carol(app: FastAPI, client: httpx.AsyncClient, follower_token: str) -> str:
    """Carol, followed by the holder of `follower_token`: her token."""
    carol, carol_token = await user_with_token(app, "carol")
    await client.post(f"/api/v1/accounts/{carol.id}/follow", headers=auth(follower_token))
    return carol_token


async def test_a_kept_page_is_answered_without_a_round_trip(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _alice, alice_token, _bob, bob_token = await alice_follows_bob(app, client)
    posted = [await post_status(client, bob_token, f"post {n}") for n in range(3)]
    await settle(app)
    first = await kept(client, alice_token)
    assert [s["id"] for s in first] == [p["id"] for p in reversed(posted)]

    # The feed: a Redis script in distributed mode, statements in embedded mode.
    store = feed_store(app.state.engines)
    feed_reads = 0
    if isinstance(store, RedisFeedStore):
        read = store._read

        async def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal feed_reads
            feed_reads += 1
            return await read(*args, **kwargs)

        monkeypatch.setattr(store, "_read", counted)
    with counting_queries(app) as statements:
        again = await client.get("/api/v1/timelines/home", headers=auth(alice_token))
    assert again.json() == first
    assert statements == []
    assert feed_reads == 0
    assert 'rel="next"' in again.headers["link"]  # the Link header as before

    # Another page is not kept yet: it reads the feed.
    with counting_queries(app) as statements:
        older = await page(client, alice_token, max_id=posted[2]["id"])
    assert [s["id"] for s in older] == [posted[1]["id"], posted[0]["id"]]
    assert statements


@distributed_only
async def test_the_viewers_own_actions_reach_a_page_kept_in_another_process(
    two_processes: tuple[Pair, Pair],
) -> None:
    (app, client), (_other_app, other) = two_processes
    _alice, alice_token, _bob, bob_token = await alice_follows_bob(app, client)
    post = await post_status(client, bob_token, "favourite me")
    await settle(app)
    assert (await kept(other, alice_token))[0]["favourited"] is False

    # Favourites and bookmarks write no feed: only the tracked rows can drop the page.
    faved = await client.post(f"/api/v1/statuses/{post['id']}/favourite", headers=auth(alice_token))
    assert faved.status_code == 200
    assert (await page(client, alice_token))[0]["favourited"] is True  # here, at once

    async def favourited_there() -> bool:
        return bool((await page(other, alice_token))[0]["favourited"])

    await eventually(favourited_there, "the other process to drop its page")
    await kept(other, alice_token)
    marked = await client.post(f"/api/v1/statuses/{post['id']}/bookmark", headers=auth(alice_token))
    assert marked.status_code == 200

    async def bookmarked_there() -> bool:
        return bool((await page(other, alice_token))[0]["bookmarked"])

    await eventually(bookmarked_there, "the bookmark on the other process")


async def test_favourites_reach_a_kept_page_at_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, alice_token, _bob, bob_token = await alice_follows_bob(app, client)
    post = await post_status(client, bob_token, "favourite me")
    await settle(app)
    assert (await kept(client, alice_token))[0]["favourited"] is False
    faved = await client.post(f"/api/v1/statuses/{post['id']}/favourite", headers=auth(alice_token))
    assert faved.status_code == 200
    assert (await page(client, alice_token))[0]["favourited"] is True


async def test_an_exclusive_list_hides_its_members_from_a_kept_page_at_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, alice_token, bob, bob_token = await alice_follows_bob(app, client)
    await post_status(client, bob_token, "from bob")
    await settle(app)
    assert len(await kept(client, alice_token)) == 1
    created = await client.post(
        "/api/v1/lists", json={"title": "Bob", "exclusive": True}, headers=auth(alice_token)
    )
    list_id = created.json()["id"]
    added = await client.post(
        f"/api/v1/lists/{list_id}/accounts",
        json={"account_ids": [str(bob.id)]},
        headers=auth(alice_token),
    )
    assert added.status_code == 200, added.text
    assert await page(client, alice_token) == []
    removed = await client.request(
        "DELETE",
        f"/api/v1/lists/{list_id}/accounts",
        json={"account_ids": [str(bob.id)]},
        headers=auth(alice_token),
    )
    assert removed.status_code == 200, removed.text
    assert len(await page(client, alice_token)) == 1


@distributed_only
async def test_blocks_deletions_and_suspensions_reach_kept_pages(
    two_processes: tuple[Pair, Pair],
) -> None:
    (app, client), (_other_app, other) = two_processes
    alice, alice_token, _bob, bob_token = await alice_follows_bob(app, client)
    carol, carol_token = await user_with_token(app, "carol")
    dave, dave_token = await user_with_token(app, "dave")
    for target in (carol, dave):
        await client.post(f"/api/v1/accounts/{target.id}/follow", headers=auth(alice_token))
    from_bob = await post_status(client, bob_token, "bob")
    from_carol = await post_status(client, carol_token, "carol")
    from_dave = await post_status(client, dave_token, "dave")
    await settle(app)

    async def shown(where: httpx.AsyncClient) -> set[str]:
        return {s["id"] for s in await page(where, alice_token)}

    assert await shown(client) == {from_bob["id"], from_carol["id"], from_dave["id"]}
    for where in (client, other):
        await kept(where, alice_token)

    # The author blocks the viewer: the block's row names the viewer as its target.
    blocked = await client.post(f"/api/v1/accounts/{alice.id}/block", headers=auth(bob_token))
    assert blocked.status_code == 200
    assert from_bob["id"] not in await shown(client)

    async def gone_there(status_id: str) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return status_id not in await shown(other)

        return check

    await eventually(await gone_there(from_bob["id"]), "the block on the other process")

    deleted = await client.delete(f"/api/v1/statuses/{from_carol['id']}", headers=auth(carol_token))
    assert deleted.status_code == 200
    assert from_carol["id"] not in await shown(client)
    await eventually(await gone_there(from_carol["id"]), "the deletion on the other process")

    await kept(other, alice_token)
    await suspend(app, dave.id)
    assert await shown(client) == set()
    await eventually(await gone_there(from_dave["id"]), "the suspension on the other process")


async def test_a_post_by_someone_not_on_the_kept_page_reaches_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The fan-out drops the followers' kept pages in both modes (in embedded mode there is
    no feed to write, and the new post's author need not be on the page)."""
    _alice, alice_token, _bob, bob_token = await alice_follows_bob(app, client)
    carol_token = await followed_carol(app, client, alice_token)
    from_bob = await post_status(client, bob_token, "bob")
    await settle(app)
    assert [s["id"] for s in await kept(client, alice_token)] == [from_bob["id"]]
    from_carol = await post_status(client, carol_token, "carol, new here")
    await settle(app)
    shown = [s["id"] for s in await page(client, alice_token)]
    assert shown == [from_carol["id"], from_bob["id"]]


FIRST_PAGE = (None, None, None, 20)  # home_pages' key of the first page


@contextmanager
def busy(app: FastAPI) -> Iterator[None]:
    """The process is rendering `BUSY_RENDERINGS` other viewers' pages meanwhile."""
    making = app.state.engines.db.entity_cache.making
    others = [(HOME_KIND, -n, FIRST_PAGE) for n in range(1, home_pages.BUSY_RENDERINGS + 1)]
    for other in others:
        making[other] = asyncio.Event()
    try:
        yield
    finally:
        for other in others:
            making.pop(other).set()


async def rendered_in_the_background(app: FastAPI) -> None:
    cache = app.state.engines.db.entity_cache
    for _ in range(200):
        if not cache.refreshing:
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the page was not rendered again in the background")


async def test_a_page_only_behind_is_answered_while_it_is_made_again(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """While a read renders a page, the others are answered the page as it was before a
    status reached the home (as if the fan-out had taken that moment longer)."""
    alice, alice_token, _bob, bob_token = await alice_follows_bob(app, client)
    carol_token = await followed_carol(app, client, alice_token)
    from_bob = await post_status(client, bob_token, "bob")
    await settle(app)
    before = await kept(client, alice_token)
    assert [s["id"] for s in before] == [from_bob["id"]]

    cache = app.state.engines.db.entity_cache
    making = (HOME_KIND, alice.id, FIRST_PAGE)
    rendering = cache.making[making] = asyncio.Event()  # a read rendering it meanwhile
    from_carol = await post_status(client, carol_token, "carol")
    await settle(app)
    shown = await asyncio.wait_for(page(client, alice_token), timeout=5)
    assert shown == before  # not a wait for the rendering
    del cache.making[making]
    rendering.set()
    shown = await page(client, alice_token)  # the process is not busy: read afresh
    assert [s["id"] for s in shown] == [from_carol["id"], from_bob["id"]]


async def test_a_busy_process_answers_pages_behind_by_posts_or_counts_and_renders_them_again(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, alice_token, _bob, bob_token = await alice_follows_bob(app, client)
    carol_token = await followed_carol(app, client, alice_token)
    from_bob = await post_status(client, bob_token, "bob")
    await settle(app)
    before = await kept(client, alice_token)
    with busy(app):
        from_carol = await post_status(client, carol_token, "carol")
        faved = await client.post(
            f"/api/v1/statuses/{from_bob['id']}/favourite", headers=auth(carol_token)
        )
        assert faved.status_code == 200
        await settle(app)
        assert await page(client, alice_token) == before  # behind, answered at once
        await rendered_in_the_background(app)
        shown = await page(client, alice_token)  # kept by the background rendering
    assert [s["id"] for s in shown] == [from_carol["id"], from_bob["id"]]
    assert shown[1]["favourites_count"] == 1
    assert shown[1]["account"]["statuses_count"] == 1
    assert shown[0]["account"]["statuses_count"] == 1


async def test_a_busy_process_never_answers_a_page_something_was_removed_from(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, alice_token, _bob, bob_token = await alice_follows_bob(app, client)
    carol_token = await followed_carol(app, client, alice_token)
    from_bob = await post_status(client, bob_token, "bob")
    from_carol = await post_status(client, carol_token, "carol")
    await settle(app)
    await kept(client, alice_token)
    with busy(app):
        await post_status(client, bob_token, "bob again")  # a page only behind, then:
        await settle(app)
        blocked = await client.post(f"/api/v1/accounts/{alice.id}/block", headers=auth(carol_token))
        assert blocked.status_code == 200
        shown = [s["id"] for s in await page(client, alice_token)]
        assert from_carol["id"] not in shown
        assert len(shown) == 2

        await kept(client, alice_token)
        edited = await client.put(
            f"/api/v1/statuses/{from_bob['id']}",
            json={"status": "bob, edited"},
            headers=auth(bob_token),
        )
        assert edited.status_code == 200, edited.text
        shown_bob = [s for s in await page(client, alice_token) if s["id"] == from_bob["id"]]
        assert "edited" in shown_bob[0]["content"]


async def test_a_busy_process_never_answers_a_page_of_a_retired_kind(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A change whose rows could not be named retires every kept page (a new generation of
    the `home` kind): not even a page only behind is answered then."""
    _alice, alice_token, _bob, bob_token = await alice_follows_bob(app, client)
    await post_status(client, bob_token, "bob")
    await settle(app)
    await kept(client, alice_token)
    with busy(app):
        newer = await post_status(client, bob_token, "bob again")  # the page only behind
        await settle(app)
        await app.state.engines.db.entity_cache.retire(HOME_KIND)
        await app.state.engines.db.entity_cache.generation_near(HOME_KIND)  # read again
        shown = [s["id"] for s in await page(client, alice_token)]
    assert shown[0] == newer["id"]
