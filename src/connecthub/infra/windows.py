"""Counts over sliding windows: in-process (embedded) or Redis (distributed).

Used by the spam heuristics (detection/spam.py): "how many links has this account posted in
the last hour". Each count is two fixed buckets, the current one and the one before it, and
the estimate weighs the previous bucket by how much of it still lies inside the window (the
usual sliding-window approximation): one key per bucket, no per-event entries, so a burst of
a thousand events costs what one does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

from connecthub.clock import epoch_ms
from connecthub.infra.redis import KeySpace


class WindowCounter(Protocol):
    async def add(self, key: str, amount: int, window_seconds: int) -> float:
        """Count `amount` more events for `key` now; the estimate of the events in the last
        `window_seconds` (this one included)."""
        ...


def _buckets(window_seconds: int) -> tuple[int, float]:
    """The current bucket's number and how far into it we are (0 ≤ f < 1)."""
    window_ms = window_seconds * 1000
    now = epoch_ms()
    return now // window_ms, (now % window_ms) / window_ms


def _estimate(current: int, previous: int, elapsed: float) -> float:
    return current + previous * (1.0 - elapsed)


class MemoryWindowCounter:
    """One process' counts; old buckets are dropped as new ones are made."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._counts: dict[tuple[str, int, int], int] = {}
        self._max_keys = max_keys

    async def add(self, key: str, amount: int, window_seconds: int) -> float:
        bucket, elapsed = _buckets(window_seconds)
        current_key = (key, window_seconds, bucket)
        self._counts[current_key] = self._counts.get(current_key, 0) + amount
        previous = self._counts.get((key, window_seconds, bucket - 1), 0)
        if len(self._counts) > self._max_keys:
            self._forget_before(bucket - 1, window_seconds)
        return _estimate(self._counts[current_key], previous, elapsed)

    def forget_matching(self, matches: Callable[[str], bool]) -> int:
        """Drop the counts of every key that `matches` (an erased account's); how many."""
        doomed = [k for k in self._counts if matches(k[0])]
        for k in doomed:
            del self._counts[k]
        return len(doomed)

    def _forget_before(self, bucket: int, window_seconds: int) -> None:
        stale = [k for k in self._counts if k[1] == window_seconds and k[2] < bucket]
        for k in stale:
            del self._counts[k]
        # Still full (many live keys): drop the oldest insertions, as an LRU would.
        excess = len(self._counts) - self._max_keys
        for k in list(self._counts)[: max(excess, 0)]:
            del self._counts[k]


class RedisWindowCounter:
    """Every process' counts: one INCRBY + EXPIRE + GET round trip per `add`."""

    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys

    async def add(self, key: str, amount: int, window_seconds: int) -> float:
        bucket, elapsed = _buckets(window_seconds)
        current_key = self._keys("window", window_seconds, key, bucket)
        pipe = self._redis.pipeline(transaction=False)
        pipe.incrby(current_key, amount)
        # The bucket is read as "previous" for one more window, then it may go.
        pipe.expire(current_key, math.ceil(window_seconds * 2) + 1)
        pipe.get(self._keys("window", window_seconds, key, bucket - 1))
        current, _, previous = await pipe.execute()
        return _estimate(int(current), int(previous or 0), elapsed)
