"""The Redis client's pool under more concurrent commands than it has connections."""

import asyncio
import uuid

import pytest

from connecthub.infra.redis import connect_redis
from tests.engines import redis_url


@pytest.mark.skipif(
    redis_url() is None,
    reason="needs Redis: TEST_REDIS_URL=redis://127.0.0.1:6379/0 (CI's second pass)",
)
async def test_commands_beyond_the_pool_size_wait_for_a_connection_instead_of_failing():
    url = redis_url()
    assert url is not None
    redis = connect_redis(url, max_connections=4)
    key = f"test:pool:{uuid.uuid4().hex}"
    try:
        # Each BLPOP holds its connection for 0.2 s: 24 of them need six turns of 4.
        started = asyncio.get_running_loop().time()
        answers = await asyncio.gather(*(redis.blpop([key], timeout=0.2) for _ in range(24)))
        elapsed = asyncio.get_running_loop().time() - started
        assert answers == [None] * 24
        assert elapsed >= 1.0  # they really queued behind the 4 connections
    finally:
        await redis.aclose()
