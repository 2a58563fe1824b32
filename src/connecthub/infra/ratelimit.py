"""Rate limiting: in-process (embedded) or Redis with an atomic Lua script (distributed).

Fixed windows per (bucket, key), as Mastodon's limits are written, plus progressive
penalties: a key that exceeds its limit again within the penalty memory is locked out for
base × 2^(n-1) seconds, up to a maximum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from connecthub.config import RateLimit


@dataclass(frozen=True)
class RateLimitDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # epoch seconds at which the current window ends
    retry_after: int  # seconds to wait before trying again; 0 when allowed
    locked_out: bool = False


class RateLimiter(Protocol):
    async def hit(self, bucket: str, key: str, limit: RateLimit) -> RateLimitDecision: ...
