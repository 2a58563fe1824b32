"""Home feeds after Redis loses writes (docs/adr/0008-home-feed-repair.md): a feed is stamped
with the Redis instance that built it, so a Redis restarted from a stale snapshot, or empty,
never serves a feed that misses posts; a build whose Redis restarted under it never lands;
a feed without its sentinel is never taken for a whole one.

Each test runs a redis-server of its own on a free port (`own_redis`) and really kills it;
the database is the run's (SQLite, or PostgreSQL with TEST_DATABASE_URL). These tests are
about Redis feeds, so they run them on either database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from connecthub.timelines.feeds import BUILDING, COMPLETE, TRUNCATED, RedisFeedStore
from tests.social_factories import follow, post_status, user_with_token
from tests.support.redis_server import RedisProcess
from tests.timelines.support import feed_members, home_ids, redis_feed, settle

AppFactory = Callable[..., Any]


def restart(redis: RedisProcess, persistence: str) -> None:
    """kill -9, then start again: with `stale-snapshot` Redis loads the snapshot taken
    earlier (`redis.snapshot()`), without it Redis comes back empty."""
    redis.kill()
    if persistence == "none":
        (redis.directory / "dump.rdb").unlink(missing_ok=True)  # type: ignore[operator]
    redis.start()


def store_of(app: Any) -> RedisFeedStore:
    store = redis_feed(app)
    assert store is not None
    return store


@pytest.mark.slow
@pytest.mark.parametrize("persistence", ["stale-snapshot", "none"])
async def test_a_warm_feed_that_redis_lost_posts_from_is_rebuilt_on_its_next_read(
    persistence: str, app_factory: AppFactory, own_redis: RedisProcess
) -> None:
    """The follower's feed is warm and has received a post by fan-out; Redis is killed and
    comes back from a snapshot taken before that post (the feed without it), or empty. The
    next read answers the post, and the feed holds it again."""
    async with app_factory(redis_url=own_redis.url) as (app, client):
        alice, alice_token = await user_with_token(app, "alice")
        bob, bob_token = await user_with_token(app, "bob")
        await follow(app, alice.id, bob.id)
        before = await post_status(client, bob_token, "before the snapshot")
        assert await home_ids(app, client, alice_token) == [before["id"]]  # warm
        own_redis.snapshot()
        after = await post_status(client, bob_token, "after the snapshot")
        assert await home_ids(app, client, alice_token) == [after["id"], before["id"]]
        assert await feed_members(app, alice.id) == [int(before["id"]), int(after["id"])]

        restart(own_redis, persistence)
        if persistence == "stale-snapshot":
            # Warm, and without the post: no push will ever bring it back.
            assert await feed_members(app, alice.id) == [int(before["id"])]
        else:
            assert await store_of(app).state(alice.id) is None

        assert await home_ids(app, client, alice_token) == [after["id"], before["id"]]
        assert await feed_members(app, alice.id) == [int(before["id"]), int(after["id"])]
        state = await store_of(app).state(alice.id)
        assert state is not None
        assert state[1] == COMPLETE
        # A feed rebuilt on this instance is trusted from now on: new posts arrive by push.
        newest = await post_status(client, bob_token, "after the restart")
        assert (await home_ids(app, client, alice_token))[0] == newest["id"]
        assert int(newest["id"]) in (await feed_members(app, alice.id) or [])


@pytest.mark.parametrize("persistence", ["stale-snapshot", "none"])
async def test_a_build_whose_redis_restarted_meanwhile_never_lands(
    persistence: str, app_factory: AppFactory, own_redis: RedisProcess
) -> None:
    """A reader claims a cold feed and queries the database; Redis restarts before the build
    finishes (empty, or from a snapshot taken during the build, claim included). Pushes
    made in between may be missing, so the build writes nothing, and the next read builds
    the feed again."""
    async with app_factory(redis_url=own_redis.url) as (app, client):
        alice, alice_token = await user_with_token(app, "alice")
        bob, bob_token = await user_with_token(app, "bob")
        await follow(app, alice.id, bob.id)
        post = await post_status(client, bob_token, "posted")
        # No job running in the snapshot: restored "running", it would wait for its
        # visibility timeout before running again.
        await settle(app)
        store = store_of(app)
        claim = await store.claim(alice.id)
        assert claim is not None
        assert await store.claim(alice.id) is None  # one builder at a time
        own_redis.snapshot()  # the feed as "building", claim and all
        restart(own_redis, persistence)

        assert not await store.finish(alice.id, claim, [int(post["id"])])
        state = await store.state(alice.id)
        if persistence == "stale-snapshot":
            assert state == (claim, BUILDING)  # restored, half-built: reads go elsewhere
        else:
            assert state is None

        assert await home_ids(app, client, alice_token) == [post["id"]]
        assert await feed_members(app, alice.id) == [int(post["id"])]
        state = await store.state(alice.id)
        assert state is not None
        assert state[0] != claim  # a new build's
        assert state[1] == COMPLETE


async def test_a_feed_without_its_sentinel_is_rebuilt(
    app_factory: AppFactory, own_redis: RedisProcess
) -> None:
    """Entries with no sentinel (written by something other than a finished build) say
    nothing about what the feed holds: the read drops them and rebuilds."""
    async with app_factory(redis_url=own_redis.url) as (app, client):
        alice, alice_token = await user_with_token(app, "alice")
        bob, bob_token = await user_with_token(app, "bob")
        await follow(app, alice.id, bob.id)
        posts = [(await post_status(client, bob_token, f"p{n}"))["id"] for n in range(3)]
        store = store_of(app)
        await store.redis.zadd(store.key(alice.id), {posts[0]: int(posts[0])})
        assert await home_ids(app, client, alice_token) == posts[::-1]
        assert await feed_members(app, alice.id) == sorted(int(i) for i in posts)


async def test_one_push_reaches_every_warm_feed_keeps_the_cap_and_skips_cold_feeds(
    app_factory: AppFactory, own_redis: RedisProcess
) -> None:
    """A chunk of followers takes a status in one call: each warm feed gets it and stays
    within the cap (a complete feed that loses its oldest entry turns truncated), a feed being
    built takes it too, and a cold feed (an inactive account) is not created."""
    async with app_factory(redis_url=own_redis.url, home_feed_max_items=40) as (app, _client):
        store = store_of(app)
        at_cap, roomy, building, cold = 101, 102, 103, 104
        claim = await store.claim(at_cap)
        assert claim is not None
        assert await store.finish(at_cap, claim, list(range(1000, 1039)))  # 39: complete
        claim = await store.claim(roomy)
        assert claim is not None
        assert await store.finish(roomy, claim, [1000, 1001])
        assert await store.claim(building) is not None

        await store.push([at_cap, roomy, building, cold], 2000)
        assert (await feed_members(app, at_cap) or [])[-1] == 2000
        assert len(await feed_members(app, at_cap) or []) == 40
        assert (await store.state(at_cap) or ("", 0))[1] == COMPLETE
        await store.push([at_cap, roomy, building, cold], 2001)

        assert await feed_members(app, at_cap) == [*range(1001, 1039), 2000, 2001]
        assert (await store.state(at_cap) or ("", 0))[1] == TRUNCATED
        assert await feed_members(app, roomy) == [1000, 1001, 2000, 2001]
        assert (await store.state(roomy) or ("", 0))[1] == COMPLETE
        assert await feed_members(app, building) == [2000, 2001]
        assert (await store.state(building) or ("", 0))[1] == BUILDING
        assert await store.state(cold) is None
        await store.push([], 2002)  # nothing to do, no call
