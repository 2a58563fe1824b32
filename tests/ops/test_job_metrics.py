"""The job queue on `/metrics`: depth, dead letters and the age of the oldest one, on the
server's `/metrics` and on the job worker's own listener (`connecthub worker
--metrics-port`), under the same METRICS_TOKEN rule."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from connecthub.infra.engines import Engines
from connecthub.ops import metrics
from connecthub.ops.metrics_server import MetricsServer
from tests.conftest import free_port, start_connecthub, stop_process
from tests.infra.test_jobs import JOB_REDIS_URL, forget_prefix, wait_until
from tests.ops.test_metrics import sample
from tests.support import probe

if TYPE_CHECKING:
    from tests.conftest import TestEnv

AppFactory = Callable[..., Any]
DEAD = "connecthub_job_dead_letters"
DEAD_AGE = "connecthub_job_dead_letter_oldest_age_seconds"


async def dead_letters(engines: Engines, count: int) -> None:
    async def enough() -> bool:
        return (await engines.jobs.stats()).dead >= count

    await wait_until(enough, f"{count} dead letter(s)")


async def test_the_servers_metrics_show_dead_letters_and_their_age(
    app_factory: AppFactory,
) -> None:
    async with app_factory(jobs_max_attempts=1, task_modules="tests.infra.sample_tasks") as (
        app,
        client,
    ):
        text = (await client.get("/metrics")).text
        assert sample(text, DEAD) == 0
        assert sample(text, DEAD_AGE) == 0

        await app.state.engines.jobs.enqueue("sample.always_fails", {})
        await dead_letters(app.state.engines, 1)
        await asyncio.sleep(0.05)  # so that the oldest has an age
        text = (await client.get("/metrics")).text
        assert sample(text, DEAD) == 1
        assert (sample(text, DEAD_AGE) or 0) > 0
        dead = {"job": "sample.always_fails", "outcome": "dead"}
        assert (sample(text, "connecthub_jobs_processed_total", **dead) or 0) >= 1


@contextlib.asynccontextmanager
async def redis_engines(test_env: TestEnv, **overrides: Any) -> AsyncIterator[Engines]:
    engines = Engines.from_settings(test_env.settings(redis_url=JOB_REDIS_URL, **overrides))
    await engines.start()
    try:
        yield engines
    finally:
        await engines.stop()
        await forget_prefix(JOB_REDIS_URL, test_env.key_prefix)


async def test_the_metrics_listener_reads_the_queue_and_keeps_the_token_rule(
    test_env: TestEnv,
) -> None:
    async with redis_engines(test_env, metrics_token="scrape-" + "x" * 30) as engines:

        async def refresh() -> None:
            metrics.record_queue(await engines.jobs.stats())

        port = free_port()
        listener = MetricsServer(engines.settings, "127.0.0.1", port, refresh)
        await listener.start()
        try:
            await engines.jobs.enqueue("sample.anything", {}, delay_seconds=3600)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", verify=probe.ssl_context()
            ) as client:
                refused = await client.get("/metrics")
                assert refused.status_code == 401
                assert refused.json() == {"error": "The metrics token is missing or wrong"}
                headers = {"Authorization": "Bearer scrape-" + "x" * 30}
                scraped = await client.get("/metrics", headers=headers)
                assert scraped.status_code == 200
                assert scraped.headers["content-type"].startswith("text/plain; version=")
                assert sample(scraped.text, "connecthub_job_queue_depth") == 1
                assert sample(scraped.text, DEAD) == 0
                assert (await client.get("/", headers=headers)).status_code == 404
                # The worker's liveness probe needs no token.
                live = await client.get("/health/live")
                assert (live.status_code, live.json()) == (200, {"status": "ok"})
            # A second listener on the same port says so instead of dying silently.
            taken = MetricsServer(engines.settings, "127.0.0.1", port, refresh)
            with pytest.raises(OSError, match=f"127.0.0.1:{port}"):
                await taken.start()
        finally:
            await listener.stop()


@pytest.mark.processes  # a real `connecthub worker` process
def test_the_worker_serves_its_own_metrics_and_sweeps(test_env: TestEnv) -> None:
    port = free_port()
    log_path = test_env.workdir / "worker.log"
    environ = test_env.environ(
        REDIS_URL=JOB_REDIS_URL,
        TASK_MODULES="tests.infra.sample_tasks",
        JOBS_MAX_ATTEMPTS="1",
        WORKER_METRICS_PORT=str(port),
        JOBS_SWEEP_INTERVAL_SECONDS="0.2",
    )
    worker = start_connecthub("worker", "--concurrency", "1", env=environ, output=log_path)
    try:
        asyncio.run(_failing_job(test_env))
        deadline = time.monotonic() + 120
        while True:
            assert worker.poll() is None, log_path.read_text()
            with contextlib.suppress(httpx.HTTPError):
                text = probe.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                dead = {"job": "sample.always_fails", "outcome": "dead"}
                swept = {"kind": "poll_ends", "outcome": "done"}
                if (
                    sample(text, "connecthub_jobs_processed_total", **dead) == 1
                    and (sample(text, "connecthub_sweeper_runs_total", **swept) or 0) >= 1
                ):
                    break
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        assert sample(text, DEAD) == 1
        # The worker sweeps too (nothing was lost here).
        assert sample(text, "connecthub_sweeper_requeued_total", kind="poll_ends") == 0
        assert (sample(text, "connecthub_sweeper_last_success_timestamp_seconds") or 0) > 0
    finally:
        stop_process(worker)
        asyncio.run(forget_prefix(JOB_REDIS_URL, test_env.key_prefix))
    assert worker.returncode == 0, log_path.read_text()


async def _failing_job(test_env: TestEnv) -> None:
    engines = Engines.from_settings(test_env.settings(redis_url=JOB_REDIS_URL))
    try:
        await engines.jobs.enqueue("sample.always_fails", {})
    finally:
        await engines.stop()
