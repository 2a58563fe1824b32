"""Background jobs on both engines, and the durable queue's promises with real processes.

Run: `.venv/bin/pytest tests/infra/test_jobs.py -q` (add `-n 2` if you like). The Redis job
queue is always tested on a real Redis, whatever the rest of the run uses: `TEST_REDIS_URL`
if set, else redis://127.0.0.1:6379/0 (start one with `redis-server --daemonize yes
--bind 127.0.0.1 --port 6379 --save "" --appendonly no`). Each test has its own key prefix
and deletes it afterwards; the Redis restart test starts its own redis-server on a free port.

Handlers live in tests/infra/sample_tasks.py; worker processes load them through
`TASK_MODULES`. Waits poll with generous deadlines; nothing asserts how fast anything is.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from redis.exceptions import RedisError

from connecthub.infra.engines import Engines
from connecthub.infra.jobs import JobRequest, QueueStats
from tests.conftest import free_port, start_connecthub, stop_process
from tests.engines import redis_url
from tests.infra.sample_tasks import FIXED, RUNS, sample_keys

if TYPE_CHECKING:
    from tests.conftest import TestEnv

JOB_REDIS_URL = redis_url() or "redis://127.0.0.1:6379/0"
REPO_ROOT = Path(__file__).resolve().parents[2]
EMPTY = QueueStats(ready=0, delayed=0, running=0, dead=0, oldest_age_seconds=0.0)
DEADLINE_SECONDS = 60.0


async def wait_until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        await asyncio.sleep(0.05)


async def wait_for_runs(job_id: str, count: int = 1) -> None:
    async def done() -> bool:
        return len(RUNS[job_id]) >= count

    await wait_until(done, f"{count} run(s) of {job_id}")


async def wait_for_stats(engines: Engines, wanted: Callable[[QueueStats], bool]) -> QueueStats:
    seen: list[QueueStats] = []

    async def matches() -> bool:
        seen.append(await engines.jobs.stats())
        return wanted(seen[-1])

    await wait_until(matches, f"queue stats to settle (last: {seen[-1] if seen else None})")
    return seen[-1]


def processed(job: str, outcome: str) -> float:
    labels = {"job": job, "outcome": outcome}
    return REGISTRY.get_sample_value("connecthub_jobs_processed_total", labels) or 0.0


async def forget_prefix(url: str, prefix: str) -> None:
    redis = Redis.from_url(url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


@contextlib.asynccontextmanager
async def started_engines(test_env: TestEnv, **overrides: object) -> AsyncIterator[Engines]:
    engines = Engines.from_settings(test_env.settings(**overrides))
    await engines.start()
    try:
        yield engines
    finally:
        await engines.stop()
        await forget_prefix(JOB_REDIS_URL, test_env.key_prefix)


@contextlib.asynccontextmanager
async def running_worker(engines: Engines, concurrency: int = 2) -> AsyncIterator[None]:
    task = asyncio.create_task(engines.jobs.run_worker(engines, concurrency))
    try:
        yield
        assert not task.done(), "the worker stopped by itself"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture(params=["in-process", "redis"])
async def engines(request: pytest.FixtureRequest, test_env: TestEnv) -> AsyncIterator[Engines]:
    """The engines of one mode, with a short retry backoff and three attempts."""
    async with started_engines(
        test_env,
        redis_url=None if request.param == "in-process" else JOB_REDIS_URL,
        jobs_max_attempts=3,
        jobs_retry_base_seconds=0.05,
    ) as started:
        yield started


def new_id() -> str:
    return uuid.uuid4().hex


# --- both engines -------------------------------------------------------------------------


async def test_an_enqueued_job_runs_with_its_payload(engines: Engines) -> None:
    job_id = await engines.jobs.enqueue("sample.record", {"greeting": "hello", "n": [1, 2]})
    async with running_worker(engines):
        await wait_for_runs(job_id)
        await wait_for_stats(engines, lambda stats: stats == EMPTY)
    [run] = RUNS[job_id]
    assert run.payload == {"greeting": "hello", "n": [1, 2]}
    assert run.attempt == 1


async def test_a_job_id_already_queued_is_not_queued_twice(engines: Engines) -> None:
    job_id = new_id()
    assert await engines.jobs.enqueue("sample.record", {"n": 1}, job_id=job_id) == job_id
    assert await engines.jobs.enqueue("sample.record", {"n": 2}, job_id=job_id) == job_id
    assert (await engines.jobs.stats()).ready == 1
    async with running_worker(engines):
        await wait_for_runs(job_id)
        await wait_for_stats(engines, lambda stats: stats == EMPTY)
        assert [run.payload for run in RUNS[job_id]] == [{"n": 1}]
        # Finished jobs are forgotten: the same id may be queued again.
        await engines.jobs.enqueue("sample.record", {"n": 3}, job_id=job_id)
        await wait_for_runs(job_id, 2)
    assert [run.payload for run in RUNS[job_id]] == [{"n": 1}, {"n": 3}]


async def test_enqueue_many_queues_each_job_once_with_its_delay(engines: Engines) -> None:
    """What the job outbox relays with: several jobs in one call (one round trip on Redis),
    each skipped when its id is already queued."""
    first, second, later, taken = new_id(), new_id(), new_id(), new_id()
    await engines.jobs.enqueue("sample.record", {"n": 0}, job_id=taken)
    await engines.jobs.enqueue_many(
        [
            JobRequest("sample.record", {"n": 1}, first),
            JobRequest("sample.record", {"n": 2}, second),
            JobRequest("sample.record", {"n": 3}, later, delay_seconds=60),
            JobRequest("sample.record", {"n": 4}, taken),
        ]
    )
    stats = await engines.jobs.stats()
    assert (stats.ready, stats.delayed) == (3, 1)
    async with running_worker(engines):
        for job_id in (first, second, taken):
            await wait_for_runs(job_id)
        await wait_for_stats(engines, lambda stats: stats.ready == 0 and stats.running == 0)
    assert [run.payload for run in RUNS[first]] == [{"n": 1}]
    assert [run.payload for run in RUNS[second]] == [{"n": 2}]
    assert [run.payload for run in RUNS[taken]] == [{"n": 0}]
    assert RUNS[later] == []
    assert (await engines.jobs.stats()).delayed == 1


async def test_a_failing_job_is_retried_then_dead_lettered(engines: Engines) -> None:
    retries, deaths = (
        processed("sample.always_fails", "retry"),
        processed("sample.always_fails", "dead"),
    )
    job_id = await engines.jobs.enqueue("sample.always_fails", {})
    async with running_worker(engines):
        stats = await wait_for_stats(engines, lambda stats: stats.dead == 1)
    assert dataclasses.replace(stats, oldest_dead_age_seconds=0.0) == QueueStats(
        ready=0, delayed=0, running=0, dead=1, oldest_age_seconds=0.0
    )
    assert 0 <= stats.oldest_dead_age_seconds < DEADLINE_SECONDS  # it died just now
    assert [run.attempt for run in RUNS[job_id]] == [1, 2, 3]  # JOBS_MAX_ATTEMPTS=3
    assert processed("sample.always_fails", "retry") == retries + 2
    assert processed("sample.always_fails", "dead") == deaths + 1


async def test_a_job_that_fails_once_succeeds_on_retry(engines: Engines) -> None:
    successes = processed("sample.flaky", "success")
    job_id = await engines.jobs.enqueue("sample.flaky", {"succeed_on": 2})
    async with running_worker(engines):
        await wait_for_runs(job_id, 2)
        await wait_for_stats(engines, lambda stats: stats == EMPTY)
    assert [run.attempt for run in RUNS[job_id]] == [1, 2]
    assert processed("sample.flaky", "success") == successes + 1


async def test_an_unknown_job_is_dead_lettered_and_the_worker_carries_on(
    engines: Engines,
) -> None:
    await engines.jobs.enqueue("sample.nobody_handles_this", {"x": 1})
    job_id = await engines.jobs.enqueue("sample.record", {})
    async with running_worker(engines, concurrency=1):
        await wait_for_runs(job_id)
        stats = await wait_for_stats(engines, lambda stats: stats.dead == 1 and stats.ready == 0)
    assert stats.running == 0


async def test_dead_letters_are_listed_retried_and_dropped(engines: Engines) -> None:
    broken = await engines.jobs.enqueue("sample.fails_until_fixed", {"n": 1})
    other = await engines.jobs.enqueue("sample.fails_until_fixed", {"n": 2})
    assert await engines.jobs.state(broken) == "ready"
    async with running_worker(engines):
        stats = await wait_for_stats(engines, lambda stats: stats.dead == 2)
        assert stats.ready == stats.delayed == stats.running == 0
        letters = {letter.job_id: letter for letter in await engines.jobs.dead_letters(10)}
        assert set(letters) == {broken, other}
        letter = letters[broken]
        assert letter.name == "sample.fails_until_fixed"
        assert json.loads(letter.payload) == {"n": 1}
        assert letter.attempts == 3  # JOBS_MAX_ATTEMPTS
        assert letter.last_error == "RuntimeError: not fixed yet"
        assert abs(letter.died_at - time.time()) < DEADLINE_SECONDS
        assert await engines.jobs.dead_job_ids(10) == {broken, other}
        assert await engines.jobs.state(broken) == "dead"
        assert len(await engines.jobs.dead_letters(1)) == 1  # oldest first, as many as asked

        # The operator fixes the cause and retries one: it runs again with fresh attempts.
        FIXED.add(broken)
        retried = await engines.jobs.retry_dead([broken, "no-such-job"])
        assert [letter.job_id for letter in retried] == [broken]
        await wait_for_runs(broken, 4)
        stats = await wait_for_stats(
            engines,
            lambda stats: (
                dataclasses.replace(stats, oldest_dead_age_seconds=0)
                == (dataclasses.replace(EMPTY, dead=1))
            ),
        )
        assert RUNS[broken][-1].attempt == 1
        assert await engines.jobs.state(broken) is None  # done, forgotten
        assert [letter.job_id for letter in await engines.jobs.dead_letters(10)] == [other]
        assert await engines.jobs.retry_dead([broken]) == []  # no longer dead

        dropped = await engines.jobs.drop_dead(None)
        assert [letter.job_id for letter in dropped] == [other]
        assert await engines.jobs.stats() == EMPTY
        assert await engines.jobs.dead_letters(10) == []
        assert await engines.jobs.retry_dead(None) == []
        assert await engines.jobs.state(other) is None
    assert len(RUNS[other]) == 3  # dropped, never run again


@pytest.mark.slow
async def test_a_delayed_job_waits_its_delay(engines: Engines) -> None:
    enqueued_at = time.time()
    job_id = await engines.jobs.enqueue("sample.record", {}, delay_seconds=1.0)
    stats = await engines.jobs.stats()
    assert (stats.ready, stats.delayed) == (0, 1)
    assert await engines.jobs.state(job_id) == "delayed"
    async with running_worker(engines):
        await wait_for_runs(job_id)
        await wait_for_stats(engines, lambda stats: stats == EMPTY)
    # Never early (50 ms of slack for clock rounding between Redis and this process).
    assert RUNS[job_id][0].started_at - enqueued_at >= 0.95


@pytest.mark.slow
async def test_a_busy_worker_runs_every_job_once_and_leaves_the_queue_empty(
    test_env: TestEnv,
) -> None:
    """A busy worker takes as many ready jobs as it has free slots and acknowledges finished
    ones with its next take: none may be left unacknowledged, so none runs again when its
    visibility timeout (2 s here) passes, and the queue is empty once the last is done, the
    worker then idle."""
    async with started_engines(
        test_env, redis_url=JOB_REDIS_URL, jobs_visibility_timeout_seconds=2
    ) as engines:
        ids = [new_id() for _ in range(40)]
        await engines.jobs.enqueue_many(
            [
                JobRequest("sample.pause", {"seconds": 0.01 * (n % 4)}, job_id)
                for n, job_id in enumerate(ids)
            ]
        )
        async with running_worker(engines, concurrency=3):
            for job_id in ids:
                await wait_for_runs(job_id)
            await wait_for_stats(engines, lambda stats: stats == EMPTY)
            await asyncio.sleep(2.5)  # past every visibility deadline
            assert await engines.jobs.stats() == EMPTY
        assert all(len(RUNS[job_id]) == 1 for job_id in ids)


async def test_a_stopping_worker_acknowledges_what_it_finished(test_env: TestEnv) -> None:
    """A worker stopped while its jobs run waits for them, then sends the acknowledgements it
    still holds before it returns: nothing is left to run again after the visibility
    timeout."""
    async with started_engines(
        test_env, redis_url=JOB_REDIS_URL, jobs_visibility_timeout_seconds=2
    ) as engines:
        ids = [new_id() for _ in range(4)]
        await engines.jobs.enqueue_many(
            [JobRequest("sample.pause", {"seconds": 0.3}, job_id) for job_id in ids]
        )
        # Stopped while all four run: busy, it takes nothing after them.
        async with running_worker(engines, concurrency=4):
            for job_id in ids:
                await wait_for_runs(job_id)
        assert await engines.jobs.stats() == EMPTY
        assert [await engines.jobs.state(job_id) for job_id in ids] == [None] * 4


# --- embedded server ------------------------------------------------------------------------


async def test_the_embedded_server_runs_jobs_in_process(app_factory: Callable[..., object]) -> None:
    async with app_factory(  # type: ignore[attr-defined]
        redis_url=None, task_modules="tests.infra.sample_tasks"
    ) as (app, client):
        jobs = app.state.engines.jobs
        job_id = await jobs.enqueue("sample.record", {"from": "the app"})
        await wait_for_runs(job_id)
        assert RUNS[job_id][0].payload == {"from": "the app"}

        await jobs.enqueue("sample.record", {}, delay_seconds=3600)
        metrics = (await client.get("/metrics")).text
        assert "connecthub_job_queue_depth 1.0" in metrics


# --- the durable queue, with real worker processes --------------------------------------------


class WorkerProcess:
    """A real `connecthub worker` on this test's Redis prefix, logging to a file."""

    def __init__(self, test_env: TestEnv, name: str, **environ: str) -> None:
        self.log_path = test_env.workdir / f"{name}.log"
        env = test_env.environ(
            REDIS_URL=JOB_REDIS_URL,
            TASK_MODULES="tests.infra.sample_tasks",
            JOBS_VISIBILITY_TIMEOUT_SECONDS="2",
            PYTHONPATH=os.pathsep.join(
                filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
            ),
            PYTHONUNBUFFERED="1",
            **environ,
        )
        self.process = start_connecthub(
            "worker", "--concurrency", "2", env=env, output=self.log_path, cwd=REPO_ROOT
        )

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def exited(self) -> int:
        async def gone() -> bool:
            return self.process.poll() is not None

        await wait_until(gone, f"worker exit; log:\n{self.logs()}")
        return self.process.returncode


@pytest.fixture
async def redis_engines(test_env: TestEnv) -> AsyncIterator[Engines]:
    async with started_engines(
        test_env, redis_url=JOB_REDIS_URL, jobs_visibility_timeout_seconds=2
    ) as started:
        yield started


@pytest.mark.processes
async def test_a_job_acknowledged_before_a_worker_kill_9_still_runs_exactly_once_in_effect(
    test_env: TestEnv, redis_engines: Engines
) -> None:
    redis = redis_engines.redis
    assert redis is not None
    keys = sample_keys(test_env.key_prefix)
    job_id = new_id()
    await redis.set(keys("sample", "hold", job_id), 1)  # the first run stops after its effect
    # Enqueue returns once Redis holds the job: from here on it must not be lost.
    await redis_engines.jobs.enqueue(
        "sample.credit", {"account": "alice", "amount": 5}, job_id=job_id
    )

    async def starts() -> int:
        return int(await redis.get(keys("sample", "starts", job_id)) or 0)

    first = WorkerProcess(test_env, "worker-1")
    try:
        await wait_until(lambda: _ge(starts(), 1), "the first run to start")
        # A job id that is running is not queued again.
        await redis_engines.jobs.enqueue(
            "sample.credit", {"account": "alice", "amount": 5}, job_id=job_id
        )
        stats = await redis_engines.jobs.stats()
        assert (stats.running, stats.ready, stats.delayed) == (1, 0, 0)
        first.process.send_signal(signal.SIGKILL)
        assert await first.exited() == -signal.SIGKILL
    finally:
        stop_process(first.process)

    await redis.delete(keys("sample", "hold", job_id))
    second = WorkerProcess(test_env, "worker-2")
    try:
        await wait_until(lambda: _ge(starts(), 2), f"a second run; log:\n{second.logs()}")
        await wait_for_stats(redis_engines, lambda stats: stats == EMPTY)
        second.process.send_signal(signal.SIGTERM)
        assert await second.exited() == 0, second.logs()
    finally:
        stop_process(second.process)

    assert await starts() == 2  # at least once: the job ran again after the kill
    ledger = await redis.hgetall(keys("sample", "ledger", "alice"))
    assert ledger == {job_id.encode(): b"5"}  # exactly once in effect
    assert await redis.get(keys("sample", "finished", job_id)) == b"1"


async def _ge(value: Awaitable[int], minimum: int) -> bool:
    return await value >= minimum


@pytest.mark.processes
async def test_sigterm_lets_the_running_job_finish_before_the_worker_exits(
    test_env: TestEnv, redis_engines: Engines
) -> None:
    redis = redis_engines.redis
    assert redis is not None
    keys = sample_keys(test_env.key_prefix)
    job_id = new_id()
    await redis.set(keys("sample", "hold", job_id), 1)
    await redis_engines.jobs.enqueue(
        "sample.credit", {"account": "bob", "amount": 1}, job_id=job_id
    )

    worker = WorkerProcess(test_env, "worker", LOG_LEVEL="info", SHUTDOWN_DRAIN_SECONDS="60")
    try:
        await wait_until(
            lambda: _ge(_int(redis.get(keys("sample", "starts", job_id))), 1), "the job to start"
        )
        worker.process.send_signal(signal.SIGTERM)

        async def draining() -> bool:
            return "jobs.draining" in worker.logs()

        await wait_until(draining, f"the worker to drain; log:\n{worker.logs()}")
        assert worker.process.poll() is None  # still finishing the job
        await redis.delete(keys("sample", "hold", job_id))
        assert await worker.exited() == 0, worker.logs()
    finally:
        stop_process(worker.process)

    assert await redis.get(keys("sample", "finished", job_id)) == b"1"
    assert await redis_engines.jobs.stats() == EMPTY


async def _int(value: Awaitable[bytes | None]) -> int:
    return int(await value or 0)


@pytest.mark.processes
async def test_the_worker_carries_on_after_a_redis_restart(test_env: TestEnv) -> None:
    server_binary = shutil.which("redis-server")
    assert server_binary, "redis-server must be installed for this test"
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"

    def start_redis() -> subprocess.Popen[bytes]:
        options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        return subprocess.Popen(
            [server_binary, *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def answers() -> bool:
        probe = Redis.from_url(url)
        try:
            return bool(await probe.ping())
        except (RedisError, OSError):
            return False
        finally:
            await probe.aclose()

    redis_server = start_redis()
    try:
        await wait_until(answers, "the private redis-server to start")
        async with started_engines(test_env, redis_url=url) as engines, running_worker(engines):
            before = await engines.jobs.enqueue("sample.record", {"n": "before"})
            await wait_for_runs(before)

            stop_process(redis_server)
            await asyncio.sleep(1.0)  # let the worker notice Redis is gone
            redis_server = start_redis()
            await wait_until(answers, "the private redis-server to restart")

            after = await engines.jobs.enqueue("sample.record", {"n": "after"})
            await wait_for_runs(after)
    finally:
        stop_process(redis_server)


@pytest.mark.processes
async def test_a_worker_refuses_a_task_module_it_cannot_import(test_env: TestEnv) -> None:
    output = test_env.workdir / "worker.out"
    worker = start_connecthub(
        "worker",
        env=test_env.environ(REDIS_URL=JOB_REDIS_URL, TASK_MODULES="tests.infra.no_such_tasks"),
        output=output,
        cwd=REPO_ROOT,
    )
    assert worker.wait(60) == 2
    assert "TASK_MODULES" in output.read_text()
