"""The two rate limiter engines. Same rules (see `infra.ratelimit`), same arithmetic: the
memory engine runs it in Python, the Redis engine in one Lua script, atomic across every
server process. The Redis engine sends a hit far from its bucket's limit later, with the
next one that needs the script (ADR 0011): most requests cost no Redis command.

Time comes from the caller's clock (as rack-attack does), so windows are aligned the same
way on both engines and tests can drive time without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from redis.asyncio import Redis

from connecthub.clock import epoch_ms
from connecthub.config import RateLimit, Settings
from connecthub.infra.ratelimit import PenaltyPolicy, RateLimitDecision, make_decision
from connecthub.infra.redis import KeySpace

Clock = Callable[[], int]  # epoch milliseconds


class _Entry:
    """One (bucket, key): the current window's count, the offence record, and when the
    entry can no longer matter."""

    __slots__ = ("count", "expires", "locked_until", "offences", "offended_at", "window")

    def __init__(self) -> None:
        self.window = -1  # window start, epoch seconds
        self.count = 0
        self.offences = 0
        self.offended_at = 0  # epoch ms of the latest offence
        self.locked_until = 0  # epoch ms
        self.expires = 0  # epoch ms

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
    """For one process (embedded mode). Entries are swept once they can no longer matter.

    A hit in a key's current window, under its limit and not locked out (nearly every hit)
    is a look-up, a comparison and an increment. The map keeps keys in the order their
    current window began (a key moves to the end once per window, not per hit): a flood
    of new keys over `max_keys` drops those idle longest first."""

    SWEEP_EVERY = 1000

    def __init__(self, settings: Settings, *, clock: Clock = epoch_ms, max_keys: int = 200_000):
        self.settings = settings
        self._policy = PenaltyPolicy.from_settings(settings)
        self._clock = clock
        self._max_keys = max_keys
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def forget_matching(self, matches: Callable[[str], bool]) -> int:
        """Drop the entries of every key that `matches` (an erased account's); how many."""
        doomed = [k for k in self._entries if matches(k[1])]
        for k in doomed:
            del self._entries[k]
        return len(doomed)

    def hit_all_near(
        self, hits: Sequence[tuple[str, str, RateLimit]]
    ) -> list[RateLimitDecision] | None:
        now = self._clock()
        found = []
        for bucket, key, limit in hits:
            entry = self._entries.get((bucket, key))
            start = now // 1000 // limit.period * limit.period
            if (
                entry is None
                or entry.window != start
                or entry.count >= limit.count
                or entry.locked_until > now
            ):
                return None
            found.append((entry, limit, start))
        decisions = []
        for entry, limit, start in found:
            entry.count += 1  # allowed, no offence, the expiry as it was
            reset_at = start + limit.period
            decisions.append(
                RateLimitDecision(True, limit.count, limit.count - entry.count, reset_at, 0)
            )
        self._hits += len(found)
        if self._hits % self.SWEEP_EVERY < len(found):
            self._sweep(now)
        return decisions

    def hit_near(self, bucket: str, key: str, limit: RateLimit) -> RateLimitDecision | None:
        decided = self.hit_all_near(((bucket, key, limit),))
        return None if decided is None else decided[0]

    async def hit(self, bucket: str, key: str, limit: RateLimit) -> RateLimitDecision:
        near = self.hit_near(bucket, key, limit)
        if near is not None:
            return near
        now = self._clock()
        self._hits += 1
        if not self._hits % self.SWEEP_EVERY or len(self._entries) >= self._max_keys:
            self._sweep(now)
        entry = self._entries.get((bucket, key))
        if entry is not None:
            del self._entries[(bucket, key)]  # re-inserted last: its window began now
        if entry is None or entry.expires < now:
            entry = _Entry()
        decision, window_end = self._apply(entry, now, limit)
        entry.expires = entry.expires_at(window_end, self._policy)
        self._entries[(bucket, key)] = entry
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

    def _sweep(self, now: int) -> None:
        self._entries = {k: v for k, v in self._entries.items() if v.expires >= now}
        if len(self._entries) >= self._max_keys:
            # A flood of distinct keys: forget the least recently hit tenth.
            for stale in list(self._entries)[: max(self._max_keys // 10, 1)]:
                del self._entries[stale]


# KEYS[1] the (bucket, key) hash; ARGV: now_ms, count, period_s, base_ms, max_ms, memory_ms,
# hits. Returns {allowed, count, reset_ms, locked_out}. Mirrors MemoryRateLimiter._apply for
# one hit; `hits` > 1 adds hits a process already let through on its own (`_Near`): the
# last of them is the one decided, and crossing the limit is still one offence.
_HIT_SCRIPT = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local base, cap, memory = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local hits = tonumber(ARGV[7])
local s = redis.call('HMGET', key, 'window', 'count', 'offences', 'offended_at', 'locked_until')
local locked_until = tonumber(s[5]) or 0
if locked_until > now then
  return {0, limit, locked_until, 1}
end
local window = math.floor(now / 1000 / period) * period
local window_end = (window + period) * 1000
local count = hits
if tonumber(s[1]) == window then count = tonumber(s[2]) + hits end
local offences = tonumber(s[3]) or 0
local offended_at = tonumber(s[4]) or 0
local reset, locked = window_end, 0
if count > limit and count - hits <= limit then
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


# How long a process trusts what it last heard from Redis about a bucket, and how much of
# the budget left it may spend on its own before asking again (ADR 0011).
SYNC_EVERY_MS = 1000
_LOCAL_SHARE = 8  # a process spends at most 1/8 of what is left between two round trips
_EXACT_MARGIN = 10  # the last hits of a window are always counted in Redis, one by one


class _Near:
    """What this process knows of one (bucket, key) in Redis: the count after its last round
    trip, and the hits it let through since without asking."""

    __slots__ = ("allowance", "count", "pending", "synced_at", "window")

    def __init__(self, window: int, count: int, synced_at: int, allowance: int) -> None:
        self.window = window  # window start, epoch seconds
        self.count = count
        self.synced_at = synced_at  # epoch ms
        self.allowance = allowance  # hits this process may still let through on its own
        self.pending = 0


class RedisRateLimiter:
    """Shared by every process (distributed mode). A hit far from its bucket's limit is
    counted in the process and sent to Redis later with the next round trip for that key
    (one EVALSHA adds them all); near the limit, while locked out, on a key's first hit in a
    window and once a second, every hit is one EVALSHA, exact across processes (ADR 0011)."""

    def __init__(
        self,
        redis: Redis,
        keys: KeySpace,
        settings: Settings,
        *,
        clock: Clock = epoch_ms,
        max_keys: int = 100_000,
    ) -> None:
        self.settings = settings
        self._policy = PenaltyPolicy.from_settings(settings)
        self._keys = keys
        self._clock = clock
        self._script = redis.register_script(_HIT_SCRIPT)
        self._near: dict[tuple[str, str], _Near] = {}
        self._max_keys = max_keys

    def hit_all_near(
        self, hits: Sequence[tuple[str, str, RateLimit]]
    ) -> list[RateLimitDecision] | None:
        now = self._clock()
        found = []
        for bucket, key, limit in hits:
            near = self._near.get((bucket, key))
            if near is None or near.allowance <= 0 or now - near.synced_at >= SYNC_EVERY_MS:
                return None
            start, window_end = _window(now, limit.period)
            if near.window != start:
                return None
            found.append((near, limit, window_end))
        decisions = []
        for near, limit, window_end in found:
            near.allowance -= 1
            near.pending += 1
            remaining = max(limit.count - near.count - near.pending, 0)
            decisions.append(RateLimitDecision(True, limit.count, remaining, window_end // 1000, 0))
        return decisions

    def hit_near(self, bucket: str, key: str, limit: RateLimit) -> RateLimitDecision | None:
        decided = self.hit_all_near(((bucket, key, limit),))
        return None if decided is None else decided[0]

    async def hit(self, bucket: str, key: str, limit: RateLimit) -> RateLimitDecision:
        decided = self.hit_near(bucket, key, limit)
        if decided is not None:
            return decided
        now = self._clock()
        start, _ = _window(now, limit.period)
        near = self._near.get((bucket, key))
        # Hits let through in an earlier window no longer count for anything.
        hits = near.pending + 1 if near is not None and near.window == start else 1
        return await self._round_trip(bucket, key, limit, now, start, hits)

    async def _round_trip(
        self, bucket: str, key: str, limit: RateLimit, now: int, start: int, hits: int
    ) -> RateLimitDecision:
        policy = self._policy
        allowed, count, reset_ms, locked = await self._script(
            keys=[self._keys("ratelimit", bucket, key)],
            args=[
                now,
                limit.count,
                limit.period,
                policy.base_ms,
                policy.max_ms,
                policy.memory_ms,
                hits,
            ],
        )
        count = int(count)
        left = limit.count - count - _EXACT_MARGIN
        allowance = left // _LOCAL_SHARE if allowed and not locked and left > 0 else 0
        if len(self._near) >= self._max_keys:
            self._forget(now)
        self._near[(bucket, key)] = _Near(start, count, now, allowance)
        return make_decision(
            allowed=bool(allowed),
            limit=limit.count,
            count=count,
            now_ms=now,
            reset_ms=int(reset_ms),
            locked_out=bool(locked),
        )

    def _forget(self, now: int) -> None:
        """Under a flood of keys: drop what was synced over an interval ago, then the oldest.
        Their pending hits are never sent: at most one allowance each, uncounted."""
        fresh = now - SYNC_EVERY_MS
        self._near = {k: v for k, v in self._near.items() if v.synced_at >= fresh}
        if len(self._near) >= self._max_keys:
            for stale in list(self._near)[: max(self._max_keys // 10, 1)]:
                del self._near[stale]
