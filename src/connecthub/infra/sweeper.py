"""The sweeper: must-run work is recovered from the database, whatever the queue lost.

A queued job can be lost: Redis restarted without persistence, an embedded server
restarted (its queue is in memory), a crash between a commit and its enqueue. For the jobs
whose loss matters, the database already says what is pending (an account deletion not
completed, a poll past its end nobody was told of, media still processing, stored files
waiting to be purged). Each domain registers, in its `tasks.py`, a sweep that reads that
state and queues the job again under its usual job id (`@sweep("kind")`) unless the queue
still knows that id (queued, delayed or running: slow, not lost), so a sweep that finds
nothing lost costs one indexed query per kind.

Only work pending for longer than `JOBS_SWEEP_GRACE_SECONDS` is looked at (its own job had
time to run), and a job that is dead-lettered is left to operators (`connecthub jobs
retry`), never revived behind their back. Sweeps run every `JOBS_SWEEP_INTERVAL_SECONDS`
wherever jobs run (`connecthub worker`, and `serve` when it runs jobs itself); with Redis,
one process per interval does the work (a lock in the cache). `connecthub jobs sweep`
runs one now.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from connecthub.clock import epoch_ms, utcnow
from connecthub.infra import db, redis
from connecthub.infra.job_queues import cancel_swallowed
from connecthub.infra.jobs import Payload
from connecthub.ops import metrics

if TYPE_CHECKING:
    from connecthub.infra.engines import Engines

log = structlog.get_logger(__name__)

# Dead letters read per sweep to know which jobs to leave alone; more is an incident that
# `connecthub jobs list` shows anyway.
DEAD_LETTERS_CONSULTED = 10_000
# Pending items one sweep of one kind queues at most; the next sweep takes the rest.
SWEEP_LIMIT = 1000
_LOCK_KEY = "sweeper:lock"


class Sweep:
    """One sweep of one kind: the cutoff, the dead letters to leave alone, and the count of
    jobs it queued."""

    def __init__(self, engines: Engines, cutoff: datetime, dead: frozenset[str]) -> None:
        self.engines = engines
        self.cutoff = cutoff
        self.limit = SWEEP_LIMIT
        self._dead = dead
        self.queued = 0

    def is_dead(self, job_id: str) -> bool:
        return job_id in self._dead

    def has_dead_under(self, prefix: str) -> bool:
        """Whether a dead letter's id starts with `prefix` (a job that queues its next
        round under a new id, such as an erasure)."""
        return any(job_id.startswith(prefix) for job_id in self._dead)

    async def enqueue(self, name: str, payload: Payload, *, job_id: str) -> bool:
        """Queue the job unless the queue still knows it: queued, delayed or running (only
        slow, nothing lost) or dead-lettered (an operator's call). Whether it was queued."""
        if job_id in self._dead or await self.engines.jobs.state(job_id) is not None:
            return False
        await self.engines.jobs.enqueue(name, payload, job_id=job_id)
        self.queued += 1
        return True


SweepFunction = Callable[[Sweep], Awaitable[Any]]
SWEEPS: dict[str, SweepFunction] = {}


def sweep(kind: str) -> Callable[[SweepFunction], SweepFunction]:
    def register(function: SweepFunction) -> SweepFunction:
        if kind in SWEEPS and SWEEPS[kind] is not function:
            raise ValueError(f"sweep {kind!r} is registered twice")
        SWEEPS[kind] = function
        metrics.SWEEP_REQUEUED.labels(kind=kind)
        return function

    return register


async def sweep_once(engines: Engines) -> dict[str, int]:
    """Every registered sweep, each on its own (one failing does not stop the others).
    Returns the jobs queued by kind (kinds that failed are left out)."""
    dead = frozenset(await engines.jobs.dead_job_ids(DEAD_LETTERS_CONSULTED))
    cutoff = utcnow() - timedelta(seconds=engines.settings.jobs_sweep_grace_seconds)
    queued: dict[str, int] = {}
    for kind, function in SWEEPS.items():
        run = Sweep(engines, cutoff, dead)
        try:
            await function(run)
        except Exception:
            metrics.SWEEP_RUNS.labels(kind=kind, outcome="failed").inc()
            log.warning("sweeper.failed", kind=kind, exc_info=True)
            continue
        metrics.SWEEP_RUNS.labels(kind=kind, outcome="done").inc()
        metrics.SWEEP_REQUEUED.labels(kind=kind).inc(run.queued)
        queued[kind] = run.queued
    if len(queued) == len(SWEEPS):
        metrics.SWEEP_LAST_SUCCESS.set(epoch_ms() / 1000)
    if any(queued.values()):
        # Work was pending past the grace period without a job: a queue lost it.
        log.warning("sweeper.requeued", **{k: v for k, v in queued.items() if v})
    return queued


async def run_sweeper(engines: Engines) -> None:
    """Sweep every JOBS_SWEEP_INTERVAL_SECONDS (jittered) until cancelled."""
    interval = engines.settings.jobs_sweep_interval_seconds
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(interval * random.uniform(0.8, 1.2))
        await _sweep_unless_another_did(engines, interval)
        # redis-py can swallow the cancellation that stops this task (job_queues.py).
        if cancel_swallowed():
            raise asyncio.CancelledError


async def _sweep_unless_another_did(engines: Engines, interval: float) -> None:
    """With Redis, several processes share the queue: one sweep per interval is enough."""
    try:
        if engines.redis is not None:
            lock_seconds = max(1, int(interval * 0.8))
            if not await engines.cache.add(_LOCK_KEY, b"1", ttl_seconds=lock_seconds):
                return
        await sweep_once(engines)
    except Exception as exc:
        # The queue or the database is down: the next interval tries again.
        outage = db.unavailable_reason(exc) or redis.unavailable_reason(exc)
        log.warning("sweeper.unavailable", reason=outage, exc_info=outage is None)
