"""Both rate limiter engines through the `RateLimiter` protocol, with the same expectations.

The Redis engine always runs against a real Redis (TEST_REDIS_URL, else the local one) under
a fresh key prefix. Time is driven by a hand-set clock, so windows and lockouts are exact
and nothing sleeps.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from connecthub.config import RateLimit, Settings, load_settings
from connecthub.infra.rate_limiters import MemoryRateLimiter, RedisRateLimiter
from connecthub.infra.ratelimit import RateLimitDecision, RateLimiter
from connecthub.infra.redis import KeySpace

REDIS_URL = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
HOUR_MS = 3_600_000


class Clock:
    """Epoch milliseconds, moved by hand; starts on an hour boundary so windows line up."""

    def __init__(self) -> None:
        self.now = 1_900_000_000_000 // HOUR_MS * HOUR_MS

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)

    def to_next_window(self, period: int) -> None:
        self.now = (self.now // (period * 1000) + 1) * period * 1000


def _settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "rate_limit_penalty_base_seconds": 10,
        "rate_limit_penalty_max_seconds": 35,
        "rate_limit_penalty_memory_seconds": 600,
    }
    values.update(overrides)
    return load_settings(**values)


class Engine:
    """Builds limiters of one kind on one clock (and, for Redis, one key prefix)."""

    def __init__(self, kind: str, clock: Clock, redis: Redis | None, prefix: str) -> None:
        self.kind = kind
        self.clock = clock
        self.redis = redis
        self.prefix = prefix

    def limiter(self, **settings: object) -> RateLimiter:
        if self.redis is None:
            return MemoryRateLimiter(_settings(**settings), clock=self.clock)
        return RedisRateLimiter(
            self.redis, KeySpace(self.prefix), _settings(**settings), clock=self.clock
        )


@pytest.fixture(params=["memory", "redis"])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[Engine]:
    prefix = f"test:ratelimit:{uuid.uuid4().hex}:"
    if request.param == "memory":
        yield Engine("memory", Clock(), None, prefix)
        return
    redis = Redis.from_url(REDIS_URL)
    try:
        yield Engine("redis", Clock(), redis, prefix)
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_allows_up_to_the_limit_then_refuses_until_the_window_ends(engine: Engine) -> None:
    limiter = engine.limiter()
    limit = RateLimit(3, 60)
    engine.clock.advance(15)  # 45 s left in the minute's window
    window_end = (engine.clock.now // 60_000 + 1) * 60

    decisions = [await limiter.hit("ip", "198.51.100.1", limit) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, True]
    assert [d.remaining for d in decisions] == [2, 1, 0]
    assert all(d.limit == 3 and d.reset_at == window_end and d.retry_after == 0 for d in decisions)

    refused = await limiter.hit("ip", "198.51.100.1", limit)
    assert not refused.allowed
    assert refused.remaining == 0
    assert refused.retry_after == 45
    assert refused.reset_at == window_end
    assert not refused.locked_out

    engine.clock.advance(44.5)
    assert (await limiter.hit("ip", "198.51.100.1", limit)).retry_after == 1
    engine.clock.to_next_window(60)
    fresh = await limiter.hit("ip", "198.51.100.1", limit)
    assert fresh.allowed
    assert fresh.remaining == 2
    assert fresh.reset_at == window_end + 60


async def test_windows_are_aligned_to_the_period(engine: Engine) -> None:
    limiter = engine.limiter()
    engine.clock.advance(299)  # one second before a five-minute boundary
    decision = await limiter.hit("ip", "k", RateLimit(1, 300))
    assert decision.reset_at * 1000 == engine.clock.now + 1000
    assert not (await limiter.hit("ip", "k", RateLimit(1, 300))).allowed
    engine.clock.advance(1)
    assert (await limiter.hit("ip", "k", RateLimit(1, 300))).allowed


async def test_buckets_and_keys_are_counted_apart(engine: Engine) -> None:
    limiter = engine.limiter()
    limit = RateLimit(1, 60)
    assert (await limiter.hit("ip", "a", limit)).allowed
    assert not (await limiter.hit("ip", "a", limit)).allowed
    assert (await limiter.hit("ip", "b", limit)).allowed
    assert (await limiter.hit("sign_up", "a", limit)).allowed


async def test_hits_decided_near_are_all_counted_or_none(engine: Engine) -> None:
    """A request's buckets decided in the process together (`hit_all_near`): when one of
    them needs a round trip (a key not seen yet in this window), none is counted."""
    limiter = engine.limiter()
    limit = RateLimit(1000, 60)
    assert (await limiter.hit("token", "t", limit)).remaining == 999
    assert limiter.hit_all_near([("token", "t", limit), ("account", "a", limit)]) is None
    assert (await limiter.hit("account", "a", limit)).remaining == 999
    decided = limiter.hit_all_near([("token", "t", limit), ("account", "a", limit)])
    assert decided is not None
    assert [d.allowed for d in decided] == [True, True]
    assert [d.remaining for d in decided] == [998, 998]  # the refused pair counted nothing
    assert all(d.reset_at == (engine.clock.now // 60_000 + 1) * 60 for d in decided)


async def _offend(limiter: RateLimiter, limit: RateLimit, key: str = "k") -> RateLimitDecision:
    """Hit until refused; return the refusal."""
    for _ in range(limit.count + 1):
        decision = await limiter.hit("ip", key, limit)
        if not decision.allowed:
            return decision
    raise AssertionError("never refused")


async def test_repeat_offenders_are_locked_out_for_doubling_periods(engine: Engine) -> None:
    limiter = engine.limiter()  # base 10 s, max 35 s, memory 600 s
    limit = RateLimit(2, 5)

    first = await _offend(limiter, limit)
    assert not first.locked_out
    assert first.retry_after == 5
    # Refusals within the same window are the same offence: no lockout, however many.
    for _ in range(5):
        assert not (await limiter.hit("ip", "k", limit)).locked_out

    engine.clock.to_next_window(5)
    second = await _offend(limiter, limit)
    assert second.locked_out
    assert second.retry_after == 10
    assert second.reset_at * 1000 == engine.clock.now + 10_000

    engine.clock.advance(4)
    during = await limiter.hit("ip", "k", limit)
    assert during.locked_out
    assert not during.allowed
    assert during.retry_after == 6

    engine.clock.advance(6)
    assert (await limiter.hit("ip", "k", limit)).allowed  # the lockout is over
    third = await _offend(limiter, limit)
    assert third.locked_out
    assert third.retry_after == 20

    engine.clock.advance(20)
    fourth = await _offend(limiter, limit)
    assert fourth.locked_out
    assert fourth.retry_after == 35


async def test_hits_during_a_lockout_are_not_counted(engine: Engine) -> None:
    limiter = engine.limiter()  # base 10 s
    limit = RateLimit(2, 5)
    await _offend(limiter, limit)
    engine.clock.to_next_window(5)
    engine.clock.advance(1)
    await _offend(limiter, limit)  # locked out for 10 s: until 1 s into a later window
    for _ in range(24):
        engine.clock.advance(0.4)
        assert (await limiter.hit("ip", "k", limit)).locked_out
    engine.clock.advance(0.4)  # the lockout has ended, mid-window
    decisions = [await limiter.hit("ip", "k", limit) for _ in range(2)]
    assert [d.allowed for d in decisions] == [True, True]


async def test_a_lockout_never_ends_before_the_window(engine: Engine) -> None:
    limiter = engine.limiter(rate_limit_penalty_base_seconds=1)
    limit = RateLimit(1, 60)
    await _offend(limiter, limit)
    engine.clock.to_next_window(60)
    second = await _offend(limiter, limit)
    assert second.locked_out
    assert second.retry_after == 60


async def test_offences_are_forgotten_after_the_penalty_memory(engine: Engine) -> None:
    limiter = engine.limiter()  # memory 600 s
    limit = RateLimit(1, 5)
    await _offend(limiter, limit)
    engine.clock.advance(600)  # exactly the memory: still remembered
    assert (await _offend(limiter, limit)).locked_out

    engine.clock.advance(601)
    forgiven = await _offend(limiter, limit)
    assert not forgiven.locked_out
    engine.clock.to_next_window(5)
    assert (await _offend(limiter, limit)).retry_after == 10  # the count restarted at one


async def test_concurrent_hits_are_counted_exactly(engine: Engine) -> None:
    limiter = engine.limiter()
    limit = RateLimit(10, 60)
    decisions = await asyncio.gather(*(limiter.hit("ip", "busy", limit) for _ in range(40)))
    assert sum(d.allowed for d in decisions) == 10
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(10))


async def test_redis_keys_live_under_the_prefix_and_expire() -> None:
    redis = Redis.from_url(REDIS_URL)
    prefix = f"test:ratelimit:{uuid.uuid4().hex}:"
    try:
        limiter = RedisRateLimiter(redis, KeySpace(prefix), _settings())
        await limiter.hit("sign_up", "203.0.113.9", RateLimit(5, 1800))
        keys = [key.decode() async for key in redis.scan_iter(match=f"{prefix}*")]
        assert keys == [f"{prefix}ratelimit:sign_up:203.0.113.9"]
        assert 0 < await redis.pttl(keys[0]) <= 1_800_000
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_memory_limiter_forgets_keys_that_no_longer_matter() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(_settings(), clock=clock, max_keys=100)
    for number in range(500):
        await limiter.hit("ip", f"k{number}", RateLimit(5, 60))
    assert len(limiter) <= 100
    clock.advance(120)
    for _ in range(MemoryRateLimiter.SWEEP_EVERY):
        await limiter.hit("ip", "steady", RateLimit(5000, 60))
    assert len(limiter) == 1


# The Redis engine counts hits far from the limit in the process (ADR 0011)


async def _stored_count(redis: Redis, prefix: str, bucket: str, key: str) -> int:
    return int(await redis.hget(f"{prefix}ratelimit:{bucket}:{key}", "count") or 0)


async def test_hits_far_from_the_limit_reach_redis_in_batches() -> None:
    redis = Redis.from_url(REDIS_URL)
    prefix = f"test:ratelimit:{uuid.uuid4().hex}:"
    clock = Clock()
    try:
        limiter = RedisRateLimiter(redis, KeySpace(prefix), _settings(), clock=clock)
        limit = RateLimit(1000, 3600)
        decisions = [await limiter.hit("token", "t1", limit) for _ in range(100)]
        # Every answer is what one exact count would say, in this process...
        assert [d.remaining for d in decisions] == list(range(999, 899, -1))
        assert all(d.allowed and d.limit == 1000 for d in decisions)
        # ...while Redis heard of them in a few round trips, the rest still to send.
        assert await _stored_count(redis, prefix, "token", "t1") < 100
        clock.advance(limiter_sync_seconds())
        assert (await limiter.hit("token", "t1", limit)).remaining == 899
        assert await _stored_count(redis, prefix, "token", "t1") == 101
    finally:
        await _drop(redis, prefix)


async def test_processes_sharing_a_bucket_stop_at_the_limit() -> None:
    """Two limiters (two server processes) on one key, taking turns: the limit holds to
    within the hits one process let through before its last round trip."""
    redis = Redis.from_url(REDIS_URL)
    prefix = f"test:ratelimit:{uuid.uuid4().hex}:"
    clock = Clock()
    try:
        processes = [
            RedisRateLimiter(redis, KeySpace(prefix), _settings(), clock=clock) for _ in range(2)
        ]
        limit = RateLimit(200, 300)
        decisions = [await processes[n % 2].hit("ip", "shared", limit) for n in range(400)]
        allowed = sum(d.allowed for d in decisions)
        assert 200 <= allowed <= 202
        assert all(not d.allowed for d in decisions[allowed + 2 :])
        # Going over was one offence, as with one exact count (a second locks the key out).
        clock.to_next_window(300)  # offences are remembered for 600 s here
        for _ in range(201):
            last = await processes[0].hit("ip", "shared", limit)
        assert last.locked_out
    finally:
        await _drop(redis, prefix)


async def test_a_small_limit_is_counted_in_redis_hit_by_hit() -> None:
    redis = Redis.from_url(REDIS_URL)
    prefix = f"test:ratelimit:{uuid.uuid4().hex}:"
    try:
        limiter = RedisRateLimiter(redis, KeySpace(prefix), _settings(), clock=Clock())
        for expected in range(1, 16):
            await limiter.hit("sign_in", "198.51.100.3", RateLimit(15, 300))
            assert await _stored_count(redis, prefix, "sign_in", "198.51.100.3") == expected
    finally:
        await _drop(redis, prefix)


def limiter_sync_seconds() -> float:
    from connecthub.infra.rate_limiters import SYNC_EVERY_MS

    return SYNC_EVERY_MS / 1000


async def _drop(redis: Redis, prefix: str) -> None:
    keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()
