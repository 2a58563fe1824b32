"""Background jobs: an in-process runner (embedded) or a durable queue on Redis (distributed).

Handlers are registered by name with `@job("name")` in each domain's `tasks.py` and must be
idempotent: the durable queue runs a job again when its worker dies before acknowledging.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from connecthub.infra.engines import Engines

Payload = dict[str, Any]


@dataclass(frozen=True)
class JobContext:
    engines: Engines
    job_id: str
    attempt: int


JobHandler = Callable[[JobContext, Payload], Awaitable[None]]

HANDLERS: dict[str, JobHandler] = {}


def job(name: str) -> Callable[[JobHandler], JobHandler]:
    def register(handler: JobHandler) -> JobHandler:
        if name in HANDLERS and HANDLERS[name] is not handler:
            raise ValueError(f"job {name!r} is registered twice")
        HANDLERS[name] = handler
        return handler

    return register


# Job runs waiting in `interruptible`, and the runs of workers that are stopping.
_interruptible: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
_stopping: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Around a job's wait for the process rather than for its own work (the detection
    model's first load): a stopping worker cancels the run there instead of draining it, and
    gives the job back to run again (handlers are idempotent). Elsewhere it changes nothing."""
    task = asyncio.current_task()
    if task is None:
        yield
        return
    _interruptible.add(task)
    if task in _stopping:
        task.cancel()
    try:
        yield
    finally:
        _interruptible.discard(task)


def interrupt(runs: Iterable[asyncio.Task[Any]]) -> None:
    """A stopping worker's job runs: those in `interruptible` are cancelled now, the others
    if they get there."""
    for run in runs:
        _stopping.add(run)
        if run in _interruptible:
            run.cancel()


@dataclass(frozen=True)
class JobRequest:
    """One job to queue: what `enqueue` takes, for several at once (`enqueue_many`)."""

    name: str
    payload: Payload
    job_id: str
    delay_seconds: float = 0


@dataclass(frozen=True)
class QueueStats:
    ready: int
    delayed: int
    running: int
    dead: int
    oldest_age_seconds: float
    # How long the oldest dead letter has waited for an operator (0 when there is none).
    oldest_dead_age_seconds: float = 0.0


@dataclass(frozen=True)
class DeadLetter:
    """A job that failed every attempt, kept (7 days on Redis) until an operator retries or
    drops it (`connecthub jobs`)."""

    job_id: str
    name: str
    payload: str  # the JSON text the job was queued with
    attempts: int
    last_error: str
    died_at: float  # seconds since the epoch


class JobQueue(Protocol):
    # True when a job the queue accepted outlives this process (Redis): the outbox then
    # deletes a job's row as soon as the queue has it. False for the in-memory queue, which
    # calls `on_finished` with each job id that leaves it (done or dead-lettered), so the
    # outbox keeps the row until then and a restart runs the job again (infra/outbox.py).
    durable: bool
    on_finished: Callable[[str], None] | None

    async def enqueue(
        self, name: str, payload: Payload, *, job_id: str | None = None, delay_seconds: float = 0
    ) -> str:
        """Store the job durably (distributed) and return its id. A `job_id` that is already
        queued or running is not queued again."""
        ...

    async def enqueue_many(self, jobs: Sequence[JobRequest]) -> None:
        """`enqueue` for several jobs: one round trip (distributed)."""
        ...

    async def run_worker(self, engines: Engines, concurrency: int) -> None:
        """Take and run jobs until cancelled."""
        ...

    async def stats(self) -> QueueStats: ...

    async def state(self, job_id: str) -> str | None:
        """Where the job is: `ready`, `delayed`, `running` or `dead`; None when the queue
        does not know it (finished, never queued, or lost)."""
        ...

    async def dead_letters(self, limit: int) -> list[DeadLetter]:
        """The oldest `limit` dead letters, oldest first."""
        ...

    async def dead_job_ids(self, limit: int) -> set[str]:
        """The ids of up to `limit` dead letters (the sweeper leaves those to operators)."""
        ...

    async def retry_dead(self, job_ids: Sequence[str] | None) -> list[DeadLetter]:
        """Queue these dead letters (None: all of them) again with a fresh set of attempts;
        returns the ones that were dead and now are ready."""
        ...

    async def drop_dead(self, job_ids: Sequence[str] | None) -> list[DeadLetter]:
        """Forget these dead letters (None: all of them); returns the ones dropped."""
        ...

    async def ping(self) -> None: ...
