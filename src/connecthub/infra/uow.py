"""One request or job is one transaction: the unit of work commits once, at the end, and
only then publishes its events and enqueues its jobs (dropped on rollback)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.infra import entity_cache
from connecthub.infra.engines import Engines
from connecthub.infra.events import Event

log = structlog.get_logger(__name__)

AfterCommit = Callable[[], Awaitable[Any]]


class UnitOfWork:
    def __init__(self, engines: Engines, session: AsyncSession) -> None:
        self.engines = engines
        self.session = session
        self._after_commit: list[AfterCommit] = []

    def after_commit(self, action: AfterCommit) -> None:
        self._after_commit.append(action)

    def publish(self, channel: str, event: Event) -> None:
        self.after_commit(lambda: self.engines.events.publish(channel, event))

    def publish_many(self, channels: Sequence[str], event: Event) -> None:
        """One event on several channels: encoded once, one round trip."""
        self.after_commit(lambda: self.engines.events.publish_many(channels, event))

    def enqueue(self, name: str, payload: dict[str, Any], *, job_id: str | None = None) -> None:
        self.after_commit(lambda: self.engines.jobs.enqueue(name, payload, job_id=job_id))

    async def commit(self) -> None:
        await self.session.commit()
        await entity_cache.settle(self.session)
        actions, self._after_commit = self._after_commit, []
        for action in actions:
            try:
                await action()
            except Exception:
                # The data is committed; a lost side effect is logged, never turned into
                # an error for a client whose write succeeded.
                log.exception("uow.after_commit_failed")

    async def rollback(self) -> None:
        self._after_commit.clear()
        await self.session.rollback()
