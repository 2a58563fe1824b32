"""Helpers for timeline tests: waiting for fan-out jobs, reading ids, feed inspection."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI

from connecthub.statuses.serializers import ACCOUNT, STATUS
from connecthub.timelines.feeds import RedisFeedStore, feed_store
from tests.social_factories import auth
from tests.statuses.support import counting_queries

JOBS_DEADLINE_SECONDS = 60.0


async def settle(app: FastAPI) -> None:
    """Wait until the job queue has nothing ready or running (fan-out is asynchronous, as
    in Mastodon); a deadline turns a stuck queue into a failure instead of a hang. A request
    relays its jobs before it answers and a job its next ones before it ends, so the queue
    is never empty in between; three quiet looks 5 ms apart cover a job caught between
    `ready` and `running` by one look (the 20 ms of before cost ~60 ms per call)."""
    engines = app.state.engines
    loop = asyncio.get_running_loop()
    deadline = loop.time() + JOBS_DEADLINE_SECONDS
    quiet = 0
    while quiet < 3:  # a finishing job may enqueue the next chunk: see it quiet a few times
        stats = await engines.jobs.stats()
        quiet = quiet + 1 if stats.ready == 0 and stats.running == 0 else 0
        assert loop.time() < deadline, f"jobs did not settle: {stats}"
        await asyncio.sleep(0.005)


async def ids_of(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [status["id"] for status in response.json()]


async def home_ids(app: FastAPI, client: httpx.AsyncClient, token: str, **params: Any) -> list[str]:
    await settle(app)
    return await ids_of(
        await client.get("/api/v1/timelines/home", params=params, headers=auth(token))
    )


def redis_feed(app: FastAPI) -> RedisFeedStore | None:
    """The Redis feed store when the tests run on Redis, else None (embedded: a query)."""
    store = feed_store(app.state.engines)
    return store if isinstance(store, RedisFeedStore) else None


async def feed_members(app: FastAPI, account_id: int) -> list[int] | None:
    store = redis_feed(app)
    if store is None:
        return None
    """The status ids the account's Redis feed holds (its sentinel left out)."""
    members = await store.redis.zrangebyscore(store.key(account_id), "(0", "+inf")
    return sorted(int(member) for member in members)


async def read_costs(
    app: FastAPI, client: httpx.AsyncClient, url: str, token: str | None, limits: list[int]
) -> tuple[list[int], list[int]]:
    """(statements with a cold entity cache, statements warm) for one read of `url` at each
    limit; asserts every read returned exactly `limit` items."""
    await settle(app)
    headers = auth(token) if token else {}
    await client.get(url, params={"limit": 1}, headers=headers)  # the token cache
    cold, warm = [], []
    for limit in limits:
        for kind in (ACCOUNT, STATUS):
            await app.state.engines.db.entity_cache.retire(kind)
        for counts in (cold, warm):
            with counting_queries(app) as statements:
                response = await client.get(url, params={"limit": limit}, headers=headers)
            assert response.status_code == 200, response.text
            assert len(response.json()) == limit, response.json()
            counts.append(len(statements))
    return cold, warm
