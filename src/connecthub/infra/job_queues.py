"""The two engines behind `JobQueue` (infra/jobs.py); the why is in docs/adr/0003-job-queue.md.

- `InProcessJobQueue`: asyncio inside the server process (embedded mode). Jobs live in memory,
  so a restart forgets what was queued: the price of needing no servers.
- `RedisJobQueue`: a reliable queue. Taking a job moves it, in one Lua script, from the ready
  list into an in-flight set scored by a visibility deadline that a heartbeat keeps pushing
  back. A worker that dies stops the heartbeat; a reaper (every worker runs one) puts the job
  back. Delivery is therefore at least once, and handlers must be idempotent.

Both share the worker loop (`QueueWorker`): a bounded number of jobs at once, retries with
exponential backoff, dead-lettering after `JOBS_MAX_ATTEMPTS`, and a drain on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import uuid
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from connecthub.clock import epoch_ms
from connecthub.config import Settings
from connecthub.core.tasks import cancel_and_wait
from connecthub.infra import job_scripts
from connecthub.infra.jobs import (
    HANDLERS,
    DeadLetter,
    JobContext,
    JobRequest,
    Payload,
    QueueStats,
    interrupt,
)
from connecthub.infra.redis import KeySpace
from connecthub.ops import metrics

if TYPE_CHECKING:
    from connecthub.infra.engines import Engines

log = structlog.get_logger(__name__)

MAX_RETRY_DELAY_SECONDS = 3600.0
DEAD_LETTER_KEEP_SECONDS = 7 * 86400
IN_PROCESS_DEAD_LETTER_LIMIT = 10_000
# An idle worker blocks this long at most (below the Redis client's 5 s socket timeout), then
# looks again, so due delayed jobs start even when nobody enqueues.
IDLE_WAIT_SECONDS = 2.0
# Wake-up tokens kept for idle workers; more would only cause empty wake-ups.
WAKE_TOKENS = 64
MAX_ERROR_CHARS = 2000
# Dead letters retried or dropped per script call.
DEAD_LETTER_PAGE = 100
# Jobs one take hands a worker at most (as many as it has free slots, up to this).
MAX_TAKE = 16


def retry_delay(settings: Settings, attempt: int) -> float:
    """Exponential backoff with ±20 % jitter, so a burst of failures does not retry in step."""
    delay = min(settings.jobs_retry_base_seconds * 2.0 ** (attempt - 1), MAX_RETRY_DELAY_SECONDS)
    return delay * random.uniform(0.8, 1.2)


def cancel_swallowed() -> bool:
    """True when this task was cancelled but the cancellation got lost on the way.

    redis-py can swallow a `CancelledError` that lands while a blocking read completes (seen
    with BLPOP), and so can Python 3.11's `asyncio.wait_for` (redis-py's connection health
    check uses it) when its inner call finishes at the same moment: the call returns
    normally and the task stays "cancelling". Without this check a stopping worker would
    loop on forever, or block for a whole idle wait first.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _encode(payload: Payload) -> str:
    # Both engines store JSON, so a payload that would break the durable queue fails in
    # embedded mode too. orjson: a new status's fan-out carries its entity (~1.5 KB), which
    # the stdlib encoder took ~10x longer over (non-string keys become strings, as there).
    return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS).decode()


@dataclass(frozen=True)
class Delivery:
    """One run of a job handed to this worker. `attempt` (1-based) also fences stale
    acknowledgements: a job redelivered elsewhere has a higher attempt number."""

    job_id: str
    name: str
    body: str | bytes
    attempt: int


class QueueWorker(ABC):
    """The worker loop both engines share; engines supply taking and settling."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._active: dict[str, Delivery] = {}

    @abstractmethod
    async def _next_deliveries(self, most: int) -> list[Delivery]:
        """Up to `most` due jobs (at least one once any is due), or none after waiting a
        while for one."""

    @abstractmethod
    async def _succeed(self, delivery: Delivery) -> None: ...

    @abstractmethod
    async def _fail(self, delivery: Delivery, error: str, *, dead: bool) -> None: ...

    @abstractmethod
    async def _release(self, delivery: Delivery) -> None:
        """Give back a job interrupted by shutdown, without counting the attempt."""

    async def _upkeep(self) -> None:
        """Background duties while the worker runs (heartbeats, reaping)."""
        return None

    async def run_worker(self, engines: Engines, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        slots = asyncio.Semaphore(concurrency)
        running: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            running.discard(task)
            slots.release()
            if not task.cancelled() and task.exception() is not None:
                log.error("jobs.worker_bug", exc_info=task.exception())

        upkeep = asyncio.create_task(self._upkeep(), name="jobs-upkeep")
        log.info("jobs.worker_started", concurrency=concurrency)
        try:
            while True:
                await slots.acquire()
                free = 1
                # Every free slot in one take (acquiring a free slot does not wait).
                while free < MAX_TAKE and not slots.locked():
                    await slots.acquire()
                    free += 1
                deliveries = await self._next_deliveries(free)
                if cancel_swallowed():
                    for delivery in deliveries:
                        await self._release(delivery)
                    raise asyncio.CancelledError
                for _ in range(free - len(deliveries)):
                    slots.release()
                for delivery in deliveries:
                    task = asyncio.create_task(self._run(engines, delivery), name=delivery.name)
                    running.add(task)
                    task.add_done_callback(finished)
        except asyncio.CancelledError:
            await self._drain(running)
            raise
        finally:
            await cancel_and_wait(upkeep)
            await self._stopped()

    async def _stopped(self) -> None:
        """The loop has ended and its jobs are done or given back."""
        return None

    async def _drain(self, running: set[asyncio.Task[None]]) -> None:
        """Stop taking jobs; let running ones finish within SHUTDOWN_DRAIN_SECONDS, but give
        back at once those waiting for the process rather than for their work
        (`jobs.interruptible`)."""
        if not running:
            return
        interrupt(running)
        seconds = self.settings.shutdown_drain_seconds
        log.info("jobs.draining", running=len(running), seconds=seconds)
        _, unfinished = await asyncio.wait(set(running), timeout=seconds)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)

    async def _run(self, engines: Engines, delivery: Delivery) -> None:
        self._active[delivery.job_id] = delivery
        try:
            await self._execute(engines, delivery)
        finally:
            self._active.pop(delivery.job_id, None)

    async def _execute(self, engines: Engines, delivery: Delivery) -> None:
        fields = {"job": delivery.name, "job_id": delivery.job_id, "attempt": delivery.attempt}
        handler = HANDLERS.get(delivery.name)
        if handler is None:
            log.error("job.unknown_name", **fields)
            await self._settle(delivery, "dead", f"no handler registered for {delivery.name!r}")
            return
        try:
            payload = orjson.loads(delivery.body)
            await handler(JobContext(engines, delivery.job_id, delivery.attempt), payload)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self._release(delivery)
            raise
        except Exception as exc:
            dead = delivery.attempt >= self.settings.jobs_max_attempts
            log.warning("job.failed", will_retry=not dead, exc_info=True, **fields)
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
            await self._settle(delivery, "dead" if dead else "retry", error)
            return
        await self._settle(delivery, "success", "")

    async def _settle(self, delivery: Delivery, outcome: str, error: str) -> None:
        metrics.JOBS_PROCESSED.labels(job=delivery.name, outcome=outcome).inc()
        try:
            if outcome == "success":
                await self._succeed(delivery)
            else:
                await self._fail(delivery, error, dead=outcome == "dead")
        except (RedisError, OSError) as exc:
            # Unacknowledged: the job comes back after its visibility timeout.
            log.warning("job.settle_failed", job_id=delivery.job_id, error=str(exc))


# --- embedded -----------------------------------------------------------------------------


@dataclass
class _MemoryJob:
    job_id: str
    name: str
    body: str
    enqueued_at: float
    ready_at: float
    attempts: int = 0
    last_error: str = ""
    died_at: float = 0.0

    def dead_letter(self) -> DeadLetter:
        return DeadLetter(
            self.job_id, self.name, self.body, self.attempts, self.last_error, self.died_at
        )


def _now() -> float:
    return epoch_ms() / 1000


class InProcessJobQueue(QueueWorker):
    """Jobs in memory, run by asyncio tasks of the server process."""

    durable = False

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.on_finished: Callable[[str], None] | None = None
        self._jobs: dict[str, _MemoryJob] = {}  # queued, delayed or running
        self._schedule: list[tuple[float, int, str]] = []  # heap of (ready_at, seq, job_id)
        self._sequence = itertools.count()
        self._running: set[str] = set()
        self._dead: OrderedDict[str, _MemoryJob] = OrderedDict()
        self._changed = asyncio.Event()

    async def enqueue(
        self, name: str, payload: Payload, *, job_id: str | None = None, delay_seconds: float = 0
    ) -> str:
        job_id = job_id or uuid.uuid4().hex
        if job_id in self._jobs:
            return job_id
        body = _encode(payload)
        self._dead.pop(job_id, None)
        now = _now()
        job = _MemoryJob(job_id, name, body, enqueued_at=now, ready_at=now + max(delay_seconds, 0))
        self._jobs[job_id] = job
        self._schedule_at(job)
        return job_id

    async def enqueue_many(self, jobs: Sequence[JobRequest]) -> None:
        for job in jobs:
            await self.enqueue(
                job.name, job.payload, job_id=job.job_id, delay_seconds=job.delay_seconds
            )

    def _finished(self, job_id: str) -> None:
        if self.on_finished is not None:
            self.on_finished(job_id)

    def _schedule_at(self, job: _MemoryJob) -> None:
        heapq.heappush(self._schedule, (job.ready_at, next(self._sequence), job.job_id))
        self._changed.set()

    async def _next_deliveries(self, most: int) -> list[Delivery]:
        while True:
            now = _now()
            taken: list[Delivery] = []
            while len(taken) < most and self._schedule and self._schedule[0][0] <= now:
                _, _, job_id = heapq.heappop(self._schedule)
                job = self._jobs[job_id]
                job.attempts += 1
                self._running.add(job_id)
                taken.append(Delivery(job_id, job.name, job.body, job.attempts))
            if taken:
                return taken
            self._changed.clear()
            timeout = self._schedule[0][0] - now if self._schedule else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)

    async def _succeed(self, delivery: Delivery) -> None:
        self._running.discard(delivery.job_id)
        self._jobs.pop(delivery.job_id, None)
        self._finished(delivery.job_id)

    async def _fail(self, delivery: Delivery, error: str, *, dead: bool) -> None:
        self._running.discard(delivery.job_id)
        job = self._jobs[delivery.job_id]
        job.last_error = error
        if dead:
            del self._jobs[delivery.job_id]
            job.died_at = _now()
            self._dead[job.job_id] = job
            while len(self._dead) > IN_PROCESS_DEAD_LETTER_LIMIT:
                self._dead.popitem(last=False)
            self._finished(job.job_id)
            return
        job.ready_at = _now() + retry_delay(self.settings, delivery.attempt)
        self._schedule_at(job)

    async def _release(self, delivery: Delivery) -> None:
        self._running.discard(delivery.job_id)
        job = self._jobs[delivery.job_id]
        job.attempts -= 1
        job.ready_at = _now()
        self._schedule_at(job)

    async def stats(self) -> QueueStats:
        now = _now()
        due = [ready_at for ready_at, _, _ in self._schedule if ready_at <= now]
        oldest_dead = next(iter(self._dead.values()), None)
        return QueueStats(
            ready=len(due),
            delayed=len(self._schedule) - len(due),
            running=len(self._running),
            dead=len(self._dead),
            oldest_age_seconds=now - min(due) if due else 0.0,
            oldest_dead_age_seconds=now - oldest_dead.died_at if oldest_dead else 0.0,
        )

    async def state(self, job_id: str) -> str | None:
        if job_id in self._dead:
            return "dead"
        job = self._jobs.get(job_id)
        if job is None:
            return None
        if job_id in self._running:
            return "running"
        return "delayed" if job.ready_at > _now() else "ready"

    async def dead_letters(self, limit: int) -> list[DeadLetter]:
        return [job.dead_letter() for job in itertools.islice(self._dead.values(), limit)]

    async def dead_job_ids(self, limit: int) -> set[str]:
        return set(itertools.islice(self._dead, limit))

    def _take_dead(self, job_ids: Sequence[str] | None) -> list[_MemoryJob]:
        wanted = list(self._dead) if job_ids is None else list(dict.fromkeys(job_ids))
        return [self._dead.pop(job_id) for job_id in wanted if job_id in self._dead]

    async def retry_dead(self, job_ids: Sequence[str] | None) -> list[DeadLetter]:
        retried = []
        for job in self._take_dead(job_ids):
            retried.append(job.dead_letter())
            # Not live under this id: queueing the id again takes it out of the dead ones.
            job.attempts, job.ready_at = 0, _now()
            self._jobs[job.job_id] = job
            self._schedule_at(job)
        return retried

    async def drop_dead(self, job_ids: Sequence[str] | None) -> list[DeadLetter]:
        return [job.dead_letter() for job in self._take_dead(job_ids)]

    async def ping(self) -> None:
        return None


# --- Redis (the scripts and the key layout are in infra/job_scripts.py) ------------------


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisJobQueue(QueueWorker):
    """Durable jobs on Redis; any number of `connecthub worker` processes share them."""

    durable = True

    def __init__(self, redis: Redis, keys: KeySpace, settings: Settings) -> None:
        super().__init__(settings)
        self.on_finished: Callable[[str], None] | None = None  # never called: durable
        self._redis = redis
        self._job_prefix = keys("jobs", "job", "")
        self._ready = keys("jobs", "ready")
        self._delayed = keys("jobs", "delayed")
        self._running = keys("jobs", "running")
        self._dead = keys("jobs", "dead")
        self._wake = keys("jobs", "wake")
        self._visibility_ms = settings.jobs_visibility_timeout_seconds * 1000
        self._unavailable_backoff = 0.1
        self._acks: list[str | int] = []  # id, attempt of each job finished, not yet told
        self._blocked = False  # waiting on the wake-up list for work

        def script(body: str) -> Any:
            return redis.register_script(job_scripts.PRELUDE + body)

        self._enqueue_script = script(job_scripts.ENQUEUE)
        self._take_script = script(job_scripts.TAKE)
        self._heartbeat_script = script(job_scripts.HEARTBEAT)
        self._succeed_script = script(job_scripts.SUCCEED)
        self._fail_script = script(job_scripts.FAIL)
        self._release_script = script(job_scripts.RELEASE)
        self._reap_script = script(job_scripts.REAP)
        self._stats_script = script(job_scripts.STATS)
        self._retry_dead_script = script(job_scripts.RETRY_DEAD)
        self._drop_dead_script = script(job_scripts.DROP_DEAD)

    async def enqueue(
        self, name: str, payload: Payload, *, job_id: str | None = None, delay_seconds: float = 0
    ) -> str:
        job_id = job_id or uuid.uuid4().hex
        await self.enqueue_many([JobRequest(name, payload, job_id, delay_seconds)])
        return job_id

    async def enqueue_many(self, jobs: Sequence[JobRequest]) -> None:
        if not jobs:
            return
        args: list[str | int] = [self._job_prefix, WAKE_TOKENS]
        for job in jobs:
            delay_ms = max(round(job.delay_seconds * 1000), 0)
            args += [job.job_id, job.name, _encode(job.payload), delay_ms]
        await self._enqueue_script(
            keys=[self._ready, self._delayed, self._dead, self._wake], args=args
        )

    async def _next_deliveries(self, most: int) -> list[Delivery]:
        acks, self._acks = self._acks, []
        try:
            result = await self._take_script(
                keys=[self._ready, self._delayed, self._running, self._wake],
                args=[
                    self._job_prefix,
                    self._visibility_ms,
                    round(IDLE_WAIT_SECONDS * 1000),
                    WAKE_TOKENS,
                    most,
                    *acks,
                ],
            )
            self._unavailable_backoff = 0.1
            if isinstance(result, list):
                fields = [result[i : i + 4] for i in range(0, len(result), 4)]
                return [
                    Delivery(_text(job_id), _text(name), body, int(attempt))
                    for job_id, name, body, attempt in fields
                ]
            if cancel_swallowed():  # a stop that landed in the script: do not block
                return []
            # Nothing ready: block on the wake-up list until an enqueue or the next due job.
            # Jobs finishing meanwhile are acknowledged at once, not on the next take.
            self._blocked = True
            try:
                await self._flush_acks()
                await self._redis.blpop([self._wake], timeout=max(int(result), 10) / 1000)
            finally:
                self._blocked = False
        except (RedisError, OSError) as exc:
            # Acknowledgements lost with the take: those jobs run again after their
            # visibility timeout (at least once, as a lost settle always did).
            log.warning(
                "jobs.redis_unavailable", error=str(exc), retry_in=self._unavailable_backoff
            )
            await asyncio.sleep(self._unavailable_backoff)
            self._unavailable_backoff = min(self._unavailable_backoff * 2, 5.0)
        return []

    async def _succeed(self, delivery: Delivery) -> None:
        """Acknowledged with the worker's next take, which follows at once (its slot is
        free now), or now if the worker is waiting for work."""
        self._acks += (delivery.job_id, delivery.attempt)
        if self._blocked:
            await self._flush_acks()

    async def _flush_acks(self) -> None:
        acks, self._acks = self._acks, []
        if acks:
            await self._succeed_script(keys=[self._running], args=[self._job_prefix, *acks])

    async def _stopped(self) -> None:
        try:
            await self._flush_acks()
        except (RedisError, OSError) as exc:
            log.warning("jobs.acknowledgements_lost", error=str(exc))

    async def _fail(self, delivery: Delivery, error: str, *, dead: bool) -> None:
        delay_ms = round(retry_delay(self.settings, delivery.attempt) * 1000)
        await self._fail_script(
            keys=[self._running, self._delayed, self._dead, self._wake],
            args=[
                self._job_prefix,
                delivery.job_id,
                delivery.attempt,
                1 if dead else 0,
                delay_ms,
                error,
                DEAD_LETTER_KEEP_SECONDS,
                WAKE_TOKENS,
            ],
        )

    async def _release(self, delivery: Delivery) -> None:
        await self._release_script(
            keys=[self._running, self._ready, self._wake],
            args=[self._job_prefix, delivery.job_id, delivery.attempt, WAKE_TOKENS],
        )

    async def _upkeep(self) -> None:
        """Heartbeats for this worker's jobs and the shared reaper, on one timer."""
        interval = min(max(self.settings.jobs_visibility_timeout_seconds / 3, 0.2), 5.0)
        while True:
            try:
                await self._heartbeat()
                await self.reap()
            except (RedisError, OSError) as exc:
                log.warning("jobs.upkeep_failed", error=str(exc))
            if cancel_swallowed():
                raise asyncio.CancelledError
            await asyncio.sleep(interval * random.uniform(0.9, 1.1))

    async def _heartbeat(self) -> None:
        if not self._active:
            return
        pairs = [item for d in self._active.values() for item in (d.job_id, d.attempt)]
        lost = await self._heartbeat_script(
            keys=[self._running], args=[self._job_prefix, self._visibility_ms, *pairs]
        )
        if int(lost):
            # A stall longer than the visibility timeout: the job may also run elsewhere.
            log.warning("jobs.lease_lost", jobs=int(lost))

    async def reap(self) -> None:
        """Put back jobs whose worker died and promote due delayed jobs (any worker may)."""
        requeued, buried = await self._reap_script(
            keys=[self._ready, self._delayed, self._running, self._dead, self._wake],
            args=[
                self._job_prefix,
                self.settings.jobs_max_attempts,
                DEAD_LETTER_KEEP_SECONDS,
                WAKE_TOKENS,
            ],
        )
        if int(requeued) or int(buried):
            log.warning(
                "jobs.reaped_lost_workers",
                requeued=int(requeued),
                dead=int(buried),
            )

    async def stats(self) -> QueueStats:
        ready, delayed, running, dead, oldest_ms, oldest_dead_ms = await self._stats_script(
            keys=[self._ready, self._delayed, self._running, self._dead],
            args=[self._job_prefix],
        )
        return QueueStats(
            ready=int(ready),
            delayed=int(delayed),
            running=int(running),
            dead=int(dead),
            oldest_age_seconds=int(oldest_ms) / 1000,
            oldest_dead_age_seconds=int(oldest_dead_ms) / 1000,
        )

    async def state(self, job_id: str) -> str | None:
        state = await self._redis.hget(self._job_prefix + job_id, "state")
        return None if state is None else _text(state)

    async def dead_letters(self, limit: int) -> list[DeadLetter]:
        ids = [_text(job_id) for job_id in await self._redis.zrange(self._dead, 0, limit - 1)]
        return await self._read_dead(ids)

    async def dead_job_ids(self, limit: int) -> set[str]:
        return {_text(job_id) for job_id in await self._redis.zrange(self._dead, 0, limit - 1)}

    async def _read_dead(self, job_ids: Sequence[str]) -> list[DeadLetter]:
        """The dead letters among `job_ids` (a hash that expired or left is skipped)."""
        fields = ("state", "name", "payload", "attempts", "last_error")
        async with self._redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hmget(self._job_prefix + job_id, fields)
                pipe.zscore(self._dead, job_id)
            replies = await pipe.execute()
        letters = []
        for index, job_id in enumerate(job_ids):
            values, died_ms = replies[2 * index], replies[2 * index + 1]
            state, name, payload, attempts, error = (
                _text(value) if value is not None else None for value in values
            )
            if state != "dead" or died_ms is None:
                continue
            letters.append(
                DeadLetter(
                    job_id,
                    name or "",
                    payload or "",
                    int(attempts or 0),
                    error or "",
                    float(died_ms) / 1000,
                )
            )
        return letters

    async def _settle_dead(self, script: Any, job_ids: Sequence[str] | None) -> list[DeadLetter]:
        """Run a dead-letter script over `job_ids` (None: every dead letter, in pages)."""
        wanted = (
            [_text(job_id) for job_id in await self._redis.zrange(self._dead, 0, -1)]
            if job_ids is None
            else list(dict.fromkeys(job_ids))
        )
        done: list[DeadLetter] = []
        for start in range(0, len(wanted), DEAD_LETTER_PAGE):
            page = await self._read_dead(wanted[start : start + DEAD_LETTER_PAGE])
            if not page:
                continue
            moved = await script(
                keys=[self._dead, self._ready, self._wake],
                args=[self._job_prefix, WAKE_TOKENS, *(letter.job_id for letter in page)],
            )
            settled = {_text(job_id) for job_id in moved}
            done += [letter for letter in page if letter.job_id in settled]
        return done

    async def retry_dead(self, job_ids: Sequence[str] | None) -> list[DeadLetter]:
        return await self._settle_dead(self._retry_dead_script, job_ids)

    async def drop_dead(self, job_ids: Sequence[str] | None) -> list[DeadLetter]:
        return await self._settle_dead(self._drop_dead_script, job_ids)

    async def ping(self) -> None:
        await self._redis.ping()
