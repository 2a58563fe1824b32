"""Cache and database engines of the run, exercised through their interfaces."""

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from connecthub.infra.engines import Engines
from tests.engines import postgres_server_url


@pytest.mark.slow
async def test_cache_round_trip_expiry_and_delete(test_env):
    engines = Engines.from_settings(test_env.settings())
    await engines.start()
    try:
        cache = engines.cache
        assert await cache.get("k") is None
        await cache.set("k", b"value", ttl_seconds=60)
        assert await cache.get("k") == b"value"
        await cache.delete("k")
        assert await cache.get("k") is None
        await cache.set("short", b"x", ttl_seconds=1)
        await asyncio.sleep(1.2)
        assert await cache.get("short") is None
    finally:
        await engines.stop()


@pytest.mark.slow
async def test_cache_add_sets_only_an_empty_or_expired_key(test_env):
    engines = Engines.from_settings(test_env.settings())
    await engines.start()
    try:
        cache = engines.cache
        assert await cache.add("k", b"first", ttl_seconds=1)
        assert not await cache.add("k", b"second", ttl_seconds=60)
        assert await cache.get("k") == b"first"
        await asyncio.sleep(1.2)
        assert await cache.add("k", b"third", ttl_seconds=60)
        assert await cache.get("k") == b"third"
    finally:
        await engines.stop()


async def test_sqlite_runs_in_wal_mode_with_full_sync_or_postgres_answers(test_env):
    engines = Engines.from_settings(test_env.settings())
    try:
        async with engines.db.session() as session:
            if postgres_server_url():
                version = (await session.execute(text("SHOW server_version"))).scalar_one()
                assert version
            else:
                mode = (await session.execute(text("PRAGMA journal_mode"))).scalar_one()
                sync = (await session.execute(text("PRAGMA synchronous"))).scalar_one()
                assert mode == "wal"
                assert sync == 2  # FULL
    finally:
        await engines.db.dispose()


async def test_reads_go_to_a_replica_when_one_is_configured(test_env):
    if postgres_server_url() is None:
        # SQLite: readers use a second engine on the same file (deferred transactions).
        engines = Engines.from_settings(test_env.settings())
        assert len(engines.db.replicas) == 1
        await engines.db.dispose()
        return
    # The test database doubles as its own replica: reads must use the replica engine.
    settings = test_env.settings(database_replica_urls=[test_env.database_url])
    engines = Engines.from_settings(settings)
    try:
        async with engines.db.session(readonly=True) as session:
            await session.execute(text("SELECT 1"))
            # Readers run in autocommit: an options view of the replica engine, same pool.
            assert session.bind.sync_engine.pool is engines.db.replicas[0].sync_engine.pool
            assert session.bind.get_execution_options()["isolation_level"] == "AUTOCOMMIT"
        async with engines.db.session() as session:
            assert session.bind is engines.db.primary
    finally:
        await engines.db.dispose()


@pytest.mark.skipif(
    postgres_server_url() is None,
    reason="needs PostgreSQL: TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres"
    " (CI's second pass)",
)
async def test_a_connection_the_database_dropped_costs_one_503_then_reads_recover(
    app_and_client,
):
    """Connections are not pinged before use: when PostgreSQL drops them (a restart, a
    failover, an idle timeout), the request that meets one is answered 503 with Retry-After,
    never a 500, and the pool is discarded so the retry works."""
    app, client = app_and_client
    path = "/api/v1/accounts/lookup?acct=nobody"
    assert (await client.get(path)).status_code == 404  # the pool now holds a connection
    database = make_url(app.state.settings.database_url).database
    admin = await asyncpg.connect(postgres_server_url())
    try:
        dropped = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await admin.close()
    assert dropped >= 1
    failed = await client.get(path)
    assert failed.status_code == 503, failed.text
    assert failed.headers["retry-after"] == "1"
    assert failed.json() == {"error": "Service temporarily unavailable"}
    for _ in range(3):
        assert (await client.get(path)).status_code == 404


async def test_a_rendering_read_before_an_invalidation_is_never_stored_after_it(test_env):
    """However slow its reader (ADR 0010's race; the repeated invalidation is off here): a
    PgBouncer run once kept a status without its card for a minute this way."""
    engines = Engines.from_settings(test_env.settings(entity_cache_repeat_seconds=0))
    await engines.start()
    try:
        cache = engines.db.entity_cache
        assert cache is not None
        found, generation = (await cache.get_raw_many({"status": [1, 2]}))["status"]
        assert found == {}
        await cache.invalidate([("status", 1)])  # a write to status 1 committed meanwhile
        # The slow reader stores what it rendered from the rows it read before that write.
        await cache.put_raw_many("status", {1: b'{"old":1}', 2: b'{"old":2}'}, generation)
        found, generation = (await cache.get_raw_many({"status": [1, 2]}))["status"]
        assert found == {2: b'{"old":2}'}  # status 2 did not change: its rendering is kept
        # A read after the invalidation stores its rendering.
        await cache.put_raw_many("status", {1: b'{"new":1}'}, generation)
        found, _ = (await cache.get_raw_many({"status": [1]}))["status"]
        assert found == {1: b'{"new":1}'}
        # A raw read of an invalidated key is a miss, as any cache user sees it.
        await cache.invalidate([("status", 1)])
        assert await engines.cache.get("entity:status:1") is None
        assert await engines.cache.get_many(["entity:status:1"]) == [None]
    finally:
        await engines.stop()
