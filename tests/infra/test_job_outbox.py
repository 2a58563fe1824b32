"""The job outbox (infra/job_outbox.py, docs/adr/0007-transactional-outbox.md): the jobs a
unit of work queues are committed with its data, relayed after the commit, made up by the
relay loop when that relay never happened, and a commit is a success whatever fails after it.

Faults are real: each test that stops Redis runs a redis-server of its own on a free port
(`own_redis`, no persistence unless the test saves on shutdown) and stops it from inside the
post's commit, after the database committed and before anything that follows the commit.
The database is the run's (SQLite, or PostgreSQL with TEST_DATABASE_URL). Waits poll
against a deadline; nothing asserts how fast anything is.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from connecthub.accounts.models import Account
from connecthub.infra import job_outbox
from connecthub.infra.db import Base
from connecthub.infra.job_outbox import OutboxJob
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses.models import Status
from tests.social_factories import auth, follow, user_with_token
from tests.statuses.support import count_rows
from tests.support.redis_server import RedisProcess
from tests.timelines.support import feed_members, settle

# The relay loop looks for rows this old (seconds): short, so a test waits little.
RELAY_AFTER = 0.5
DEADLINE_SECONDS = 60.0
AppFactory = Callable[..., Any]


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await check():
        assert time.monotonic() < deadline, f"gave up waiting for: {what}"
        await asyncio.sleep(0.1)


@contextlib.contextmanager
def at_commit_of(
    app: FastAPI, changes: Callable[[object], bool], action: Callable[[], None]
) -> Iterator[None]:
    """Run `action` inside the commit of the first transaction of `app` that wrote an
    object for which `changes` is true, right after the database committed it: nothing
    that follows the commit (cache invalidation, relay, events) has run yet. Written means
    flushed by the ORM or inserted by a statement (a post's status row is:
    infra/db.insert_as_loaded), whose rows are seen here as objects of their model."""
    primary = app.state.engines.db.primary.sync_engine
    mark = "tests.at_commit_of"

    def flushed(session: Session, _context: object) -> None:
        if session.bind is primary and any(changes(obj) for obj in [*session.new, *session.dirty]):
            session.info[mark] = True

    def executed(state: ORMExecuteState) -> None:
        model = _model_of(getattr(state.statement, "table", None))
        if not state.is_insert or model is None or state.session.bind is not primary:
            return
        rows = state.parameters if isinstance(state.parameters, list) else [state.parameters]
        if any(changes(model(**dict(row or {}))) for row in rows):
            state.session.info[mark] = True

    def committed(session: Session) -> None:
        if session.info.pop(mark, False):
            remove()
            action()

    hooks: list[tuple[str, Callable[..., None]]] = [
        ("after_flush", flushed),
        ("do_orm_execute", executed),
    ]

    def remove() -> None:
        for name, hook in hooks:
            if event.contains(Session, name, hook):
                event.remove(Session, name, hook)

    for name, hook in hooks:
        event.listen(Session, name, hook)
    event.listen(Session, "after_commit", committed)
    try:
        yield
    finally:
        remove()
        event.remove(Session, "after_commit", committed)


def _model_of(table: object) -> Any:
    """The mapped class of `table`, or None."""
    for mapper in Base.registry.mappers:
        if mapper.local_table is table:
            return mapper.class_
    return None


def status_with(text: str) -> Callable[[object], bool]:
    return lambda obj: isinstance(obj, Status) and obj.text == text


async def home_ids(client: httpx.AsyncClient, token: str) -> list[str]:
    response = await client.get("/api/v1/timelines/home", headers=auth(token))
    assert response.status_code == 200, response.text
    return [status["id"] for status in response.json()]


async def new_post_notifications(client: httpx.AsyncClient, token: str) -> list[str]:
    """The ids of statuses this account was notified of as a subscriber (`status`)."""
    response = await client.get(
        "/api/v1/notifications", params={"types[]": "status"}, headers=auth(token)
    )
    assert response.status_code == 200, response.text
    return [note["status"]["id"] for note in response.json()]


async def author_and_subscriber(app: FastAPI) -> tuple[str, int, str]:
    """(author's token, follower's account id, follower's token): the follower follows the
    author with notifications on, so a post makes a fan-out job that notifies the follower,
    and has read home once, so in distributed mode the follower's feed is warm."""
    author, author_token = await user_with_token(app, "author")
    follower, follower_token = await user_with_token(app, "follower")
    await follow(app, follower.id, author.id, notify=True)
    return author_token, follower.id, follower_token


async def delivered_once(client: httpx.AsyncClient, token: str, status_id: str) -> bool:
    """The post is in the follower's home and notifications, never twice."""
    homes = await home_ids(client, token)
    notes = await new_post_notifications(client, token)
    assert homes.count(status_id) <= 1, homes
    assert notes.count(status_id) <= 1, notes
    return status_id in homes and status_id in notes


async def outbox_rows(app: FastAPI) -> int:
    return await count_rows(app, OutboxJob)


# --- a commit is a success, and its jobs follow it -------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["shutdown-save", "kill-9"])
async def test_a_post_committed_as_redis_stops_still_reaches_the_followers_home(
    stop: str, app_factory: AppFactory, own_redis: RedisProcess
) -> None:
    """Redis stops right after the post's commit: the client still gets its 200, and once
    Redis is back the relay loop queues the post's jobs. With `shutdown-save` Redis comes
    back with the follower's warm feed as it was before the post, and the fan-out pushes the
    post into it before anyone reads home (a read would rebuild that feed from the database:
    it was built by the Redis instance before the restart, ADR 0008); with `kill-9` it comes
    back empty, and the subscriber notification shows the jobs ran."""
    text = "posted as Redis stopped"
    stopping = own_redis.shutdown_saving if stop == "shutdown-save" else own_redis.kill
    settings = {"redis_url": own_redis.url, "jobs_outbox_relay_after_seconds": RELAY_AFTER}
    async with app_factory(**settings) as (app, client):
        author_token, follower_id, follower_token = await author_and_subscriber(app)
        assert await home_ids(client, follower_token) == []  # warms the feed
        await settle(app)
        with at_commit_of(app, status_with(text), stopping):
            response = await client.post(
                "/api/v1/statuses", json={"status": text}, headers=auth(author_token)
            )
        assert response.status_code == 200, response.text
        assert own_redis.process is None, "Redis was not stopped at the commit"
        status_id = response.json()["id"]
        # The fan-out (subscribers too) and the detection score wait for Redis.
        assert await outbox_rows(app) == 2

        own_redis.start()
        if stop == "shutdown-save":
            assert await feed_members(app, follower_id) == []  # warm, without the post

            async def pushed() -> bool:
                return await feed_members(app, follower_id) == [int(status_id)]

            await eventually(pushed, "the fan-out pushing the post into the restored feed")

        async def fanned_out() -> bool:
            return await delivered_once(client, follower_token, status_id)

        await eventually(fanned_out, "the post in the follower's home and notifications")
        if stop == "shutdown-save":
            assert await feed_members(app, follower_id) == [int(status_id)]

        async def emptied() -> bool:
            return await outbox_rows(app) == 0

        await eventually(emptied, "the outbox rows deleted once Redis had the jobs")


@pytest.mark.slow
@pytest.mark.parametrize("queue", ["in-process", "redis"])
async def test_jobs_left_behind_by_a_stopped_process_run_from_a_fresh_relay(
    queue: str, app_factory: AppFactory, own_redis: RedisProcess
) -> None:
    """The process that committed a post stops before the post's jobs reach a queue that
    outlives it: Redis stops at the commit (`redis`), or the process never runs its
    in-memory queue (`in-process`, as an embedded server killed at once). A fresh process
    on the same database relays the rows left behind and the jobs run."""
    text = "posted by a process about to stop"
    redis_url = own_redis.url if queue == "redis" else None
    stopping = own_redis.kill if queue == "redis" else (lambda: None)
    # The first process never runs jobs, and its relay loop would wait an hour.
    first = {"redis_url": redis_url, "jobs_in_server": False}
    async with app_factory(**first, jobs_outbox_relay_after_seconds=3600) as (app, client):
        author_token, _follower_id, follower_token = await author_and_subscriber(app)
        with at_commit_of(app, status_with(text), stopping):
            response = await client.post(
                "/api/v1/statuses", json={"status": text}, headers=auth(author_token)
            )
        assert response.status_code == 200, response.text
        status_id = response.json()["id"]
        # Counted here: the fresh process's relay may take them as soon as it starts.
        # The fan-out, which notifies subscribers too, and the detection score.
        assert await outbox_rows(app) == 2
    if queue == "redis":
        own_redis.start()

    async with app_factory(redis_url=redis_url, jobs_outbox_relay_after_seconds=RELAY_AFTER) as (
        app,
        client,
    ):

        async def ran() -> bool:
            return await delivered_once(client, follower_token, status_id)

        await eventually(ran, "the left-behind jobs run by the fresh process")

        async def emptied() -> bool:
            return await outbox_rows(app) == 0

        await eventually(emptied, "the rows deleted once their jobs were queued or done")


@pytest.mark.slow
async def test_an_idempotent_replay_of_a_post_whose_jobs_wait_in_the_outbox(
    app_factory: AppFactory, own_redis: RedisProcess
) -> None:
    """A client that lost the answer retries with its `Idempotency-Key`: the replay returns
    the same status and queues nothing, and the first request's jobs, committed with the
    status, still deliver it, once."""
    text = "posted twice with one key"
    settings = {"redis_url": own_redis.url, "jobs_outbox_relay_after_seconds": RELAY_AFTER}
    async with app_factory(**settings) as (app, client):
        author_token, follower_id, follower_token = await author_and_subscriber(app)
        assert await home_ids(client, follower_token) == []
        await settle(app)
        headers = {**auth(author_token), "Idempotency-Key": "retry-me"}
        with at_commit_of(app, status_with(text), own_redis.shutdown_saving):
            first = await client.post("/api/v1/statuses", json={"status": text}, headers=headers)
        assert first.status_code == 200, first.text
        own_redis.start()
        replay = await client.post("/api/v1/statuses", json={"status": text}, headers=headers)
        assert replay.status_code == 200, replay.text
        status_id = first.json()["id"]
        assert replay.json()["id"] == status_id
        assert await count_rows(app, Status, Status.text == text) == 1

        async def fanned_out() -> bool:
            return await delivered_once(client, follower_token, status_id)

        await eventually(fanned_out, "the post in the follower's home and notifications")
        assert await feed_members(app, follower_id) == [int(status_id)]


@pytest.mark.slow
async def test_a_profile_change_committed_as_redis_stops_is_not_served_stale(
    app_factory: AppFactory, own_redis: RedisProcess
) -> None:
    """Redis stops (saving) right after a profile change commits, with the old profile in
    the entity cache (statuses render their author through it): the client gets its 200,
    and the invalidation, retried in the background, drops the old entry once Redis is
    back, long before its TTL."""
    async with app_factory(redis_url=own_redis.url) as (app, client):
        account, token = await user_with_token(app, "renamed")
        response = await client.post(
            "/api/v1/statuses", json={"status": "mine"}, headers=auth(token)
        )
        assert response.status_code == 200, response.text
        url = f"/api/v1/statuses/{response.json()['id']}"
        shown = await client.get(url, headers=auth(token))  # caches the author
        assert shown.status_code == 200, shown.text
        old_name = shown.json()["account"]["display_name"]
        await settle(app)

        def renamed(obj: object) -> bool:
            return isinstance(obj, Account) and obj.id == account.id

        with at_commit_of(app, renamed, own_redis.shutdown_saving):
            response = await client.patch(
                "/api/v1/accounts/update_credentials",
                data={"display_name": "A new name"},
                headers=auth(token),
            )
        assert response.status_code == 200, response.text
        assert response.json()["display_name"] == "A new name"
        # Down longer than the Redis client's own retries of one command (under a second).
        await asyncio.sleep(2.0)
        own_redis.start()

        async def fresh() -> bool:
            shown = await client.get(url, headers=auth(token))
            assert shown.status_code == 200, shown.text
            name = shown.json()["account"]["display_name"]
            assert name in (old_name, "A new name")
            return bool(name == "A new name")

        await eventually(fresh, "the new name, not the cached old one")


# --- the outbox on the run's own engines ------------------------------------------------


async def post_to_a_follower(app: FastAPI, client: httpx.AsyncClient) -> tuple[str, str]:
    """An author posts to one follower (fan-out and notification jobs): the follower's
    token and the status id."""
    author, author_token = await user_with_token(app, "author")
    follower, follower_token = await user_with_token(app, "follower")
    await follow(app, follower.id, author.id, notify=True)
    response = await client.post(
        "/api/v1/statuses", json={"status": "hello"}, headers=auth(author_token)
    )
    assert response.status_code == 200, response.text
    return follower_token, str(response.json()["id"])


async def test_a_posts_jobs_leave_the_outbox_once_the_queue_has_them(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    follower_token, status_id = await post_to_a_follower(app, client)

    async def ran() -> bool:
        return await delivered_once(client, follower_token, status_id)

    await eventually(ran, "the post's jobs")

    async def emptied() -> bool:
        return await outbox_rows(app) == 0

    await eventually(emptied, "the outbox emptied")


async def test_a_stopping_app_deletes_acknowledged_rows_without_waiting_out_the_linger(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Acknowledgements gather for a linger before their delete; a process that stops cuts
    the linger short and deletes them then (it once waited the linger out, or up to the
    close's bound and then left the rows to be relayed again)."""
    monkeypatch.setattr(job_outbox, "DELETE_LINGER_SECONDS", 60.0)
    async with app_factory() as (app, client):
        await post_to_a_follower(app, client)
        await settle(app)
        assert await outbox_rows(app) > 0  # acknowledged, lingering
    async with app_factory() as (app, _client):
        assert await outbox_rows(app) == 0


@pytest.mark.slow
async def test_a_delayed_job_is_queued_once_with_its_delay(app_factory: AppFactory) -> None:
    """A poll's expiry job waits in the queue (in memory: its row is kept until it runs);
    relay loops looking every few tenths of a second neither queue it again nor run it."""
    async with app_factory(jobs_outbox_relay_after_seconds=0.2) as (app, client):
        _author, token = await user_with_token(app, "pollster")
        poll = {"options": ["yes", "no"], "expires_in": 600}
        response = await client.post(
            "/api/v1/statuses", json={"status": "a poll", "poll": poll}, headers=auth(token)
        )
        assert response.status_code == 200, response.text
        await settle(app)
        await asyncio.sleep(1.0)  # several sweeps
        stats = await app.state.engines.jobs.stats()
        assert (stats.ready, stats.running, stats.delayed) == (0, 0, 1)
        held = 0 if app.state.engines.jobs.durable else 1
        assert await outbox_rows(app) == held


async def test_a_rolled_back_unit_of_work_writes_and_queues_no_job(app: FastAPI) -> None:
    engines = app.state.engines
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        uow.enqueue("timelines.fan_out", {"status_id": 1}, job_id="never")
        await uow.rollback()
    assert await outbox_rows(app) == 0
    stats = await engines.jobs.stats()
    assert (stats.ready, stats.running, stats.delayed) == (0, 0, 0)
