"""A post costs the same statements in the request however many follow its author:
subscribers ("notify me of new posts") are notified by a chunked job, and every
notification still arrives once, on the list and on the stream."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connecthub.accounts.models import Account
from connecthub.infra.jobs import HANDLERS, JobContext
from connecthub.notifications.models import Notification
from connecthub.statuses.service import NOTIFY_SUBSCRIBERS_JOB
from tests.notifications.support import notifications
from tests.social_factories import follow, post_status, user_with_token
from tests.statuses.support import count_rows
from tests.support.queries import assert_query_count, engine_name
from tests.timelines.support import settle

# POST /api/v1/statuses, a public post, the token and entity caches warm (the same figure
# as its entry in tests/http/test_write_budgets.py). SQLite opens with BEGIN IMMEDIATE.
POST_BUDGET = {"sqlite": 5, "postgresql": 4}  # the analytics consent read is one


async def _accounts(app: FastAPI, prefix: str, count: int) -> list[tuple[Account, str]]:
    return [await user_with_token(app, f"{prefix}{n}") for n in range(count)]


@pytest.mark.slow
async def test_posting_costs_the_same_with_0_5_or_20_subscribers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    author, token = await user_with_token(app, "author")
    subscribers = await _accounts(app, "sub", 20)
    await post_status(client, token, "warm: the token and the author's entity are cached")
    posted, followed = [], 0
    for wanted in (0, 5, 20):
        for account, _token in subscribers[followed:wanted]:
            await follow(app, account.id, author.id, notify=True)
        followed = wanted
        await settle(app)
        with assert_query_count(app, POST_BUDGET[engine_name(app)]):
            posted.append(await post_status(client, token, f"to {wanted} subscribers"))
        # The subscriber job reads followers when it runs: let it run before more follow.
        await settle(app)
    for n, (_account, sub_token) in enumerate(subscribers):
        notes = [(x["type"], x["status"]["id"]) for x in await notifications(client, sub_token)]
        expected = [("status", p["id"]) for p, w in zip(posted, (0, 5, 20), strict=True) if n < w]
        assert notes == expected[::-1], n


async def _next_notification(stream: Any) -> None:
    while True:
        event = await stream.queue.get()
        if event["event"] == "notification":
            stream.queue.put_nowait(event)  # kept for the count below
            return


def _drain(stream: Any) -> list[dict[str, Any]]:
    events = []
    while not stream.queue.empty():
        events.append(stream.queue.get_nowait())
    return events


async def test_subscribers_and_mentions_are_published_once_each(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    author, token = await user_with_token(app, "author")
    subscriber, sub_token = await user_with_token(app, "sub")
    mentioned, mentioned_token = await user_with_token(app, "friend")
    for account in (subscriber, mentioned):
        await follow(app, account.id, author.id, notify=True)
    streams = {
        account.id: await app.state.engines.events.subscribe(f"user:{account.id}")
        for account in (subscriber, mentioned)
    }
    try:
        status = await post_status(client, token, "news for @friend")
        for stream in streams.values():  # the first notification, then everything queued
            await asyncio.wait_for(_next_notification(stream), timeout=10)
        await settle(app)
        events = {
            account_id: [e for e in _drain(stream) if e["event"] == "notification"]
            for account_id, stream in streams.items()
        }
    finally:
        for stream in streams.values():
            await stream.close()
    # The mentioned subscriber hears of it as a mention only, as before.
    for account_id, user_token, kind in (
        (subscriber.id, sub_token, "status"),
        (mentioned.id, mentioned_token, "mention"),
    ):
        [event] = events[account_id]
        [listed] = await notifications(client, user_token)
        assert (listed["type"], listed["status"]["id"]) == (kind, status["id"])
        assert event["payload"] == listed


async def test_subscribers_in_chunks_and_a_retried_chunk_notifies_once(app_factory: Any) -> None:
    async with app_factory(HOME_FAN_OUT_BATCH=2) as (app, client):
        author, token = await user_with_token(app, "author")
        subscribers = await _accounts(app, "sub", 5)  # three chained chunks of 2
        for account, _token in subscribers:
            await follow(app, account.id, author.id, notify=True)
        status = await post_status(client, token, "to everyone")
        await settle(app)
        for _account, sub_token in subscribers:
            assert [n["type"] for n in await notifications(client, sub_token)] == ["status"]
        context = JobContext(engines=app.state.engines, job_id="again", attempt=2)
        for _ in range(2):
            await HANDLERS[NOTIFY_SUBSCRIBERS_JOB](context, {"status_id": int(status["id"])})
        await settle(app)
        where = Notification.from_account_id == author.id
        assert await count_rows(app, Notification, where) == 5
