"""How many streaming connections each access token and each account holds, across every
server process, so one client cannot hold hundreds of sockets: the one module where the
embedded and distributed engines differ for it (as presence_store.py for presence).

- in-process: plain counters (embedded mode has one process);
- Redis: one sorted set per token and per account whose members are the connections
  (this process' id and a sequence number), scored by an expiry. Admission is one script
  (drop expired members, check both caps, add to both), a close one pipelined ZREM, and
  every TTL/3 each process renews its members in chunked pipelines, one ZADD per key. A
  process that dies stops renewing, so its connections stop counting after the TTL. An
  entry lost anyway (Redis restarted) is not re-added: that connection goes uncounted
  until it closes, erring towards letting clients in.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from connecthub import clock
from connecthub.core.tasks import cancel_and_wait
from connecthub.infra.engines import Engines
from connecthub.infra.redis import KeySpace
from connecthub.streaming.streams import StreamError

log = structlog.get_logger(__name__)


class TooManyConnections(StreamError):
    def __init__(self, holder: str) -> None:
        super().__init__(429, f"Too many streaming connections for this {holder}")


@dataclass(frozen=True, slots=True)
class Lease:
    """One admitted connection; given back when it closes."""

    account_id: int
    token_id: int
    member: str = ""


class ConnectionCounter(Protocol):
    async def acquire(self, account_id: int, token_id: int) -> Lease:
        """Count one more connection, or raise TooManyConnections (nothing counted)."""

    async def release(self, lease: Lease) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class InProcessConnections:
    def __init__(self, per_token: int, per_account: int) -> None:
        self._per_token = per_token
        self._per_account = per_account
        self._tokens: Counter[int] = Counter()
        self._accounts: Counter[int] = Counter()

    async def acquire(self, account_id: int, token_id: int) -> Lease:
        if self._tokens[token_id] >= self._per_token:
            raise TooManyConnections("access token")
        if self._accounts[account_id] >= self._per_account:
            raise TooManyConnections("account")
        self._tokens[token_id] += 1
        self._accounts[account_id] += 1
        return Lease(account_id, token_id)

    async def release(self, lease: Lease) -> None:
        for counts, key in ((self._tokens, lease.token_id), (self._accounts, lease.account_id)):
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._tokens.clear()
        self._accounts.clear()


# KEYS: token set, account set. ARGV: member, expiry (ms), now (ms), ttl (ms), token cap,
# account cap. Returns 0 when admitted, 1 when the token is at its cap, 2 the account.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[5]) then return 1 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[6]) then return 2 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 0
"""

# Keys per refresh pipeline: small enough that building one never holds the loop long.
_REFRESH_CHUNK = 500


class RedisConnections:
    def __init__(
        self, redis: Redis, keys: KeySpace, ttl_seconds: int, per_token: int, per_account: int
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl_ms = ttl_seconds * 1000
        self._caps = (per_token, per_account)
        self._process = uuid.uuid4().hex
        self._sequence = itertools.count()
        # This process' members by key: what the refresh renews.
        self._local: defaultdict[str, set[str]] = defaultdict(set)
        self._refresher: asyncio.Task[None] | None = None
        self._acquire = redis.register_script(_ACQUIRE)

    def _key_pair(self, lease: Lease) -> tuple[str, str]:
        return (
            self._keys("streams", "token", str(lease.token_id)),
            self._keys("streams", "account", str(lease.account_id)),
        )

    @staticmethod
    def _now_ms() -> int:
        return clock.epoch_ms()

    async def acquire(self, account_id: int, token_id: int) -> Lease:
        lease = Lease(account_id, token_id, f"{self._process}:{next(self._sequence)}")
        keys = self._key_pair(lease)
        now = self._now_ms()
        refused = int(
            await self._acquire(
                keys=list(keys),
                args=[lease.member, now + self._ttl_ms, now, self._ttl_ms, *self._caps],
            )
        )
        if refused:
            raise TooManyConnections("access token" if refused == 1 else "account")
        for key in keys:
            self._local[key].add(lease.member)
        return lease

    async def release(self, lease: Lease) -> None:
        keys = self._key_pair(lease)
        for key in keys:
            members = self._local.get(key)
            if members is not None:
                members.discard(lease.member)
                if not members:
                    del self._local[key]
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zrem(key, lease.member)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            # Not refreshed any more: the entry expires after the TTL.
            log.warning("streaming.connection_release_failed", error=str(exc))

    async def start(self) -> None:
        self._refresher = asyncio.create_task(self._refresh_forever(), name="stream-leases")

    async def stop(self) -> None:
        if self._refresher is not None:
            await cancel_and_wait(self._refresher)
        # Give the slots back now rather than after the TTL.
        with contextlib.suppress(RedisError, OSError):
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, members in self._local.items():
                    pipe.zrem(key, *members)
                await pipe.execute()
        self._local.clear()

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            try:
                await self.refresh()
            except (RedisError, OSError) as exc:
                log.warning("streaming.connection_refresh_failed", error=str(exc))

    async def refresh(self) -> None:
        """Renew this process' members (and their keys) for another TTL."""
        expiry = self._now_ms() + self._ttl_ms
        local = list(self._local.items())
        for start in range(0, len(local), _REFRESH_CHUNK):
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, members in local[start : start + _REFRESH_CHUNK]:
                    if not members:
                        continue
                    # XX: renew, never add: a member released while this pipeline was on
                    # its way (its ZREM ran first) must not come back.
                    pipe.zadd(key, dict.fromkeys(members, expiry), xx=True)
                    pipe.pexpire(key, self._ttl_ms)
                await pipe.execute()


def connection_counter(engines: Engines) -> ConnectionCounter:
    settings = engines.settings
    per_token = settings.streaming_max_connections_per_token
    per_account = settings.streaming_max_connections_per_account
    if engines.redis is None:
        return InProcessConnections(per_token, per_account)
    keys = KeySpace(settings.redis_key_prefix)
    return RedisConnections(
        engines.redis, keys, settings.presence_ttl_seconds, per_token, per_account
    )
