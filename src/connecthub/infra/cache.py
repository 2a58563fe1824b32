"""Cache for hot objects: in-process (embedded) or Redis (distributed).

Values are bytes; callers serialize. Every entry has a TTL, so a missed invalidation heals.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from redis.asyncio import Redis

from connecthub.clock import monotonic
from connecthub.infra.redis import KeySpace
from connecthub.ops import metrics


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...
    async def add(self, key: str, value: bytes, ttl_seconds: int) -> bool:
        """Set `key` only if it holds nothing; whether it was set."""
        ...

    async def delete(self, *keys: str) -> None: ...
    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Values for `keys`, in order (one round trip)."""
        ...

    async def set_many(self, items: Mapping[str, bytes], ttl_seconds: int) -> None: ...


@functools.cache
def _counter(name: str, result: str) -> Any:
    # The labelled child, looked up once: `labels()` validates its arguments on every call.
    return metrics.CACHE_REQUESTS.labels(cache=name, result=result)


def _record(name: str, hit: bool) -> None:
    _counter(name, "hit" if hit else "miss").inc()


def _record_many(name: str, values: Sequence[object]) -> None:
    # One increment per outcome, not per key: in multi-process mode each is a locked
    # write to a shared file, and a timeline page reads dozens of keys.
    hits = sum(value is not None for value in values)
    if hits:
        _counter(name, "hit").inc(hits)
    if len(values) > hits:
        _counter(name, "miss").inc(len(values) - hits)


class MemoryCache:
    """A bounded LRU with expiry, for one process: at most `max_entries` entries and about
    `max_bytes` of keys and values (the least recently used go first). Expired entries are
    dropped when read and, so that entries nobody reads again do not sit in memory until the
    bounds push them out, by a sweep of the whole cache at most every `SWEEP_SECONDS`."""

    SWEEP_SECONDS = 60.0

    def __init__(self, max_entries: int = 50_000, max_bytes: int = 64 * 2**20) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._swept_at = monotonic()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes_held(self) -> int:
        return self._bytes

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(key) + len(entry[1])

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < monotonic():
            if entry is not None:
                self._drop(key)
            _record("memory", hit=False)
            return None
        self._entries.move_to_end(key)
        _record("memory", hit=True)
        return entry[1]

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        now = monotonic()
        self._drop(key)
        self._entries[key] = (now + ttl_seconds, value)
        self._bytes += len(key) + len(value)
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            oldest, (_, dropped) = self._entries.popitem(last=False)
            self._bytes -= len(oldest) + len(dropped)
        if now - self._swept_at >= self.SWEEP_SECONDS:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        self._swept_at = now
        for key in [key for key, (expires, _) in self._entries.items() if expires < now]:
            self._drop(key)

    async def add(self, key: str, value: bytes, ttl_seconds: int) -> bool:
        entry = self._entries.get(key)
        if entry is not None and entry[0] >= monotonic():
            return False
        await self.set(key, value, ttl_seconds)
        return True

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._drop(key)

    async def delete_matching(self, matches: Callable[[str], bool]) -> int:
        """Drop every entry whose key `matches` (an erased account's); how many."""
        doomed = [key for key in self._entries if matches(key)]
        for key in doomed:
            self._drop(key)
        return len(doomed)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [await self.get(key) for key in keys]

    async def set_many(self, items: Mapping[str, bytes], ttl_seconds: int) -> None:
        for key, value in items.items():
            await self.set(key, value, ttl_seconds)


class RedisCache:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(self._keys("cache", key))
        _record("redis", hit=value is not None)
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        await self._redis.set(self._keys("cache", key), value, ex=ttl_seconds)

    async def add(self, key: str, value: bytes, ttl_seconds: int) -> bool:
        return bool(await self._redis.set(self._keys("cache", key), value, ex=ttl_seconds, nx=True))

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._redis.delete(*(self._keys("cache", key) for key in keys))

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        values = await self._redis.mget([self._keys("cache", key) for key in keys])
        _record_many("redis", values)
        return [value.encode() if isinstance(value, str) else value for value in values]

    async def set_many(self, items: Mapping[str, bytes], ttl_seconds: int) -> None:
        if items:
            pipe = self._redis.pipeline(transaction=False)
            for key, value in items.items():
                pipe.set(self._keys("cache", key), value, ex=ttl_seconds)
            await pipe.execute()
