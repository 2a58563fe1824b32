"""Fan-out on write (Redis feeds) and what both engines share: a heavy-tail account's post
reaches every follower, a cold feed is rebuilt, a repeated fan-out job changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from connecthub.infra.jobs import HANDLERS, JobContext
from connecthub.timelines.models import HOME_KIND
from tests.social_factories import auth, follow, post_status, user_with_token
from tests.timelines.support import feed_members, home_ids, redis_feed, settle


async def test_heavy_tail_post_reaches_every_follower_in_chunks(app_factory: Any) -> None:
    # Chunks of 3 followers: 10 followers take four chained chunk jobs.
    async with app_factory(HOME_FAN_OUT_BATCH=3) as (app, client):
        star, star_token = await user_with_token(app, "star")
        fans = [await user_with_token(app, f"fan{n}") for n in range(10)]
        for fan, token in fans:
            await follow(app, fan.id, star.id)
            await home_ids(app, client, token)  # every fan is active: a warm feed
        post = await post_status(client, star_token, "to all of you")
        await settle(app)
        for fan, token in fans:
            if redis_feed(app) is not None:
                assert await feed_members(app, fan.id) == [int(post["id"])]
            assert await home_ids(app, client, token) == [post["id"]]


async def test_a_cold_feed_is_rebuilt_from_the_database(app: FastAPI, client: Any) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    await follow(app, alice.id, bob.id)
    posts = [(await post_status(client, bob_token, f"p{n}"))["id"] for n in range(5)]
    own = (await post_status(client, alice_token, "mine"))["id"]
    expected = [own, *posts[::-1]]
    assert await home_ids(app, client, alice_token) == expected  # first read: cold
    store = redis_feed(app)
    if store is not None:
        assert await feed_members(app, alice.id) == sorted(int(i) for i in expected)
        await store.redis.delete(store.key(alice.id))  # expired, or Redis lost it
        assert await feed_members(app, alice.id) == []
        # A page kept in the process would answer until it expires (a lost Redis also
        # reconnects the bus, which retires every copy kept near).
        await app.state.engines.db.entity_cache.drop_near(HOME_KIND, [alice.id])
    assert await home_ids(app, client, alice_token) == expected
    if store is not None:
        assert await feed_members(app, alice.id) == sorted(int(i) for i in expected)
        assert await store.redis.ttl(store.key(alice.id)) > 86400  # kept alive by reads


async def test_fan_out_job_is_idempotent(app: FastAPI, client: Any) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    await follow(app, alice.id, bob.id)
    await home_ids(app, client, alice_token)
    post = await post_status(client, bob_token, "once")
    await settle(app)
    before = await feed_members(app, alice.id)
    context = JobContext(engines=app.state.engines, job_id="again", attempt=2)
    await HANDLERS["timelines.fan_out"](context, {"status_id": int(post["id"])})
    await HANDLERS["timelines.fan_out"](context, {"status_id": int(post["id"])})
    assert await feed_members(app, alice.id) == before
    assert await home_ids(app, client, alice_token) == [post["id"]]


async def test_deleted_and_unfollowed_posts_leave_the_feed(app: FastAPI, client: Any) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=auth(alice_token))
    await client.post(f"/api/v1/accounts/{carol.id}/follow", headers=auth(alice_token))
    await home_ids(app, client, alice_token)
    kept = await post_status(client, bob_token, "kept")
    gone = await post_status(client, bob_token, "deleted soon")
    from_carol = await post_status(client, carol_token, "carol")
    await settle(app)
    await client.delete(f"/api/v1/statuses/{gone['id']}", headers=auth(bob_token))
    await client.post(f"/api/v1/accounts/{carol.id}/unfollow", headers=auth(alice_token))
    assert await home_ids(app, client, alice_token) == [kept["id"]]
    if redis_feed(app) is not None:
        assert await feed_members(app, alice.id) == [int(kept["id"])]
    # Following again brings the account's recent posts back (merge).
    await client.post(f"/api/v1/accounts/{carol.id}/follow", headers=auth(alice_token))
    assert await home_ids(app, client, alice_token) == [from_carol["id"], kept["id"]]
    if redis_feed(app) is not None:
        assert await feed_members(app, alice.id) == sorted([int(kept["id"]), int(from_carol["id"])])


@pytest.mark.slow
async def test_a_feed_keeps_its_cap_and_older_pages_come_from_the_database(
    app_factory: Any,
) -> None:
    async with app_factory(HOME_FEED_MAX_ITEMS=40) as (app, client):
        alice, alice_token = await user_with_token(app, "alice")
        await home_ids(app, client, alice_token)
        posted = [(await post_status(client, alice_token, f"n{n}"))["id"] for n in range(50)]
        newest_first = posted[::-1]
        await settle(app)
        if redis_feed(app) is not None:
            held = await feed_members(app, alice.id)
            assert held == sorted(int(i) for i in posted[10:])
        first = await home_ids(app, client, alice_token, limit=30)
        assert first == newest_first[:30]
        rest = await home_ids(app, client, alice_token, max_id=first[-1], limit=40)
        assert rest == newest_first[30:]
        oldest = await home_ids(app, client, alice_token, min_id=posted[2], limit=3)
        assert oldest == [posted[5], posted[4], posted[3]]
