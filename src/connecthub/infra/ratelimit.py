"""Rate limiting: in-process (embedded) or Redis with an atomic Lua script (distributed).

Fixed windows per (bucket, key), aligned to the period as Mastodon's limits are written, plus
progressive penalties. Both engines implement exactly these rules (docs/rate-limits.md):

- up to `limit.count` hits per window are allowed; the hit that first exceeds the limit in a
  window is one *offence*, and every hit until the window ends is refused;
- offences are remembered for `rate_limit_penalty_memory_seconds` after the latest one; the
  n-th remembered offence (n >= 2) locks the key out for base * 2^(n-2) seconds (capped at
  `rate_limit_penalty_max_seconds`, and never ending before the current window does);
- during a lockout every hit is refused and nothing is counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from connecthub.config import RateLimit, Settings


class RateLimitDecision(NamedTuple):
    """A tuple, not a frozen dataclass: one is made per bucket hit, and a frozen
    dataclass' `__init__` (one `object.__setattr__` per field) cost more than the hit."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # epoch seconds at which the current window (or the lockout) ends
    retry_after: int  # seconds to wait before trying again; 0 when allowed
    locked_out: bool = False


class RateLimiter(Protocol):
    async def hit(self, bucket: str, key: str, limit: RateLimit) -> RateLimitDecision: ...

    def hit_near(self, bucket: str, key: str, limit: RateLimit) -> RateLimitDecision | None:
        """The hit decided in the process, with no await, when the limiter can (a key far
        from its limit: most hits); None when it needs `hit` (which then counts it)."""
        ...

    def hit_all_near(
        self, hits: Sequence[tuple[str, str, RateLimit]]
    ) -> list[RateLimitDecision] | None:
        """Every one of `hits` (bucket, key, limit; distinct keys) decided in the process,
        or none of them counted (None) when any needs `hit`: a request whose every bucket
        is decided near is answered without an await (http/edge.py)."""
        ...


@dataclass(frozen=True)
class PenaltyPolicy:
    """The penalty settings, in milliseconds, as both engines consume them."""

    base_ms: int
    max_ms: int
    memory_ms: int

    @classmethod
    def from_settings(cls, settings: Settings) -> PenaltyPolicy:
        return cls(
            base_ms=settings.rate_limit_penalty_base_seconds * 1000,
            max_ms=settings.rate_limit_penalty_max_seconds * 1000,
            memory_ms=settings.rate_limit_penalty_memory_seconds * 1000,
        )

    def lockout_ms(self, offences: int) -> int:
        """Lockout for the `offences`-th remembered offence; 0 for the first."""
        if offences < 2:
            return 0
        # The exponent is bounded so the arithmetic stays small; the cap applies long before.
        return min(self.base_ms << min(offences - 2, 40), self.max_ms)


def make_decision(
    *, allowed: bool, limit: int, count: int, now_ms: int, reset_ms: int, locked_out: bool
) -> RateLimitDecision:
    """The decision both engines return, from the millisecond figures they compute."""
    retry_after = 0 if allowed else max(1, math.ceil((reset_ms - now_ms) / 1000))
    return RateLimitDecision(
        allowed=allowed,
        limit=limit,
        remaining=max(limit - count, 0) if not locked_out else 0,
        reset_at=math.ceil(reset_ms / 1000),
        retry_after=retry_after,
        locked_out=locked_out,
    )
