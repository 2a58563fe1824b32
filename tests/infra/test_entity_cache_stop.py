"""The entity cache when its engines stop (infra/entity_cache.EntityCache.stop): the
invalidations under way finish, and nothing is left waiting on engines that are closing."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from connecthub.infra import entity_cache
from connecthub.infra.cache import MemoryCache, RedisCache
from connecthub.infra.entity_cache import EntityCache
from connecthub.infra.redis import KeySpace, connect_redis


def _commit_a_change(cache: EntityCache) -> None:
    """A transaction that changes account 1's entry, committed (its invalidation starts in
    the background, as after a commit nobody settles)."""
    with Session(create_engine("sqlite://")) as session:
        entity_cache.attach(session, cache)
        session.execute(text("SELECT 1"))
        entity_cache.drop_on_commit(session, "account", [1])
        session.commit()


@pytest.mark.slow
async def test_a_retry_waiting_for_redis_is_cancelled_when_the_engines_stop() -> None:
    redis = connect_redis("redis://127.0.0.1:1/0")  # nothing listens: every command fails
    cache = EntityCache(RedisCache(redis, KeySpace("stop-test:")))
    try:
        _commit_a_change(cache)
        assert cache.background
        for _ in range(200):  # the invalidation fails, and its retry starts
            await asyncio.sleep(0.01)
            if len(cache.background) == 1 and cache._retries:
                break
        assert cache._retries, "the failed invalidation left no retry"
        started = time.monotonic()
        await cache.stop()
        # The retry sleeps 0.5 s, then 1, 2, 4, 8 and 16 s between its attempts.
        assert time.monotonic() - started < 0.4
        assert not cache.background
    finally:
        await redis.aclose()


async def test_stopping_lets_an_invalidation_under_way_finish_and_cancels_the_repeats() -> None:
    memory = MemoryCache()
    cache = EntityCache(memory, repeat_seconds=60.0)
    await memory.set(entity_cache._key("account", 1), b"rendered", ttl_seconds=600)
    _commit_a_change(cache)
    assert cache.background
    await asyncio.sleep(0.05)  # the invalidation done: its repeat is due in a minute
    assert cache._repeats
    assert not cache.background
    await memory.set(entity_cache._key("account", 1), b"rendered again", ttl_seconds=600)
    _commit_a_change(cache)  # its invalidation under way as the engines stop
    await cache.stop()
    assert not cache.background
    assert await memory.get(entity_cache._key("account", 1)) is None
    assert not cache._repeats
