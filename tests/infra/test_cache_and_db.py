"""Cache and database engines of the run, exercised through their interfaces."""

import asyncio

from sqlalchemy import text

from connecthub.infra.engines import Engines
from tests.engines import postgres_server_url


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
            assert session.bind is engines.db.replicas[0]
        async with engines.db.session() as session:
            assert session.bind is engines.db.primary
    finally:
        await engines.db.dispose()
