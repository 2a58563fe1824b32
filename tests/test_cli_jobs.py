"""`connecthub jobs`: the operator's view of dead letters (list, retry, drop) and a sweep on
demand, each leaving an audit line. The queue is a real Redis (the job tests' one, under
this test's key prefix); the commands run in the test process (tests/cli_runner.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

from connecthub.infra.engines import Engines
from tests.cli_runner import CliResult, run_cli
from tests.infra.test_jobs import JOB_REDIS_URL, forget_prefix, running_worker, wait_until
from tests.test_cli import assert_one_line_failure, audit_lines

if TYPE_CHECKING:
    from tests.conftest import TestEnv


def jobs(test_env: TestEnv, *args: str, **environ: str) -> CliResult:
    environ.setdefault("REDIS_URL", JOB_REDIS_URL)
    return run_cli(test_env.environ(**environ), "jobs", *args)


@contextlib.asynccontextmanager
async def queue_with_dead_letters(test_env: TestEnv, count: int) -> AsyncIterator[Engines]:
    """Redis engines on the test's prefix, holding `count` dead letters."""
    settings = test_env.settings(
        redis_url=JOB_REDIS_URL, jobs_max_attempts=1, task_modules=["tests.infra.sample_tasks"]
    )
    engines = Engines.from_settings(settings)
    await engines.start()
    try:
        for n in range(count):
            await engines.jobs.enqueue("sample.always_fails", {"n": n}, job_id=f"job-{n}")

        async def all_dead() -> bool:
            return (await engines.jobs.stats()).dead == count

        async with running_worker(engines):
            await wait_until(all_dead, f"{count} dead letters")
        yield engines
    finally:
        await engines.stop()
        await forget_prefix(JOB_REDIS_URL, test_env.key_prefix)


def audit(result: CliResult) -> list[dict[str, Any]]:
    lines = audit_lines(result)
    for line in lines:
        assert (line["event"], line["actor"], line["outcome"]) == ("admin.cli", "cli", "done")
    return lines


async def test_jobs_list_shows_each_dead_letter(test_env: TestEnv) -> None:
    async with queue_with_dead_letters(test_env, 2):
        listed = await asyncio.to_thread(jobs, test_env, "list")
        assert listed.returncode == 0, listed.stderr
        assert "2 dead letter(s), the oldest" in listed.stdout
        for n in range(2):
            assert f"job-{n}  sample.always_fails  attempts=1" in listed.stdout
            assert f'payload: {{"n":{n}}}' in listed.stdout
        assert "error:   RuntimeError: fails on purpose" in listed.stdout
        [line] = audit(listed)
        assert (line["action"], line["dead_letters"]) == ("jobs_list", 2)

        first = await asyncio.to_thread(jobs, test_env, "list", "--limit", "1")
        assert "the 1 oldest:" in first.stdout
        assert first.stdout.count("sample.always_fails  attempts=") == 1


async def test_jobs_retry_queues_a_dead_letter_again(test_env: TestEnv) -> None:
    async with queue_with_dead_letters(test_env, 2) as engines:
        retried = await asyncio.to_thread(jobs, test_env, "retry", "job-0")
        assert retried.returncode == 0, retried.stderr
        assert "Retried job-0 (sample.always_fails)." in retried.stdout
        [line] = audit(retried)
        assert (line["action"], line["job_id"], line["job"]) == (
            "jobs_retry",
            "job-0",
            "sample.always_fails",
        )
        stats = await engines.jobs.stats()
        assert (stats.ready, stats.dead) == (1, 1)

        again = await asyncio.to_thread(jobs, test_env, "retry", "job-0", "job-1")
        assert again.returncode == 2
        assert "Retried job-1 (sample.always_fails)." in again.stdout
        assert "job-0: not a dead letter" in again.stderr
        assert [line["job_id"] for line in audit(again)] == ["job-1"]

        everything = await asyncio.to_thread(jobs, test_env, "retry", "--all")
        assert everything.returncode == 0
        assert "No dead letters." in everything.stdout
        assert audit(everything) == []
        assert (await engines.jobs.stats()).ready == 2


async def test_jobs_drop_forgets_dead_letters(test_env: TestEnv) -> None:
    async with queue_with_dead_letters(test_env, 3) as engines:
        one = await asyncio.to_thread(jobs, test_env, "drop", "job-2")
        assert one.returncode == 0, one.stderr
        assert "Dropped job-2 (sample.always_fails)." in one.stdout
        assert [line["action"] for line in audit(one)] == ["jobs_drop"]

        rest = await asyncio.to_thread(jobs, test_env, "drop", "--all")
        assert rest.returncode == 0, rest.stderr
        assert sorted(line["job_id"] for line in audit(rest)) == ["job-0", "job-1"]
        stats = await engines.jobs.stats()
        assert (stats.ready, stats.dead) == (0, 0)
        listed = await asyncio.to_thread(jobs, test_env, "list")
        assert "No dead letters." in listed.stdout


@pytest.mark.slow
def test_jobs_commands_refuse_what_they_cannot_do(test_env: TestEnv) -> None:
    neither = jobs(test_env, "retry")
    assert_one_line_failure(neither, "JOB_IDS", "--all")
    both = jobs(test_env, "drop", "job-1", "--all")
    assert_one_line_failure(both, "JOB_IDS", "not both")
    embedded = run_cli({**test_env.environ(), "REDIS_URL": ""}, "jobs", "list")
    assert_one_line_failure(embedded, "REDIS_URL", "embedded mode")
    unreachable = jobs(test_env, "list", REDIS_URL="redis://127.0.0.1:1/0")
    assert_one_line_failure(unreachable, "REDIS_URL", "cannot use Redis")


async def test_jobs_sweep_reports_what_it_queued(test_env: TestEnv) -> None:
    swept = await asyncio.to_thread(jobs, test_env, "sweep")
    await forget_prefix(JOB_REDIS_URL, test_env.key_prefix)
    assert swept.returncode == 0, swept.stderr
    for kind in ("account_deletions", "poll_ends", "media_processing", "media_purges"):
        assert f"{kind}: 0 queued" in swept.stdout
    [line] = audit(swept)
    assert line["action"] == "jobs_sweep"
    assert line["queued_account_deletions"] == 0
    assert json.dumps(line)  # plain values only
