"""Builds every engine from settings alone: the embedded ones, or the distributed ones when
`DATABASE_URL` points at PostgreSQL and `REDIS_URL` is set."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from redis.asyncio import Redis

from connecthub.config import Settings
from connecthub.infra.cache import Cache, MemoryCache, RedisCache
from connecthub.infra.db import Database
from connecthub.infra.entity_cache import ENTITY_INVALIDATIONS_CHANNEL, EntityCache
from connecthub.infra.events import EventBus, InProcessEventBus, RedisEventBus
from connecthub.infra.job_outbox import Outbox
from connecthub.infra.jobs import JobQueue
from connecthub.infra.near_cache import NearCache
from connecthub.infra.outside_writes import Listener, OutsideWrites
from connecthub.infra.ratelimit import RateLimiter
from connecthub.infra.redis import KeySpace, connect_redis
from connecthub.infra.storage import MediaStorage, storage_from_settings
from connecthub.infra.windows import MemoryWindowCounter, RedisWindowCounter, WindowCounter


@dataclass
class Engines:
    settings: Settings
    db: Database
    cache: Cache
    events: EventBus
    jobs: JobQueue
    ratelimiter: RateLimiter
    storage: MediaStorage
    redis: Redis | None
    # Process-local copies of the hottest cache entries (bearer tokens; ADR 0006).
    near: NearCache | None = field(default=None)
    # Process-local copies of entity-cache entries (ADR 0042).
    entity_near: NearCache | None = field(default=None)
    # Counts over sliding windows (the spam heuristics); the in-process one when not given.
    windows: WindowCounter = field(default_factory=MemoryWindowCounter)
    # The jobs units of work queue, as rows of their transactions (infra/job_outbox.py).
    outbox: Outbox = field(init=False)
    # Embedded mode, serving: the watch on other processes' commits (`watch_outside_writes`).
    outside_writes: OutsideWrites | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        settings = self.settings
        # Embedded mode too (on the in-process bus): its cache is in the process already,
        # but behind an await, and the edge answers at once only from near copies (ADR 0053).
        if settings.near_cache_seconds > 0:
            self.near = NearCache(self.events, settings.near_cache_seconds, capacity=50_000)
            self.near.renew_from(self.cache.get_many)
        # Embedded mode too: its entity cache is already in the process, but the copies are
        # what a kept home page is checked against (timelines/home_pages.py), and the
        # in-process bus carries their invalidations as Redis' does between processes.
        if settings.near_cache_seconds > 0 and settings.entity_near_cache_entries > 0:
            self.entity_near = NearCache(
                self.events,
                settings.near_cache_seconds,
                capacity=settings.entity_near_cache_entries,
                channel=ENTITY_INVALIDATIONS_CHANNEL,
            )
        # The repeat is for renderings read from a replica that lagged (infra/entity_cache).
        repeat = settings.entity_cache_repeat_seconds if settings.database_replica_urls else None
        self.db.entity_cache = EntityCache(self.cache, repeat_seconds=repeat, near=self.entity_near)
        self.outbox = Outbox(self.db, self.jobs, settings)

    @classmethod
    def from_settings(cls, settings: Settings) -> Engines:
        # Imported here: the job and limiter modules pull in their Lua scripts and metrics.
        from connecthub.infra.job_queues import InProcessJobQueue, RedisJobQueue
        from connecthub.infra.rate_limiters import MemoryRateLimiter, RedisRateLimiter

        db = Database(settings)
        storage = storage_from_settings(settings)
        if settings.redis_url is None:
            return cls(
                settings=settings,
                db=db,
                cache=MemoryCache(),
                events=InProcessEventBus(),
                jobs=InProcessJobQueue(settings),
                ratelimiter=MemoryRateLimiter(settings),
                storage=storage,
                redis=None,
            )
        redis = connect_redis(settings.redis_url, max_connections=settings.redis_max_connections)
        keys = KeySpace(settings.redis_key_prefix)
        return cls(
            settings=settings,
            db=db,
            cache=RedisCache(redis, keys),
            events=RedisEventBus(redis, keys),
            jobs=RedisJobQueue(redis, keys, settings),
            ratelimiter=RedisRateLimiter(redis, keys, settings),
            storage=storage,
            redis=redis,
            windows=RedisWindowCounter(redis, keys),
        )

    async def start(self) -> None:
        await self.events.start()
        if self.db.replica_set is not None:
            await self.db.replica_set.start()
        for near in (self.near, self.entity_near):
            if near is not None:
                await near.start()

    async def watch_outside_writes(self, *listeners: Listener) -> None:
        """This process serves: when another process commits to the same embedded database
        (a `connecthub admin` command), forget what is held from before, then call
        `listeners` (infra/outside_writes.py). Nothing to watch in distributed mode, where
        every process drops what it changes through Redis."""
        watch = self.db.watch_outside_writes()
        if watch is None:
            return
        watch.add_listener(self.forget_what_was_read)
        for listener in listeners:
            watch.add_listener(listener)
        await watch.start()
        self.outside_writes = watch

    async def forget_what_was_read(self) -> None:
        """Every copy held near and every entity kind's entries: read again when asked."""
        for near in (self.near, self.entity_near):
            if near is not None:
                near.forget_all()
        if self.db.entity_cache is not None:
            await self.db.entity_cache.retire_all()

    async def run_jobs(self, concurrency: int) -> None:
        """A job worker and, beside it, the outbox's relay loop, until cancelled (the
        server's in-process worker, `connecthub worker`)."""
        relay = asyncio.create_task(self.outbox.run_relay(), name="outbox-relay")
        try:
            await self.jobs.run_worker(self, concurrency)
        finally:
            # The sweep under way finishes (a statement cut short would outlive the loop).
            self.outbox.stop_relay()
            done, _ = await asyncio.wait({relay}, timeout=self.settings.shutdown_drain_seconds)
            if not done:
                relay.cancel()
            await asyncio.gather(relay, return_exceptions=True)

    async def stop(self) -> None:
        if self.db.entity_cache is not None:
            await self.db.entity_cache.stop()
        if self.outside_writes is not None:
            await self.outside_writes.stop()
        await self.outbox.close()
        for near in (self.near, self.entity_near):
            if near is not None:
                await near.stop()
        await self.events.stop()
        await self.storage.close()
        await self.db.dispose()  # the replica monitor with it
        if self.redis is not None:
            await self.redis.aclose()


@dataclass(frozen=True)
class RedisFacts:
    """What the admin dashboard shows of the Redis server: its version and memory in use."""

    version: str
    used_memory: int


async def redis_facts(engines: Engines) -> RedisFacts | None:
    """The Redis server's version and memory (one INFO), None in embedded mode."""
    if engines.redis is None:
        return None
    info = await engines.redis.info()
    return RedisFacts(str(info["redis_version"]), int(info["used_memory"]))


# Keys never touched by `forget_keys_naming`: the job queue's own records (the erasure
# job that calls it is one of them), which name ids only until the job ends.
_KEPT_KEY_SPACES = ("jobs:",)


async def forget_keys_naming(engines: Engines, identifier: int) -> int:
    """Delete every cache key with `identifier` as one of its parts (counters, rate limits,
    feeds, cached renderings of an erased account): a SCAN of this instance's keys in
    Redis, the process cache embedded. Ids are unique across kinds, so a part equal to an
    account id names that account. How many keys went."""
    part = str(identifier)
    if engines.redis is None:
        from connecthub.infra.rate_limiters import MemoryRateLimiter

        def names(key: str) -> bool:
            return part in key.split(":")

        gone = 0
        if isinstance(engines.cache, MemoryCache):
            gone += await engines.cache.delete_matching(names)
        if isinstance(engines.windows, MemoryWindowCounter):
            gone += engines.windows.forget_matching(names)
        if isinstance(engines.ratelimiter, MemoryRateLimiter):
            gone += engines.ratelimiter.forget_matching(names)
        return gone
    prefix = engines.settings.redis_key_prefix
    doomed: list[bytes | str] = []
    entities: list[str] = []  # the entity-cache keys among them, as near copies name them
    for pattern in (f"{prefix}*:{part}", f"{prefix}*:{part}:*"):
        async for key in engines.redis.scan_iter(match=pattern, count=1000):
            name = key.decode() if isinstance(key, bytes) else str(key)
            inner = name[len(prefix) :]
            if not inner.startswith(_KEPT_KEY_SPACES) and part in inner.split(":"):
                doomed.append(key)
                if inner.startswith("cache:entity:"):
                    entities.append(inner.removeprefix("cache:"))
    for start in range(0, len(doomed), 500):
        await engines.redis.delete(*doomed[start : start + 500])
    if entities and engines.entity_near is not None:
        await engines.entity_near.invalidate(entities)
    return len(set(doomed))
