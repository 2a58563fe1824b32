"""The Redis connection counts (distributed mode) hold across server processes and leak
nothing: a closed connection gives its slot back at once, a process that dies stops
counting once its entries expire, and the refresh renews live entries without bringing
back released ones. Two stores on one Redis stand for two server processes."""

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from connecthub.infra.redis import KeySpace, connect_redis
from connecthub.streaming.connection_limits import RedisConnections, TooManyConnections
from tests.engines import redis_url

pytestmark = pytest.mark.skipif(
    redis_url() is None,
    reason="needs Redis: TEST_REDIS_URL=redis://127.0.0.1:6379/0 (CI's second pass)",
)

ACCOUNT, TOKEN, OTHER_TOKEN = 1, 10, 11
TTL_MS = 60_000


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    url = redis_url()
    assert url is not None
    client = connect_redis(url)
    yield client
    await client.aclose()


def _stores(redis: Redis) -> tuple[KeySpace, RedisConnections, RedisConnections]:
    keys = KeySpace(f"test-streams-{uuid.uuid4().hex}:")
    return (
        keys,
        RedisConnections(redis, keys, TTL_MS // 1000, per_token=2, per_account=3),
        RedisConnections(redis, keys, TTL_MS // 1000, per_token=2, per_account=3),
    )


async def _age(redis: Redis, keys: KeySpace, member: str) -> None:
    """As if the process holding `member` had stopped refreshing long ago."""
    for key in (keys("streams", "token", TOKEN), keys("streams", "account", ACCOUNT)):
        await redis.zadd(key, {member: 1}, xx=True)


async def test_caps_hold_across_processes_and_closing_frees_a_slot(redis: Redis) -> None:
    _keys, here, there = _stores(redis)
    first = await here.acquire(ACCOUNT, TOKEN)
    await there.acquire(ACCOUNT, TOKEN)
    with pytest.raises(TooManyConnections) as refused:
        await there.acquire(ACCOUNT, TOKEN)
    assert (refused.value.status, refused.value.message) == (
        429,
        "Too many streaming connections for this access token",
    )
    await there.acquire(ACCOUNT, OTHER_TOKEN)
    with pytest.raises(TooManyConnections) as refused:
        await here.acquire(ACCOUNT, OTHER_TOKEN)
    assert refused.value.message == "Too many streaming connections for this account"
    await here.release(first)
    await there.acquire(ACCOUNT, TOKEN)
    await here.stop()
    await there.stop()


async def test_a_dead_process_stops_counting_after_the_ttl(redis: Redis) -> None:
    keys, dead, alive = _stores(redis)
    for _ in range(2):
        lease = await dead.acquire(ACCOUNT, TOKEN)
        await _age(redis, keys, lease.member)
    # The dead process never refreshes nor releases: its entries have expired.
    await alive.acquire(ACCOUNT, TOKEN)
    await alive.acquire(ACCOUNT, TOKEN)
    with pytest.raises(TooManyConnections):
        await alive.acquire(ACCOUNT, TOKEN)
    await alive.stop()


async def test_the_refresh_renews_live_entries_only(redis: Redis) -> None:
    keys, here, _there = _stores(redis)
    kept = await here.acquire(ACCOUNT, TOKEN)
    released = await here.acquire(ACCOUNT, TOKEN)
    await _age(redis, keys, kept.member)
    await here.release(released)
    await here.refresh()
    token_key = keys("streams", "token", TOKEN)
    assert await redis.zscore(token_key, released.member) is None
    score = await redis.zscore(token_key, kept.member)
    assert score is not None
    assert score > 1
    assert await redis.pttl(token_key) > TTL_MS - 10_000
    await here.stop()
    assert await redis.exists(token_key) == 0
