"""Must-run work is recovered from the database: for each kind of job whose loss matters,
the job is queued by a real request, then lost as a queue restart without persistence loses
it (the queue's Redis keys deleted; in embedded mode, the server's in-memory queue ends with
the server), and a server started on the same database sweeps it back and completes it.

Each server that sweeps here does so every 0.2 s with no grace period; production waits
JOBS_SWEEP_GRACE_SECONDS (300 s) before calling pending work lost."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import select, update

from connecthub.accounts.models import User
from connecthub.clock import utcnow
from connecthub.infra.sweeper import sweep_once
from connecthub.media.models import MediaAttachment, MediaPurge
from connecthub.statuses.models import Poll, Status
from tests.conftest import running_app
from tests.engines import redis_url
from tests.infra.test_jobs import forget_prefix, running_worker
from tests.media import files
from tests.media.support import key_of, upload, wait_for_media
from tests.privacy.support import ask_deletion, deletion_record, wait_erased, wait_gone
from tests.social_factories import auth, post_status, user_with_token

if TYPE_CHECKING:
    from tests.conftest import TestEnv

DEADLINE_SECONDS = 60.0


def requeued(kind: str) -> float:
    return REGISTRY.get_sample_value("connecthub_sweeper_requeued_total", {"kind": kind}) or 0.0


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await check():
        assert time.monotonic() < deadline, f"gave up waiting for: {what}"
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def server_whose_queue_is_lost(
    test_env: TestEnv,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A server that queues jobs but runs none; at the end of the block its queued jobs
    are lost (after checking that there were some)."""
    async with running_app(test_env, jobs_in_server=False) as (app, client):
        yield app, client
        stats = await app.state.engines.jobs.stats()
        assert stats.ready + stats.delayed >= 1, stats  # the job really was queued
        url = redis_url()
        if url is not None:
            # A Redis restart without persistence: the queue's keys are gone.
            await forget_prefix(url, f"{test_env.key_prefix}jobs:")
            assert (await app.state.engines.jobs.stats()).ready == 0
        # In embedded mode the queue is this server's memory: it ends here.


@contextlib.asynccontextmanager
async def server_that_sweeps(
    test_env: TestEnv, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app(
        test_env,
        jobs_in_server=True,
        jobs_sweep_interval_seconds=0.2,
        jobs_sweep_grace_seconds=0,
        **overrides,
    ) as pair:
        yield pair


@pytest.mark.slow
async def test_a_lost_account_erasure_is_completed(test_env: TestEnv) -> None:
    before = requeued("account_deletions")
    async with server_whose_queue_is_lost(test_env) as (app, client):
        account, token = await user_with_token(app, "leaving")
        await post_status(client, token, "my last words")
        assert (await ask_deletion(client, token)).status_code == 202
    record = None
    async with server_that_sweeps(test_env) as (app, client):
        await wait_erased(app, account.id, seconds=DEADLINE_SECONDS)
        record = await deletion_record(app, account.id)
        async with app.state.engines.db.session() as session:
            assert await session.scalar(select(User).where(User.account_id == account.id)) is None
            left = select(Status.id).where(Status.account_id == account.id)
            assert list(await session.scalars(left)) == []
    assert record is not None
    assert record.progressed_at is not None
    assert requeued("account_deletions") >= before + 1


async def _past_its_end(app: FastAPI, poll_id: int) -> None:
    """The poll's end passes (while the queue that would announce it is lost)."""
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            update(Poll).where(Poll.id == poll_id).values(expires_at=utcnow() - timedelta(1))
        )


async def _poll_notifications(client: httpx.AsyncClient, token: str) -> list[Any]:
    response = await client.get("/api/v1/notifications", headers=auth(token))
    assert response.status_code == 200, response.text
    return [n for n in response.json() if n["type"] == "poll"]


@pytest.mark.slow
async def test_a_lost_poll_end_is_announced(test_env: TestEnv) -> None:
    before = requeued("poll_ends")
    async with server_whose_queue_is_lost(test_env) as (app, client):
        _author, author_token = await user_with_token(app, "asker")
        _voter, voter_token = await user_with_token(app, "voter")
        poll = {"options": ["yes", "no"], "expires_in": 3600}
        status = await post_status(client, author_token, "Well?", poll=poll)
        poll_id = status["poll"]["id"]
        voted = await client.post(
            f"/api/v1/polls/{poll_id}/votes", json={"choices": [0]}, headers=auth(voter_token)
        )
        assert voted.status_code == 200, voted.text
        await _past_its_end(app, int(poll_id))
    async with server_that_sweeps(test_env) as (app, client):

        async def announced() -> bool:
            return bool(await _poll_notifications(client, voter_token))

        await eventually(announced, "the voter to be told the poll ended")
        [told] = await _poll_notifications(client, author_token)
        assert told["status"]["id"] == status["id"]
        async with app.state.engines.db.session() as session:
            poll_row = await session.get(Poll, int(poll_id))
            assert poll_row is not None
            assert poll_row.ended_notified_at is not None
        # Announced once: a dismissed notification is not sent again by later sweeps.
        dismissed = await client.post(
            f"/api/v1/notifications/{told['id']}/dismiss", headers=auth(author_token)
        )
        assert dismissed.status_code == 200
        await asyncio.sleep(1.0)  # several sweeps
        assert await _poll_notifications(client, author_token) == []
    assert requeued("poll_ends") >= before + 1


async def test_lost_video_processing_is_finished(test_env: TestEnv) -> None:
    before = requeued("media_processing")
    async with server_whose_queue_is_lost(test_env) as (app, client):
        _account, token = await user_with_token(app, "filmer")
        video = files.fixture("tiny.mp4")
        response = await upload(client, token, video, filename="clip.mp4", content_type="video/mp4")
        assert response.status_code == 202, response.text
        media_id = response.json()["id"]
        assert (
            await client.get(f"/api/v1/media/{media_id}", headers=auth(token))
        ).status_code == 206
    async with server_that_sweeps(test_env) as (app, client):
        media = await wait_for_media(client, token, media_id)
        assert media["type"] == "video"
        assert media["url"]
    assert requeued("media_processing") >= before + 1


async def test_a_lost_media_purge_is_done(test_env: TestEnv) -> None:
    before = requeued("media_purges")
    async with server_whose_queue_is_lost(test_env) as (app, client):
        _account, token = await user_with_token(app, "poster")
        image = files.jpeg()
        media = (await upload(client, token, image, filename="p.jpg")).json()
        status = await post_status(client, token, "look", media_ids=[media["id"]])
        keys = [key_of(media["url"]), key_of(media["preview_url"])]
        deleted = await client.delete(f"/api/v1/statuses/{status['id']}", headers=auth(token))
        assert deleted.status_code == 200, deleted.text
        storage = app.state.engines.storage
        assert all([await storage.size(key) is not None for key in keys])  # not purged yet
    async with server_that_sweeps(test_env) as (app, client):
        await wait_gone(app, keys, seconds=DEADLINE_SECONDS)

        async def records_gone() -> bool:
            async with app.state.engines.db.session() as session:
                return not list(await session.scalars(select(MediaPurge.id)))

        await eventually(records_gone, "the purge records to go with the files")
    assert requeued("media_purges") >= before + 1


async def test_lost_expiry_of_unattached_uploads_is_done(test_env: TestEnv) -> None:
    before = requeued("media_unattached")
    async with server_whose_queue_is_lost(test_env) as (app, client):
        _account, token = await user_with_token(app, "hoarder")
        media = (await upload(client, token, files.png(), filename="u.png")).json()
        async with app.state.engines.db.transaction() as session:
            long_ago = utcnow() - timedelta(days=2)  # past MEDIA_UNATTACHED_MAX_AGE_SECONDS
            await session.execute(
                update(MediaAttachment)
                .where(MediaAttachment.id == int(media["id"]))
                .values(created_at=long_ago)
            )
    async with server_that_sweeps(test_env) as (app, client):
        await wait_gone(app, [key_of(media["url"])], seconds=DEADLINE_SECONDS)
        response = await client.get(f"/api/v1/media/{media['id']}", headers=auth(token))
        assert response.status_code == 404
    assert requeued("media_unattached") >= before + 1


async def test_the_sweeper_leaves_dead_letters_to_operators(test_env: TestEnv) -> None:
    async with server_whose_queue_is_lost(test_env) as (app, client):
        _author, token = await user_with_token(app, "asker")
        poll = {"options": ["yes", "no"], "expires_in": 3600}
        poll_id = int((await post_status(client, token, "Well?", poll=poll))["poll"]["id"])
        await _past_its_end(app, poll_id)
    # Trends and ranker training off, and no retention schedule (all ride on the sweeper):
    # the queue holds only what the poll sweep queues.
    async with running_app(
        test_env,
        jobs_in_server=False,
        jobs_max_attempts=1,
        task_modules="tests.infra.sample_tasks",
        trends_enabled=False,
        for_you_train_seconds=0,
        retention_interval_seconds=0,
    ) as (app, client):
        engines = app.state.engines
        # The poll's own job id failed every attempt and waits for an operator.
        job_id = f"poll-expired:{poll_id}"
        await engines.jobs.enqueue("sample.always_fails", {}, job_id=job_id)
        async with running_worker(engines):
            await eventually(
                lambda: _is_dead(engines, job_id), "the poll's job to be dead-lettered"
            )
        assert (await sweep_once(engines))["poll_ends"] == 0
        assert await engines.jobs.dead_job_ids(10) == {job_id}
        assert (await engines.jobs.stats()).ready == 0

        await engines.jobs.drop_dead([job_id])
        assert (await sweep_once(engines))["poll_ends"] == 1
        assert (await engines.jobs.stats()).ready == 1


async def _is_dead(engines: Any, job_id: str) -> bool:
    return job_id in await engines.jobs.dead_job_ids(10)
