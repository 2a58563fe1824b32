"""A scheduled status whose publishing worker is killed -9 in the middle of publishing is
posted exactly once, by the worker started after it (issue 21).

Real processes: `connecthub worker` on the run's PostgreSQL and Redis. The test holds the
author's account row, so the worker's publishing transaction stops right after it has
claimed the scheduled status (deleted its row, uncommitted) and before the post is counted
on the author: the test sees it waiting there, and sees the scheduled row locked by it.
Then the worker is killed -9; its transaction never commits (PostgreSQL rolls it back when
it finds the client gone), the row is there again, and nothing was posted. A new worker
takes the job back when its visibility deadline passes and posts the status, once.
(Two publishers at once, on both engines: tests/scheduled/test_publishing.py.)
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from connecthub.scheduled.models import ScheduledStatus
from connecthub.scheduled.service import PUBLISH_JOB, publish_job_id
from tests.conftest import TestEnv, start_connecthub, stop_process
from tests.engines import postgres_server_url, redis_url
from tests.scheduled.support import make_due, schedule, scheduled_count, statuses_of, wait_posted
from tests.social_factories import user_with_token
from tests.support.forked_command import ForkedCommand

pytestmark = [
    pytest.mark.processes,
    pytest.mark.skipif(
        postgres_server_url() is None or redis_url() is None,
        reason="worker processes run on PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL)",
    ),
]

DEADLINE_SECONDS = 120.0  # a worker process imports slowly on a busy machine; not a timing


def _start_worker(env: TestEnv, name: str) -> ForkedCommand:
    environ = env.environ(JOBS_VISIBILITY_TIMEOUT_SECONDS="3", PYTHONUNBUFFERED="1")
    return start_connecthub(
        "worker", "--concurrency", "2", env=environ, output=env.workdir / f"{name}.log"
    )


async def _waiting_publisher(app: Any) -> int | None:
    """The pid of a backend waiting for a lock to count a post (the publisher), if any."""
    query = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        " AND query ILIKE 'UPDATE accounts%'"
    )
    async with app.state.engines.db.session() as session:
        return (await session.execute(query)).scalar()


async def _backend_alive(app: Any, pid: int) -> bool:
    query = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
    async with app.state.engines.db.session() as session:
        return bool((await session.execute(query, {"pid": pid})).scalar_one())


async def _claimed_by_another(app: Any, scheduled_id: int) -> bool:
    """Whether another transaction holds the scheduled row (it deleted it, uncommitted)."""
    query = (
        select(ScheduledStatus.id)
        .where(ScheduledStatus.id == scheduled_id)
        .with_for_update(nowait=True)
    )
    try:
        async with app.state.engines.db.transaction() as session:
            await session.execute(query)
    except DBAPIError as exc:
        return "lock" in str(exc).lower()
    return False


async def test_a_worker_killed_mid_publish_posts_it_once_after_restart(
    app_factory: Any, test_env: TestEnv
) -> None:
    async with app_factory(jobs_in_server=False) as (app, client):
        alice, token = await user_with_token(app, "alice")
        entity = (await schedule(client, token, "Exactly once")).json()
        scheduled_id = int(entity["id"])
        due = utcnow()
        await make_due(app, scheduled_id, due)
        engines = app.state.engines
        workers: list[subprocess.Popen[bytes]] = []
        try:
            async with engines.db.transaction() as holding:
                await holding.execute(
                    select(Account.id).where(Account.id == alice.id).with_for_update()
                )
                await engines.jobs.enqueue(
                    PUBLISH_JOB,
                    {"scheduled_status_id": scheduled_id},
                    job_id=publish_job_id(scheduled_id, due),
                )
                workers.append(_start_worker(test_env, "worker-1"))
                deadline = time.monotonic() + DEADLINE_SECONDS
                pid = None
                while pid is None:
                    assert time.monotonic() < deadline, "the publisher never reached the post"
                    assert workers[0].poll() is None
                    await asyncio.sleep(0.1)
                    pid = await _waiting_publisher(app)
                assert await _claimed_by_another(app, scheduled_id)
                workers[0].kill()
                workers[0].wait(timeout=15)
            # The account row is free: the dead worker's backend finds its client gone and
            # rolls back, giving the scheduled row back.
            while await _backend_alive(app, pid):
                assert time.monotonic() < deadline, "the killed worker's transaction lingers"
                await asyncio.sleep(0.1)
            assert await statuses_of(app, alice.id) == []
            assert await scheduled_count(app, alice.id) == 1
            workers.append(_start_worker(test_env, "worker-2"))
            await wait_posted(app, alice.id, seconds=DEADLINE_SECONDS)
            [status] = await statuses_of(app, alice.id)
            assert status.text == "Exactly once"
            assert await scheduled_count(app, alice.id) == 0
            async with engines.db.session() as session:
                counted = await session.scalar(
                    select(Account.statuses_count).where(Account.id == alice.id)
                )
            assert counted == 1  # counted once: the killed run's count was rolled back
        finally:
            for worker in workers:
                stop_process(worker)
