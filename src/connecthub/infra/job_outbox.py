"""The transactional outbox: the jobs a unit of work queues are rows of its own transaction,
so they exist exactly when its data does (docs/adr/0007-transactional-outbox.md).

- `write`: one multi-row INSERT into `job_outbox`, just before the unit of work commits.
- `relay` (the fast path): right after the commit, in the same process, the rows' jobs go to
  the `JobQueue`. A durable queue (Redis) has them once `enqueue_many` returns, so the rows
  are deleted then; the in-memory queue keeps them until each job finished (`on_finished`),
  so a restart of an embedded server runs again what it had not finished.
- `sweep` (the relay loop, `run_relay`, wherever jobs run): rows older than
  `JOBS_OUTBOX_RELAY_AFTER_SECONDS` that no live fast path holds are relayed again. They are
  what a crash between commit and relay, or a queue that refused the job (Redis down),
  left behind.

Deletes are batched: acknowledged row ids gather in memory and one task per process deletes
them in one statement per batch, so the request path pays the INSERT only. A row whose
delete is lost (the process died first) is relayed again by a sweep: delivery is at least
once, and jobs are idempotent (docs/adr/0003-job-queue.md); the queues drop a job whose id
is still queued, delayed or running.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
import structlog
from sqlalchemy import BigInteger, String, Table, Text, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import epoch_ms
from connecthub.config import Settings
from connecthub.core.tasks import cancel_and_wait
from connecthub.ids import id_for_time, id_to_ms, new_id
from connecthub.infra.db import Base, Database, IdType, dialect_of, in_id_list
from connecthub.infra.jobs import JobQueue, JobRequest

log = structlog.get_logger(__name__)

# Rows relayed or deleted per statement.
BATCH = 500
# Acknowledgements gather this long before their delete, so rows of posts that come together
# (and, in-memory, of jobs finishing one by one) go in one statement.
DELETE_LINGER_SECONDS = 0.2
# A failed batch delete is tried again after this long (then twice as long, up to a minute).
DELETE_RETRY_SECONDS = 0.5
# What `close` waits for the last deletes; rows it leaves are relayed again later (harmless).
CLOSE_FLUSH_SECONDS = 5.0


class OutboxJob(Base):
    """A job its transaction queued, until the queue has it (or, in-memory, has run it).
    The id is time-ordered: it says when the row was written."""

    __tablename__ = "job_outbox"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    job_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)  # JSON
    delay_ms: Mapped[int] = mapped_column(BigInteger, default=0)


_TABLE = cast(Table, OutboxJob.__table__)
# Built once: every write runs it, with one parameter set per row.
_INSERT = insert(_TABLE)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    job: JobRequest

    def due_now(self) -> JobRequest:
        """The job with the delay left since its row was written (a delayed job relayed
        late is not delayed twice)."""
        if not self.job.delay_seconds:
            return self.job
        due_ms = id_to_ms(self.id) + round(self.job.delay_seconds * 1000)
        left = max(due_ms - epoch_ms(), 0) / 1000
        return JobRequest(self.job.name, self.job.payload, self.job.job_id, left)


@dataclass(frozen=True)
class QueuedJob:
    """What a unit of work asked for: `job_id` None lets the outbox name it after its row."""

    name: str
    payload: dict[str, Any]
    job_id: str | None = None
    delay_seconds: float = 0


class Outbox:
    def __init__(self, db: Database, jobs: JobQueue, settings: Settings) -> None:
        self.db = db
        self.jobs = jobs
        self.relay_after_ms = round(settings.jobs_outbox_relay_after_seconds * 1000)
        # In-memory queue: the rows of each job id it holds, deleted when the job leaves it.
        self._held: dict[str, list[int]] = {}
        self._held_ids: set[int] = set()
        # Rows whose job the queue has (or finished): deleted by `_delete_loop`.
        self._acknowledged: set[int] = set()
        self._wake: asyncio.Event | None = None
        self._deleter: asyncio.Task[None] | None = None
        self._closing = False
        self._close_requested = asyncio.Event()  # cuts the deleter's pauses short
        self._relay_stop = asyncio.Event()
        self._cursor = 0  # the sweep's place among rows this process holds
        if not jobs.durable:
            jobs.on_finished = self._job_finished

    # -- the unit of work's side -------------------------------------------------------

    async def write(self, session: AsyncSession, jobs: Sequence[QueuedJob]) -> list[OutboxRow]:
        """The rows of `jobs`, inserted in `session`'s transaction in one statement."""
        rows: list[OutboxRow] = []
        values: list[dict[str, Any]] = []
        for queued in jobs:
            row_id = new_id()
            job_id = queued.job_id or f"outbox:{row_id}"
            payload = orjson.dumps(queued.payload, option=orjson.OPT_NON_STR_KEYS).decode()
            delay_ms = max(round(queued.delay_seconds * 1000), 0)
            job = JobRequest(queued.name, queued.payload, job_id, delay_ms / 1000)
            rows.append(OutboxRow(row_id, job))
            values.append(
                {
                    "id": row_id,
                    "job_id": job_id,
                    "name": queued.name,
                    "payload": payload,
                    "delay_ms": delay_ms,
                }
            )
        if values:
            await session.execute(_INSERT, values)
        return rows

    async def relay(self, rows: Sequence[OutboxRow]) -> None:
        """Hand committed rows' jobs to the queue. Raises when the queue refuses them: the
        rows stay for a sweep."""
        if not rows:
            return
        if not self.jobs.durable:
            # Held before they are queued: a job may finish before `enqueue_many` returns.
            for row in rows:
                self._held.setdefault(row.job.job_id, []).append(row.id)
                self._held_ids.add(row.id)
        try:
            await self.jobs.enqueue_many([row.due_now() for row in rows])
        except BaseException:
            if not self.jobs.durable:
                self._release([row.id for row in rows])
            raise
        if self.jobs.durable:
            self._acknowledge([row.id for row in rows])

    # -- the relay loop ----------------------------------------------------------------

    async def run_relay(self) -> None:
        """Sweep every half `JOBS_OUTBOX_RELAY_AFTER_SECONDS` (at once again after a full batch)
        until `stop_relay`. Runs beside every job worker."""
        interval = min(max(self.relay_after_ms / 2000, 0.05), 5.0)
        stop = self._relay_stop
        relayed = 0
        while True:
            # A wait first, as after every batch that was not full: rows a stopped process
            # left behind wait one interval more, and a sweep does not hold a database
            # connection while the first requests arrive (ADR 0007).
            if relayed < BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval * random.uniform(0.9, 1.1))
            if stop.is_set():
                return
            try:
                relayed = await self.sweep()
            except Exception as exc:  # the database or the queue is down: try again later
                log.warning("outbox.sweep_failed", error=f"{type(exc).__name__}: {exc}")
                relayed = 0

    def stop_relay(self) -> None:
        """Let `run_relay` return after the sweep under way (never cut one short)."""
        self._relay_stop.set()

    async def sweep(self) -> int:
        """Relay the rows left behind; returns how many."""
        before = id_for_time(epoch_ms() - self.relay_after_ms)
        if self.jobs.durable:
            # Locked rows are another sweeper's (PostgreSQL); they are relayed and deleted
            # in one transaction, so a crash half-way leaves them all for the next sweep.
            async with self.db.transaction() as session:
                rows = await self._left_behind(session, before, lock=True)
                if rows:
                    await self.jobs.enqueue_many([row.due_now() for row in rows])
                    await _delete(session, [row.id for row in rows])
        else:
            async with self.db.session(readonly=True) as session:
                rows = await self._left_behind(session, before, lock=False)
            await self.relay(rows)
        if rows:
            log.warning("outbox.relayed_left_behind", jobs=len(rows))
        return len(rows)

    async def _left_behind(
        self, session: AsyncSession, before: int, *, lock: bool
    ) -> list[OutboxRow]:
        """The next batch of rows written before `before` that this process neither holds
        nor is deleting. Rows it holds are paged past (`_cursor`), so a queue holding many
        delayed jobs never hides the rows behind them."""
        query = (
            select(OutboxJob)
            .where(OutboxJob.id > self._cursor, OutboxJob.id < before)
            .order_by(OutboxJob.id)
            .limit(BATCH)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        found = list((await session.execute(query)).scalars())
        self._cursor = found[-1].id if len(found) == BATCH else 0
        mine = self._held_ids | self._acknowledged
        return [_row(found_row) for found_row in found if found_row.id not in mine]

    # -- deleting what the queue has ----------------------------------------------------

    def _job_finished(self, job_id: str) -> None:
        row_ids = self._held.pop(job_id, None)
        if row_ids:
            self._held_ids.difference_update(row_ids)
            self._acknowledge(row_ids)

    def _release(self, row_ids: list[int]) -> None:
        released = set(row_ids)
        self._held_ids -= released
        for job_id in list(self._held):
            kept = [row_id for row_id in self._held[job_id] if row_id not in released]
            if kept:
                self._held[job_id] = kept
            else:
                del self._held[job_id]

    def _acknowledge(self, row_ids: list[int]) -> None:
        self._acknowledged.update(row_ids)
        if self._closing:
            return  # left for `close`, or else for a sweep after the restart
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._deleter is None or self._deleter.done():
            # Its own context: the deletes belong to no request (nor its query count).
            self._deleter = asyncio.get_running_loop().create_task(
                self._delete_loop(), name="outbox-deleter", context=contextvars.Context()
            )
        self._wake.set()

    async def _delete_loop(self) -> None:
        """Delete acknowledged rows, all that gathered in `DELETE_LINGER_SECONDS` in one
        statement."""
        assert self._wake is not None
        pause = DELETE_RETRY_SECONDS
        while not self._closing:
            await self._wake.wait()
            await self._pause(DELETE_LINGER_SECONDS)
            self._wake.clear()
            while self._acknowledged:
                if await self._delete_batch():
                    pause = DELETE_RETRY_SECONDS
                elif self._closing:
                    return  # what is left is relayed again after the restart (harmless)
                else:
                    await self._pause(pause)
                    pause = min(pause * 2, 60.0)

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or less when `close` comes: a stopping process deletes what is
        acknowledged at once rather than after the linger (a test app's stop waited ~75 ms
        for it)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._close_requested.wait()

    async def _delete_batch(self) -> bool:
        batch = list(self._acknowledged)[: BATCH * 2]
        try:
            async with self.db.transaction() as session:
                await _delete(session, batch)
        except Exception as exc:
            log.warning("outbox.delete_failed", rows=len(batch), error=str(exc))
            return False
        self._acknowledged.difference_update(batch)
        return True

    async def close(self) -> None:
        """Delete what is acknowledged (waiting up to `CLOSE_FLUSH_SECONDS`), then stop.
        The deleter finishes the statement it runs rather than being cut short."""
        self._closing = True
        self._close_requested.set()
        if self._deleter is None:
            if self._acknowledged:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(CLOSE_FLUSH_SECONDS):
                        await self._delete_batch()
            return
        assert self._wake is not None
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._deleter), CLOSE_FLUSH_SECONDS)
        except TimeoutError:
            await cancel_and_wait(self._deleter)
        self._deleter = None


def _row(found: OutboxJob) -> OutboxRow:
    job = JobRequest(found.name, orjson.loads(found.payload), found.job_id, found.delay_ms / 1000)
    return OutboxRow(found.id, job)


async def _delete(session: AsyncSession, row_ids: list[int]) -> None:
    await session.execute(_delete_statement(dialect_of(session)), {"ids": row_ids})


@functools.cache
def _delete_statement(dialect: str) -> Any:
    return delete(_TABLE).where(in_id_list(_TABLE.c.id, "ids", dialect))
