"""Exposures: an experiment's first assignment per account, written in batches.

Evaluation never writes: the provider notes an assignment here (a dict operation) and a
background task writes what was noted once a second, each (flag, account) once
(`INSERT … ON CONFLICT DO NOTHING`), so the first assignment is the one kept. A process
remembers what it has already written (bounded), so an account seen on every request
costs one write per process, not one per request. Accounts that withdrew their consent are
not recorded (repository.record_exposures)."""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict
from datetime import datetime

import structlog

from connecthub.clock import utcnow
from connecthub.core.tasks import cancel_and_wait
from connecthub.flags import repository
from connecthub.infra.db import Database

log = structlog.get_logger(__name__)

FLUSH_SECONDS = 1.0
REMEMBERED = 100_000  # (flag, account) pairs known to be written, per process
MAX_PENDING = 50_000  # beyond this, new assignments wait for a later request
MAX_BATCH = 1000  # rows per write (the rest in the next flush)


class ExposureRecorder:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: dict[tuple[int, int], tuple[str, datetime]] = {}
        self._written: OrderedDict[tuple[int, int], None] = OrderedDict()
        self._task: asyncio.Task[None] | None = None

    def note(self, flag_id: int, account_id: int, variant: str) -> None:
        pair = (flag_id, account_id)
        if pair in self._written or pair in self._pending or len(self._pending) >= MAX_PENDING:
            return
        self._pending[pair] = (variant, utcnow())

    async def flush(self) -> int:
        """Write what was noted; on failure it stays noted for the next flush."""
        if not self._pending:
            return 0
        batch = dict(itertools.islice(self._pending.items(), MAX_BATCH))
        for pair in batch:
            del self._pending[pair]
        rows = [
            {"flag_id": f, "account_id": a, "variant": v, "exposed_at": at}
            for (f, a), (v, at) in batch.items()
        ]
        try:
            async with self._db.transaction() as session:
                written = await repository.record_exposures(session, rows)
        except Exception as exc:
            log.warning("flags.exposures_deferred", rows=len(rows), error=str(exc)[:200])
            for pair, value in batch.items():
                self._pending.setdefault(pair, value)
            return 0
        for pair in batch:
            self._written[pair] = None
        while len(self._written) > REMEMBERED:
            self._written.popitem(last=False)
        return written

    async def flush_all(self) -> None:
        while self._pending:
            before = len(self._pending)
            await self.flush()
            if len(self._pending) >= before:
                return  # failing: the next flush tries again

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="flags-exposures")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        await self.flush_all()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await self.flush_all()
