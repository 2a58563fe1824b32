"""Cache for hot objects: in-process (embedded) or Redis (distributed).

Values are bytes; callers serialize. Every entry has a TTL, so a missed invalidation heals.

A value made from rows read before a write must not be stored after that write's
invalidation, however slow its reader was: `invalidate` leaves a mark stamped with the
cache's own clock where the value was (read as a miss), `get_many_since` gives the clock
with the values it reads, and `set_many_unless_invalidated` refuses, key by key, a value
whose key was marked at or after the read it was made after. One clock (Redis' `TIME`, or
a count in memory) orders reads and invalidations from every process.
"""

from __future__ import annotations

import functools
import itertools
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

    async def get_many_since(self, keys: Sequence[str]) -> tuple[list[bytes | None], int]:
        """`get_many`, and the cache's clock when it read them (one round trip)."""
        ...

    async def set_many_unless_invalidated(
        self, items: Mapping[str, bytes], ttl_seconds: int, since: int
    ) -> None:
        """Store each item unless its key was invalidated at or after `since` (the clock of
        the read the value was made after)."""
        ...

    async def invalidate(self, keys: Sequence[str], ttl_seconds: int) -> None:
        """Drop `keys`, leaving marks that refuse values made from reads before now for
        `ttl_seconds`."""
        ...


# An invalidated key holds this byte and the clock of its invalidation; no value may start
# with it (every value stored today is JSON, a number or a word).
MARK = b"~"


def _marked_at(value: bytes | None) -> int | None:
    return int(value[1:]) if value is not None and value[:1] == MARK else None


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
        self._ticks = itertools.count(1)

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
        value = self._held(key)
        if value is None or value[:1] == MARK:
            _record("memory", hit=False)
            return None
        self._entries.move_to_end(key)
        _record("memory", hit=True)
        return value

    def _held(self, key: str) -> bytes | None:
        """The unexpired value or mark under `key`."""
        entry = self._entries.get(key)
        if entry is None or entry[0] < monotonic():
            if entry is not None:
                self._drop(key)
            return None
        return entry[1]

    def _clock(self) -> int:
        # A count, not a time: one process's reads and invalidations, in the order they ran.
        return next(self._ticks)

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

    async def get_many_since(self, keys: Sequence[str]) -> tuple[list[bytes | None], int]:
        return [await self.get(key) for key in keys], self._clock()

    async def set_many_unless_invalidated(
        self, items: Mapping[str, bytes], ttl_seconds: int, since: int
    ) -> None:
        for key, value in items.items():
            marked = _marked_at(self._held(key))
            if marked is None or marked < since:
                await self.set(key, value, ttl_seconds)

    async def invalidate(self, keys: Sequence[str], ttl_seconds: int) -> None:
        mark = MARK + str(self._clock()).encode()
        for key in keys:
            await self.set(key, mark, ttl_seconds)


# The cache's clock as one number (microseconds), read by the scripts below.
_CLOCK = "local t = redis.call('TIME') local now = t[1] .. string.format('%06d', t[2]) "
_GET_SINCE = (
    _CLOCK
    + """
local values = redis.call('MGET', unpack(KEYS))
for i, value in ipairs(values) do
  if value and string.byte(value, 1) == 126 then values[i] = false end
end
return {now, values}
"""
)
# ARGV: since, ttl, then one value per key.
_SET_UNLESS_INVALIDATED = """
local since = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local held = redis.call('GET', key)
  if not held or string.byte(held, 1) ~= 126 or tonumber(string.sub(held, 2)) < since then
    redis.call('SET', key, ARGV[i + 2], 'EX', ARGV[2])
  end
end
"""
# A value read in the mark's own microsecond is refused too (`< since` above): that read
# may have come before the write.
_INVALIDATE = (
    _CLOCK
    + """
local mark = '~' .. now
for _, key in ipairs(KEYS) do redis.call('SET', key, mark, 'EX', ARGV[1]) end
"""
)


class RedisCache:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._get_since = redis.register_script(_GET_SINCE)
        self._set_unless_invalidated = redis.register_script(_SET_UNLESS_INVALIDATED)
        self._invalidate = redis.register_script(_INVALIDATE)

    async def get(self, key: str) -> bytes | None:
        value = _unmarked(await self._redis.get(self._keys("cache", key)))
        _record("redis", hit=value is not None)
        return value

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
        values = [_unmarked(value) for value in await self._redis.mget(self._keyed(keys))]
        _record_many("redis", values)
        return values

    def _keyed(self, keys: Sequence[str]) -> list[str]:
        return [self._keys("cache", key) for key in keys]

    async def set_many(self, items: Mapping[str, bytes], ttl_seconds: int) -> None:
        if items:
            pipe = self._redis.pipeline(transaction=False)
            for key, value in items.items():
                pipe.set(self._keys("cache", key), value, ex=ttl_seconds)
            await pipe.execute()

    async def get_many_since(self, keys: Sequence[str]) -> tuple[list[bytes | None], int]:
        if not keys:
            return [], 0
        now, found = await self._get_since(keys=self._keyed(keys))
        values = [_unmarked(value) for value in found]
        _record_many("redis", values)
        return values, int(now)

    async def set_many_unless_invalidated(
        self, items: Mapping[str, bytes], ttl_seconds: int, since: int
    ) -> None:
        if items:
            await self._set_unless_invalidated(
                keys=self._keyed(list(items)), args=[since, ttl_seconds, *items.values()]
            )

    async def invalidate(self, keys: Sequence[str], ttl_seconds: int) -> None:
        if keys:
            await self._invalidate(keys=self._keyed(keys), args=[ttl_seconds])


def _unmarked(value: Any) -> bytes | None:
    """A value read from Redis as bytes, None for a mark (an invalidated key)."""
    value = value.encode() if isinstance(value, str) else value
    return None if value is not None and value[:1] == MARK else value
