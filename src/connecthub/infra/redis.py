"""One Redis client per process, shared by the cache, events, jobs and rate limiter."""

from __future__ import annotations

import functools
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.connection import HiredisRespSerializer
from redis.driver_info import DriverInfo
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

POOL_WAIT_SECONDS = 5


def connect_redis(url: str, *, max_connections: int = 100) -> Redis:
    """A client whose pool holds at most `max_connections`; a command that finds them all
    busy waits for one (up to `POOL_WAIT_SECONDS`) instead of failing at once, which is what
    the default pool does, and what 10,000 sockets connecting together ran into."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=POOL_WAIT_SECONDS,
        health_check_interval=15,
        socket_connect_timeout=2,
        socket_timeout=5,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        driver_info=_driver_info(),
    )
    pool.connection_class = _packed_by_hiredis(pool.connection_class)
    return Redis(connection_pool=pool)


@functools.cache
def _driver_info() -> DriverInfo:
    """What each connection tells the server (CLIENT SETINFO), made once: made per
    connection, redis-py reads its own version from the installed package's metadata
    each time (~0.35 ms of CPU per new connection)."""
    return DriverInfo()


class _HiredisPacking:
    """Commands packed by hiredis (C), as redis-py's synchronous client packs them: its
    asyncio connections pack each argument in Python, and a post and its fan-out send ~100
    (docs/benchmarks.md, "Redis commands packed by hiredis")."""

    _serializer = HiredisRespSerializer()

    def pack_command(self, *args: Any) -> list[bytes]:
        packed: list[bytes] = self._serializer.pack(*args)
        return packed


def _packed_by_hiredis(connection_class: type[AbstractConnection]) -> type[AbstractConnection]:
    """The connection class the URL chose (TCP, TLS or a Unix socket), packing with hiredis."""
    return type(connection_class.__name__, (_HiredisPacking, connection_class), {})


class KeySpace:
    """Prefixes every key, so several instances (or test runs) share one Redis safely."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, *parts: str | int) -> str:
        return self.prefix + ":".join(map(str, parts))


def unavailable_reason(exc: BaseException) -> str | None:
    """Why Redis cannot answer now, when `exc` is an outage rather than a bug:
    `pool_exhausted` (every connection of the pool stayed busy for `POOL_WAIT_SECONDS`),
    `unavailable` (refused, reset, timed out, loading its data after a restart, a replica
    that refuses writes after a failover). None otherwise."""
    if isinstance(exc, RedisConnectionError):
        # redis-py's blocking pool says so in these words when no connection came free.
        return "pool_exhausted" if "No connection available" in str(exc) else "unavailable"
    if isinstance(exc, RedisTimeoutError | ReadOnlyError):
        return "unavailable"
    return None
