from __future__ import annotations

import asyncio
from typing import Any

from connecthub.config import Settings
from connecthub.infra.jobs import Payload, QueueStats


class InProcessJobQueue:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def enqueue(
        self, name: str, payload: Payload, *, job_id: str | None = None, delay_seconds: float = 0
    ) -> str:
        return job_id or ""

    async def run_worker(self, engines: Any, concurrency: int) -> None:
        await asyncio.Event().wait()

    async def stats(self) -> QueueStats:
        return QueueStats(0, 0, 0, 0, 0.0)

    async def ping(self) -> None:
        return None


class RedisJobQueue(InProcessJobQueue):
    def __init__(self, redis: Any, keys: Any, settings: Settings) -> None:
        super().__init__(settings)
