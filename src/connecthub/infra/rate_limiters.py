"""The two rate limiter engines. Same rules (see `infra.ratelimit`), same arithmetic: the
memory engine runs it in Python, the Redis engine in one Lua script per hit, so a hit is
atomic across every server process.

Time comes from the caller's clock (as rack-attack does), so windows are aligned the same
way on both engines and tests can drive time without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from connecthub.clock import epoch_ms
from connecthub.config import RateLimit, Settings
from connecthub.infra.ratelimit import PenaltyPolicy, RateLimitDecision, make_decision
from connecthub.infra.redis import KeySpace

Clock = Callable[[], int]  # epoch milliseconds


@dataclass
class _Entry:
    """One (bucket, key): the current window's count and the offence record."""

    window: int = -1  # window start, epoch seconds
    count: int = 0
    offences: int = 0
    offended_at: int = 0  # epoch ms of the latest offence
    locked_until: int = 0  # epoch ms

    def expires_at(self, window_end_ms: int, policy: PenaltyPolicy) -> int:
        expiry = max(window_end_ms, self.locked_until)
        if self.offences:
            expiry = max(expiry, self.offended_at + policy.memory_ms)
        return expiry


def _window(now_ms: int, period: int) -> tuple[int, int]:
    """(start in epoch seconds, end in epoch ms) of the fixed window holding `now_ms`."""
    start = (now_ms // 1000 // period) * period
    return start, (start + period) * 1000


class MemoryRateLimiter:
    """For one process (embedded mode). Entries are swept once they can no longer matter."""

    SWEEP_EVERY = 1000

    def __init__(self, settings: Settings, *, clock: Clock = epoch_ms, max_keys: int = 200_000):
        self.settings = settings
        self._policy = PenaltyPolicy.from_settings(settings)
        self._clock = clock
        self._max_keys = max_keys
        self._entries: dict[tuple[str, str], tuple[_Entry, int]] = {}  # entry, expires at
        self._hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def hit(self, bucket: str, key: str, limit: RateLimit) -> RateLimitDecision:
        now = self._clock()
        self._maybe_sweep(now)
        stored = self._entries.pop((bucket, key), None)  # re-inserted last: LRU order
        entry = stored[0] if stored and stored[1] >= now else _Entry()
        decision, window_end = self._apply(entry, now, limit)
        self._entries[(bucket, key)] = (entry, entry.expires_at(window_end, self._policy))
        return decision

    def _apply(self, entry: _Entry, now: int, limit: RateLimit) -> tuple[RateLimitDecision, int]:
        policy = self._policy
        start, window_end = _window(now, limit.period)
        if entry.locked_until > now:
            decision = make_decision(
                allowed=False,
                limit=limit.count,
                count=limit.count,
                now_ms=now,
                reset_ms=entry.locked_until,
                locked_out=True,
            )
            return decision, window_end
        if entry.window != start:
            entry.window, entry.count = start, 0
        entry.count += 1
        reset_ms, locked_out = window_end, False
        if entry.count == limit.count + 1:  # the first refusal of this window: one offence
            if now - entry.offended_at > policy.memory_ms:
                entry.offences = 0
            entry.offences += 1
            entry.offended_at = now
            lockout = policy.lockout_ms(entry.offences)
            if lockout:
                entry.locked_until = max(now + lockout, window_end)
                reset_ms, locked_out = entry.locked_until, True
        decision = make_decision(
            allowed=entry.count <= limit.count,
            limit=limit.count,
            count=entry.count,
            now_ms=now,
            reset_ms=reset_ms,
            locked_out=locked_out,
        )
        return decision, window_end

    def _maybe_sweep(self, now: int) -> None:
        self._hits += 1
        if self._hits % self.SWEEP_EVERY and len(self._entries) < self._max_keys:
            return
        self._entries = {k: v for k, v in self._entries.items() if v[1] >= now}
        if len(self._entries) >= self._max_keys:
            # A flood of distinct keys: forget the least recently hit tenth.
            for stale in list(self._entries)[: max(self._max_keys // 10, 1)]:
                del self._entries[stale]


# KEYS[1] the (bucket, key) hash; ARGV: now_ms, count, period_s, base_ms, max_ms, memory_ms.
# Returns {allowed, count, reset_ms, locked_out}. Mirrors MemoryRateLimiter._apply.
_HIT_SCRIPT = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local base, cap, memory = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local s = redis.call('HMGET', key, 'window', 'count', 'offences', 'offended_at', 'locked_until')
local locked_until = tonumber(s[5]) or 0
if locked_until > now then
  return {0, limit, locked_until, 1}
end
local window = math.floor(now / 1000 / period) * period
local window_end = (window + period) * 1000
local count = 1
if tonumber(s[1]) == window then count = tonumber(s[2]) + 1 end
local offences = tonumber(s[3]) or 0
local offended_at = tonumber(s[4]) or 0
local reset, locked = window_end, 0
if count == limit + 1 then
  if now - offended_at > memory then offences = 0 end
  offences = offences + 1
  offended_at = now
  if offences >= 2 then
    local lockout = math.min(base * 2 ^ math.min(offences - 2, 40), cap)
    locked_until = math.max(now + lockout, window_end)
    reset, locked = locked_until, 1
  end
end
local function int(n) return string.format('%.0f', n) end
redis.call('HSET', key, 'window', int(window), 'count', int(count), 'offences', int(offences),
  'offended_at', int(offended_at), 'locked_until', int(locked_until))
local expires = math.max(window_end, locked_until)
if offences > 0 then expires = math.max(expires, offended_at + memory) end
redis.call('PEXPIRE', key, int(math.max(expires - now, 1)))
local allowed = 0
if count <= limit then allowed = 1 end
return {allowed, count, reset, locked}
"""


class RedisRateLimiter:
    """Shared by every process (distributed mode): one EVALSHA per hit."""

    def __init__(
        self, redis: Redis, keys: KeySpace, settings: Settings, *, clock: Clock = epoch_ms
    ) -> None:
        self.settings = settings
        self._policy = PenaltyPolicy.from_settings(settings)
        self._keys = keys
        self._clock = clock
        self._script = redis.register_script(_HIT_SCRIPT)

    async def hit(self, bucket: str, key: str, limit: RateLimit) -> RateLimitDecision:
        now = self._clock()
        policy = self._policy
        allowed, count, reset_ms, locked = await self._script(
            keys=[self._keys("ratelimit", bucket, key)],
            args=[now, limit.count, limit.period, policy.base_ms, policy.max_ms, policy.memory_ms],
        )
        return make_decision(
            allowed=bool(allowed),
            limit=limit.count,
            count=int(count),
            now_ms=now,
            reset_ms=int(reset_ms),
            locked_out=bool(locked),
        )
