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


# Commands as the app sends them: a name with a space in it, keys with non-ASCII text,
# scores as ints and floats, ids past 2**63, raw bytes (a packed payload).
_COMMANDS = [
    ("SET", "feed:é", "value", "EX", 60),
    ("ZADD", "feed:home:1", 1.5, "11", -2, "12", 1e20, "13", 0.1, "14"),
    ("EVALSHA", "abc123", 2, "k1", "k2", 12345678901234567890, b"\x00\xff"),
    ("CONFIG GET", "maxmemory"),
    (b"SET", memoryview(b"abc"), bytearray(b"x")),
]


def test_commands_are_packed_as_redis_py_packs_them() -> None:
    """The client packs commands with hiredis (infra/redis.py): the same bytes as
    redis-py's own packing of each argument, and the same refusal of what it cannot send."""
    from redis.asyncio.connection import Connection
    from redis.exceptions import DataError

    redis = connect_redis("redis://127.0.0.1:1/0")
    ours = redis.connection_pool.connection_class()
    theirs = Connection()
    assert type(ours).pack_command is not Connection.pack_command
    for command in _COMMANDS:
        packed = b"".join(ours.pack_command(*command))
        assert packed == b"".join(bytes(part) for part in theirs.pack_command(*command))
    assert ours.pack_commands(_COMMANDS) == [
        b"".join(bytes(part) for part in theirs.pack_commands(_COMMANDS))
    ]
    for refused in (("SET", "k", True), ("SET", "k", None)):
        with pytest.raises(DataError):
            ours.pack_command(*refused)


@pytest.mark.skipif(redis_url() is None, reason="needs Redis: TEST_REDIS_URL (CI's second pass)")
async def test_a_pipeline_of_mixed_arguments_round_trips() -> None:
    url = redis_url()
    assert url is not None
    redis = connect_redis(url)
    key = f"test:packing:{uuid.uuid4().hex}"
    try:
        pipe = redis.pipeline(transaction=False)
        pipe.zadd(key, {"é": 1.5, "b": 2**53, "c": -3})
        pipe.zrange(key, 0, -1, withscores=True)
        pipe.delete(key)
        _added, members, _deleted = await pipe.execute()
        assert members == [(b"c", -3.0), ("é".encode(), 1.5), (b"b", float(2**53))]
    finally:
        await redis.aclose()
