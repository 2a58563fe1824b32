"""Home's page query runs on asyncpg directly (infra/compiled.py); a failure there is still
SQLAlchemy's to map: a connection PostgreSQL dropped costs one 503, never a 500, and the
next reads work (as for every other read: tests/infra/test_cache_and_db.py)."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from connecthub.infra.job_outbox import OutboxJob
from tests.engines import postgres_server_url
from tests.social_factories import auth, post_status, user_with_token
from tests.statuses.support import count_rows
from tests.timelines.support import home_ids, redis_feed


async def test_a_dropped_connection_under_home_costs_one_503(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    server = postgres_server_url()
    if server is None or redis_feed(app) is None:
        pytest.skip("home's page query runs on asyncpg with a Redis feed (PostgreSQL + Redis)")
    alice, alice_token = await user_with_token(app, "alice")
    posted = await post_status(client, alice_token, "hello")
    assert await home_ids(app, client, alice_token) == [posted["id"]]  # builds the feed
    assert await home_ids(app, client, alice_token) == [posted["id"]]  # the page query
    # The post's outbox rows are deleted in the background a moment later; a delete that met
    # the dropped connection first would have the pool replaced before home's query runs.
    for _ in range(100):
        if await count_rows(app, OutboxJob) == 0:
            break
        await asyncio.sleep(0.05)
    database = make_url(app.state.settings.database_url).database
    admin = await asyncpg.connect(server)
    try:
        dropped = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await admin.close()
    assert dropped >= 1
    # A page this process has not answered yet (the first one is kept: home_pages.py), so
    # the page query runs.
    failed = await client.get("/api/v1/timelines/home?limit=19", headers=auth(alice_token))
    assert failed.status_code == 503, failed.text
    assert failed.headers["retry-after"] == "1"
    for _ in range(3):
        assert await home_ids(app, client, alice_token, limit=19) == [posted["id"]]
    del alice
