"""Who is connected, counted per account across every connection of the deployment: the
one module where the embedded and distributed engines differ for presence and typing.

- in-process: plain counters in this process (embedded mode has one process);
- Redis: one sorted set per account whose members are the server processes holding a
  connection of it, scored by an expiry that each process refreshes every TTL/3. A process
  that crashes stops refreshing, so its connections expire after the TTL on their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from connecthub import clock
from connecthub.core.tasks import cancel_and_wait
from connecthub.infra.engines import Engines
from connecthub.infra.redis import KeySpace

log = structlog.get_logger(__name__)


class PresenceStore(Protocol):
    async def connected(self, account_id: int) -> bool:
        """Count one more connection; True when the account just came online."""

    async def disconnected(self, account_id: int) -> bool:
        """Count one connection less; True when the account just went offline."""

    async def online(self, account_ids: list[int]) -> set[int]: ...

    async def start_typing(self, account_id: int, conversation_id: int, seconds: int) -> None: ...

    async def take_typing(self, account_id: int) -> list[int]:
        """Conversations the account is still typing in (forgotten as they are returned)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class InProcessPresence:
    def __init__(self) -> None:
        self._counts: defaultdict[int, int] = defaultdict(int)
        self._typing: defaultdict[int, dict[int, float]] = defaultdict(dict)

    async def connected(self, account_id: int) -> bool:
        self._counts[account_id] += 1
        return self._counts[account_id] == 1

    async def disconnected(self, account_id: int) -> bool:
        if self._counts.get(account_id, 0) <= 0:
            return False
        self._counts[account_id] -= 1
        if self._counts[account_id] == 0:
            del self._counts[account_id]
            return True
        return False

    async def online(self, account_ids: list[int]) -> set[int]:
        return {a for a in account_ids if self._counts.get(a, 0) > 0}

    async def start_typing(self, account_id: int, conversation_id: int, seconds: int) -> None:
        self._typing[account_id][conversation_id] = clock.monotonic() + seconds

    async def take_typing(self, account_id: int) -> list[int]:
        now = clock.monotonic()
        live = self._typing.pop(account_id, {})
        return [conversation for conversation, until in live.items() if until > now]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._counts.clear()
        self._typing.clear()


# Accounts per refresh pipeline: small enough that building one never holds the loop long.
_REFRESH_CHUNK = 500

# KEYS[1] presence set; ARGV: member, expiry (ms), now (ms), ttl (ms). Returns live members.
_JOIN = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return redis.call('ZCARD', KEYS[1])
"""
_LEAVE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
return redis.call('ZCARD', KEYS[1])
"""


class RedisPresence:
    def __init__(self, redis: Redis, keys: KeySpace, ttl_seconds: int) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl_ms = ttl_seconds * 1000
        self._member = uuid.uuid4().hex  # this server process
        self._local: defaultdict[int, int] = defaultdict(int)
        self._refresher: asyncio.Task[None] | None = None
        self._join = redis.register_script(_JOIN)
        self._leave = redis.register_script(_LEAVE)

    def _key(self, account_id: int) -> str:
        return self._keys("presence", str(account_id))

    def _typing_key(self, account_id: int) -> str:
        return self._keys("typing", str(account_id))

    @staticmethod
    def _now_ms() -> int:
        return clock.epoch_ms()

    async def connected(self, account_id: int) -> bool:
        self._local[account_id] += 1
        if self._local[account_id] > 1:
            return False
        now = self._now_ms()
        live = await self._join(
            keys=[self._key(account_id)],
            args=[self._member, now + self._ttl_ms, now, self._ttl_ms],
        )
        return int(live) == 1

    async def disconnected(self, account_id: int) -> bool:
        if self._local.get(account_id, 0) <= 0:
            return False
        self._local[account_id] -= 1
        if self._local[account_id] > 0:
            return False
        del self._local[account_id]
        live = await self._leave(keys=[self._key(account_id)], args=[self._member, self._now_ms()])
        return int(live) == 0

    async def online(self, account_ids: list[int]) -> set[int]:
        if not account_ids:
            return set()
        now = self._now_ms()
        async with self._redis.pipeline(transaction=False) as pipe:
            for account_id in account_ids:
                pipe.zcount(self._key(account_id), now + 1, "+inf")
            counts = await pipe.execute()
        return {a for a, n in zip(account_ids, counts, strict=True) if int(n) > 0}

    async def start_typing(self, account_id: int, conversation_id: int, seconds: int) -> None:
        key = self._typing_key(account_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, str(conversation_id), self._now_ms() + seconds * 1000)
            pipe.pexpire(key, seconds * 1000)
            await pipe.execute()

    async def take_typing(self, account_id: int) -> list[int]:
        key = self._typing_key(account_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.delete(key)
            entries, _ = await pipe.execute()
        now = self._now_ms()
        return [int(c) for c, until in entries.items() if int(until) > now]

    async def start(self) -> None:
        self._refresher = asyncio.create_task(self._refresh_forever(), name="presence-refresh")

    async def stop(self) -> None:
        if self._refresher is not None:
            await cancel_and_wait(self._refresher)
        # Leave cleanly rather than wait for the TTL.
        with contextlib.suppress(RedisError, OSError):
            async with self._redis.pipeline(transaction=False) as pipe:
                for account_id in self._local:
                    pipe.zrem(self._key(account_id), self._member)
                await pipe.execute()
        self._local.clear()

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            try:
                await self._refresh()
            except (RedisError, OSError) as exc:
                log.warning("presence.refresh_failed", error=str(exc))

    async def _refresh(self) -> None:
        if not self._local:
            return
        expiry = self._now_ms() + self._ttl_ms
        local = list(self._local)
        # In chunks: one pipeline for ten thousand accounts took the event loop for
        # ~130 ms to build and parse, a stall every socket's deliveries waited behind.
        for start in range(0, len(local), _REFRESH_CHUNK):
            async with self._redis.pipeline(transaction=False) as pipe:
                for account_id in local[start : start + _REFRESH_CHUNK]:
                    pipe.zadd(self._key(account_id), {self._member: expiry})
                    pipe.pexpire(self._key(account_id), self._ttl_ms)
                await pipe.execute()


def presence_store(engines: Engines) -> PresenceStore:
    settings = engines.settings
    if engines.redis is None:
        return InProcessPresence()
    keys = KeySpace(settings.redis_key_prefix)
    return RedisPresence(engines.redis, keys, settings.presence_ttl_seconds)
