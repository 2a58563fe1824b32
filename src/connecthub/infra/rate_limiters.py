from __future__ import annotations

from typing import Any

from connecthub.config import Settings


class MemoryRateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings


class RedisRateLimiter(MemoryRateLimiter):
    def __init__(self, redis: Any, keys: Any, settings: Settings) -> None:
        super().__init__(settings)
