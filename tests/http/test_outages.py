"""An engine that cannot answer is an outage, not a bug: every request is answered 503 with
`Retry-After` and the usual JSON error (no traceback), for as long as it lasts, and the
server recovers by itself when the engine is back.

The engines here are the test's own: a PostgreSQL cluster it makes with the installed
binaries and stops and starts (tests/support/postgres_process.py), a closed port, a SQLite
file whose write lock another process holds, a path that cannot be opened, or a Redis
server of its own (tests/support/redis_server.py). The shared engines of the run are never
disturbed."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Request
from redis.exceptions import ConnectionError as RedisConnectionError

from connecthub.app import create_app
from connecthub.infra import migrations
from connecthub.infra import redis as redis_module
from tests.conftest import free_port
from tests.engines import build_settings
from tests.factories import create_token, create_user
from tests.http.test_errors import assert_error_response
from tests.social_factories import auth
from tests.support.postgres_process import PostgresProcess
from tests.support.redis_server import RedisProcess

if TYPE_CHECKING:
    from tests.conftest import TestEnv

# What a client does in one go: anonymous and signed-in reads, and a write.
READS = ["/api/v1/timelines/public", "/api/v1/accounts/verify_credentials"]
WRITE = "/api/v1/statuses"


@contextlib.asynccontextmanager
async def app_on(
    env: TestEnv, database_url: str, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    values = {
        "media_storage_url": f"file://{env.workdir / 'media'}",
        "outbox_dir": str(env.workdir / "outbox"),
        **overrides,
    }
    app = create_app(build_settings(database_url, env.key_prefix, **values))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


def assert_outage(response: httpx.Response, retry_after: set[str] | None = None) -> None:
    body = assert_error_response(response, 503)
    assert body == {"error": "Service temporarily unavailable"}
    assert response.headers["retry-after"] in (retry_after or {"1", "5"})


async def every_request_is_an_outage(
    client: httpx.AsyncClient, token: str, retry_after: set[str] | None = None
) -> None:
    for _ in range(3):
        for path in READS:
            assert_outage(await client.get(path, headers=auth(token)), retry_after)
        posted = await client.post(WRITE, json={"status": "hello"}, headers=auth(token))
        assert_outage(posted, retry_after)
    # The process itself is fine: the orchestrator must not restart it for the database.
    assert (await client.get("/health/live")).status_code == 200
    assert (await client.get("/health/ready")).status_code == 503


async def requests_succeed(client: httpx.AsyncClient, token: str) -> None:
    for path in READS:
        response = await client.get(path, headers=auth(token))
        assert response.status_code == 200, response.text
    posted = await client.post(WRITE, json={"status": "back"}, headers=auth(token))
    assert posted.status_code == 200, posted.text


async def recovered(client: httpx.AsyncClient, token: str) -> None:
    """Asked again (as a client told to retry would) until the server answers again."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while (await client.get(READS[1], headers=auth(token))).status_code != 200:
        assert loop.time() < deadline, "the server did not recover"
        await asyncio.sleep(0.2)
    await requests_succeed(client, token)


async def signed_in(app: FastAPI) -> str:
    account, _user = await create_user(app, "outage")
    return await create_token(app, account.id)


# --- PostgreSQL ---------------------------------------------------------------------------


async def test_a_postgresql_that_refuses_connections_is_a_503_for_every_request(
    test_env: TestEnv,
) -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/connecthub"
    async with app_on(test_env, closed) as (_app, client):
        await every_request_is_an_outage(client, "some-token", {"5"})


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresProcess]:
    server = PostgresProcess(free_port())
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()


async def fresh_database(server: PostgresProcess, name: str) -> str:
    admin = await asyncpg.connect(server.url())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = server.url(name)
    await migrations.upgrade(build_settings(url, "unused:"))
    return url


@pytest.mark.processes  # runs a PostgreSQL server of its own
async def test_a_stopped_postgresql_is_a_503_for_every_request_until_it_is_back(
    test_env: TestEnv, own_postgres: PostgresProcess
) -> None:
    url = await fresh_database(own_postgres, "stopped")
    async with app_on(test_env, url) as (app, client):
        token = await signed_in(app)
        await requests_succeed(client, token)  # the pool now holds connections

        await asyncio.to_thread(own_postgres.stop)
        try:
            # The first requests meet pooled connections the server closed, the next ones
            # a refused port: all are told to retry.
            await every_request_is_an_outage(client, token)
        finally:
            await asyncio.to_thread(own_postgres.start)
        await recovered(client, token)


@pytest.mark.processes  # runs a PostgreSQL server of its own
async def test_an_exhausted_database_pool_is_a_503(
    test_env: TestEnv, own_postgres: PostgresProcess
) -> None:
    url = await fresh_database(own_postgres, "exhausted")
    async with app_on(
        test_env,
        url,
        database_pool_size=1,
        database_max_overflow=0,
        database_pool_timeout_seconds=0.3,
    ) as (app, client):
        token = await signed_in(app)
        await requests_succeed(client, token)
        # Something else holds the only connection (a slow request, say).
        held = await app.state.engines.db.primary.connect()
        try:
            for _ in range(3):
                response = await client.get(READS[1], headers=auth(token))
                assert_outage(response, {"1"})
        finally:
            await held.close()
        await requests_succeed(client, token)


# --- SQLite -------------------------------------------------------------------------------


async def migrated_sqlite(path: Path) -> str:
    url = f"sqlite:///{path}"
    await migrations.upgrade(build_settings(url, "unused:"))
    return url


@pytest.mark.slow
async def test_a_sqlite_file_another_writer_holds_is_a_503_for_writes(
    test_env: TestEnv,
) -> None:
    path = test_env.workdir / "locked.db"
    url = await migrated_sqlite(path)
    async with app_on(test_env, url, sqlite_busy_timeout_seconds=0.2) as (app, client):
        token = await signed_in(app)
        await requests_succeed(client, token)

        holder = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        try:
            # A writer that does not let go (taken off the event loop, so that the app's
            # jobs in flight can finish and let it in).
            await asyncio.to_thread(holder.execute, "BEGIN IMMEDIATE")
            for _ in range(3):
                posted = await client.post(WRITE, json={"status": "hello"}, headers=auth(token))
                assert_outage(posted, {"1"})
                # Readers are not blocked by a writer in WAL mode.
                response = await client.get(READS[1], headers=auth(token))
                assert response.status_code == 200
        finally:
            if holder.in_transaction:
                holder.execute("ROLLBACK")
            holder.close()
        await requests_succeed(client, token)


@pytest.mark.slow
async def test_a_sqlite_file_that_cannot_be_opened_is_a_503_until_it_can(
    test_env: TestEnv,
) -> None:
    ready = test_env.workdir / "ready.db"
    await migrated_sqlite(ready)
    path = test_env.workdir / "data" / "connecthub.db"
    path.mkdir(parents=True)  # a directory where the database file should be
    async with app_on(test_env, f"sqlite:///{path}") as (app, client):
        await every_request_is_an_outage(client, "some-token", {"5"})

        path.rmdir()
        shutil.copyfile(ready, path)
        token = await signed_in(app)
        await recovered(client, token)


# --- Redis --------------------------------------------------------------------------------


async def _uses_redis(request: Request) -> dict[str, str]:
    engines = request.app.state.engines
    await engines.redis.set("outage-probe", b"1")
    return {"status": "ok"}


@pytest.mark.slow
async def test_an_exhausted_or_stopped_redis_is_a_503(
    test_env: TestEnv, own_redis: RedisProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A command waits this long for a pooled connection (5 s in production).
    monkeypatch.setattr(redis_module, "POOL_WAIT_SECONDS", 0.3)
    async with app_on(
        test_env, test_env.database_url, redis_url=own_redis.url, redis_max_connections=4
    ) as (app, client):
        app.add_api_route("/test/redis", _uses_redis)
        assert (await client.get("/test/redis")).status_code == 200

        pool = app.state.engines.redis.connection_pool
        held = []
        with contextlib.suppress(RedisConnectionError):
            while True:  # take every connection the pool will give
                held.append(await pool.get_connection())
        try:
            for _ in range(3):
                assert_outage(await client.get("/test/redis"), {"1"})
        finally:
            for connection in held:
                await pool.release(connection)
        assert (await client.get("/test/redis")).status_code == 200

        own_redis.stop()
        try:
            for _ in range(3):
                assert_outage(await client.get("/test/redis"), {"5"})
        finally:
            own_redis.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while (await client.get("/test/redis")).status_code != 200:
            assert loop.time() < deadline, "requests did not recover with Redis"
            await asyncio.sleep(0.2)
