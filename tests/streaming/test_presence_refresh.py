"""The Redis presence store renews every local account's entry, however many there are
(the refresh goes in chunks so it never holds the event loop long)."""

import uuid

import pytest

from connecthub.infra.redis import KeySpace, connect_redis
from connecthub.streaming.presence_store import RedisPresence
from tests.engines import redis_url

ACCOUNTS = 1_234  # more than two refresh chunks


@pytest.mark.skipif(
    redis_url() is None,
    reason="needs Redis: TEST_REDIS_URL=redis://127.0.0.1:6379/0 (CI's second pass)",
)
async def test_a_refresh_renews_every_local_account_in_every_chunk() -> None:
    url = redis_url()
    assert url is not None
    redis = connect_redis(url)
    keys = KeySpace(f"test-presence-{uuid.uuid4().hex}:")
    store = RedisPresence(redis, keys, ttl_seconds=60)
    try:
        for account_id in range(1, ACCOUNTS + 1):
            await store.connected(account_id)
        presence_keys = [keys("presence", str(i)) for i in range(1, ACCOUNTS + 1)]
        # Age every entry as if the last refresh were long ago.
        async with redis.pipeline(transaction=False) as pipe:
            for key in presence_keys:
                pipe.zadd(key, {store._member: 1})
                pipe.pexpire(key, 5_000)
            await pipe.execute()

        await store._refresh()

        async with redis.pipeline(transaction=False) as pipe:
            for key in presence_keys:
                pipe.zscore(key, store._member)
                pipe.pttl(key)
            answers = await pipe.execute()
        scores, ttls = answers[0::2], answers[1::2]
        assert all(score is not None and score > 1 for score in scores)
        assert all(ttl > 50_000 for ttl in ttls)
    finally:
        await store.stop()
        await redis.aclose()
