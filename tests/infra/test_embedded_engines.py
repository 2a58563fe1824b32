"""Embedded mode's engines under load that lasts: the in-process cache stays within its
bounds, and SQLite readers (run on the event loop, no thread each) never wait for a writer."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.infra.cache import MemoryCache
from connecthub.infra.engines import Engines
from tests.engines import postgres_server_url


async def test_memory_cache_holds_at_most_its_bytes_dropping_the_least_recently_used() -> None:
    cache = MemoryCache(max_entries=1000, max_bytes=1000)
    for n in range(10):
        await cache.set(f"k{n:02}", b"x" * 97, ttl_seconds=60)  # 100 bytes with the key
    assert await cache.get("k00") == b"x" * 97  # now the most recently used
    await cache.set("k10", b"x" * 97, ttl_seconds=60)
    assert await cache.get("k01") is None
    assert await cache.get("k00") == b"x" * 97
    for n in range(11, 20):
        await cache.set(f"k{n:02}", b"x" * 97, ttl_seconds=60)
    assert cache.bytes_held <= 1000
    assert len(cache) == 10
    assert await cache.get("k19") == b"x" * 97
    await cache.set("k19", b"y", ttl_seconds=60)  # a replaced value counts once
    await cache.delete("k18")
    assert cache.bytes_held == 8 * 100 + 4


@pytest.mark.slow
async def test_memory_cache_sweeps_expired_entries_nobody_reads() -> None:
    cache = MemoryCache()
    cache.SWEEP_SECONDS = 0.5
    for n in range(100):
        await cache.set(f"old{n}", b"v" * 100, ttl_seconds=1)
    await cache.set("kept", b"v", ttl_seconds=60)
    await asyncio.sleep(1.2)
    await cache.set("new", b"v", ttl_seconds=60)  # a write past the sweep interval sweeps
    assert len(cache) == 2
    assert cache.bytes_held == len("kept") + len("new") + 2
    assert await cache.get("kept") == b"v"


async def test_readers_see_the_last_commit_while_a_writer_holds_its_transaction(test_env) -> None:
    engines = Engines.from_settings(test_env.settings())
    try:
        async with engines.db.transaction() as session:
            await session.execute(text("CREATE TABLE emb_notes (id INTEGER PRIMARY KEY)"))
            await session.execute(text("INSERT INTO emb_notes (id) VALUES (1)"))
        threads = threading.active_count()
        async with engines.db.session() as writer, writer.begin():
            await writer.execute(text("INSERT INTO emb_notes (id) VALUES (2)"))
            for _ in range(20):  # SQLite: at once, though the writer holds the write lock
                async with engines.db.session(readonly=True) as reader:
                    rows = (await reader.execute(text("SELECT id FROM emb_notes"))).scalars()
                    assert list(rows) == [1]
        async with engines.db.session(readonly=True) as reader:
            rows = (await reader.execute(text("SELECT id FROM emb_notes ORDER BY id"))).scalars()
            assert list(rows) == [1, 2]
        if postgres_server_url() is None:
            # SQLite readers run on the event loop: reading started no thread (one may have
            # ended meanwhile: a model load an earlier test's server left, classifier.py).
            assert threading.active_count() <= threads
    finally:
        await engines.stop()


async def _write_lock_is_free(path: str) -> bool:
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # "database is locked" when it was left held
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


async def test_a_cancelled_writer_leaves_no_write_lock_and_no_write(test_env) -> None:
    """A task cancelled inside its write transaction (a server stopping, a client gone),
    whether it waited on something else with the lock held or waited for the lock itself
    behind another process's writer: the next writer does not wait the busy timeout (30 s),
    and nothing of the cancelled transaction is kept. Its `BEGIN IMMEDIATE` runs on the
    connection's thread, so the cancel can come while that statement runs there."""
    if postgres_server_url() is not None:
        pytest.skip("SQLite's write lock")
    engines = Engines.from_settings(test_env.settings())
    path = test_env.database_url.removeprefix("sqlite:///")
    try:
        async with engines.db.transaction() as session:
            await session.execute(text("CREATE TABLE emb_notes (id INTEGER PRIMARY KEY)"))

        async def write() -> None:
            async with engines.db.transaction() as session:
                await session.execute(text("INSERT INTO emb_notes DEFAULT VALUES"))
                await asyncio.sleep(30)  # another wait with the lock held (Redis, …)

        for _ in range(2):
            writing = asyncio.create_task(write())
            await asyncio.sleep(0.05)
            writing.cancel()
            await asyncio.gather(writing, return_exceptions=True)
            assert await _write_lock_is_free(path)

        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")  # another process's writer
        writing = asyncio.create_task(write())
        await asyncio.sleep(0.1)  # its BEGIN IMMEDIATE waits on its thread
        writing.cancel()
        holder.execute("ROLLBACK")  # (its session's rollback waits for that BEGIN to end)
        holder.close()
        await asyncio.gather(writing, return_exceptions=True)
        assert await _write_lock_is_free(path)

        async with engines.db.session(readonly=True) as reader:
            rows = (await reader.execute(text("SELECT count(*) FROM emb_notes"))).scalar()
            assert rows == 0  # every cancelled insert rolled back
    finally:
        await engines.stop()


async def test_a_writers_statements_run_on_the_loop_and_its_commit_on_its_thread(
    test_env,
) -> None:
    """A writer's `BEGIN IMMEDIATE` (when the lock is free) and its statements run on the
    event loop's thread (each hop to the connection's thread and back cost ~160 µs of
    CPU); its `COMMIT` (which waits for the disk), and a `BEGIN IMMEDIATE` that must wait
    behind another writer, run on the connection's thread."""
    if postgres_server_url() is not None:
        pytest.skip("SQLite's writer")
    engines = Engines.from_settings(test_env.settings())
    path = test_env.database_url.removeprefix("sqlite:///")
    loop_thread = threading.get_ident()
    ran: list[tuple[str, bool]] = []  # (statement, on the loop's thread)

    def trace(sql: str) -> None:
        if sql in ("BEGIN IMMEDIATE", "COMMIT"):
            ran.append((sql, threading.get_ident() == loop_thread))

    async def driver_of(session: AsyncSession) -> Any:
        return (await (await session.connection()).get_raw_connection()).driver_connection

    try:
        async with engines.db.transaction() as session:
            driver = await driver_of(session)
            driver._conn.create_function("thread_id", 0, threading.get_ident)
            driver._conn.set_trace_callback(trace)
        ran.clear()
        async with engines.db.transaction() as session:
            assert await driver_of(session) is driver  # the pool's one connection again
            assert (await session.execute(text("SELECT thread_id()"))).scalar() == loop_thread
        assert ran == [("BEGIN IMMEDIATE", True), ("COMMIT", False)]

        ran.clear()
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock for a moment
        asyncio.get_running_loop().call_later(0.2, holder.execute, "ROLLBACK")
        async with engines.db.transaction() as session:
            assert (await session.execute(text("SELECT thread_id()"))).scalar() == loop_thread
        holder.close()
        # Tried on the loop (refused at once, not waited for), then waited for on the thread.
        assert ran == [("BEGIN IMMEDIATE", True), ("BEGIN IMMEDIATE", False), ("COMMIT", False)]
    finally:
        await engines.stop()


def _pooled_connections(engine: Any) -> int:
    pool = engine.sync_engine.pool
    return int(pool.checkedin()) + int(pool.checkedout())


async def test_a_start_and_a_read_open_one_sqlite_connection(app_factory) -> None:
    """The start's reads (the VAPID key, the flags, the IP blocks) go through the reader
    connection, the outbox relay's first sweep waits one interval, and a read request then
    finds that connection free: one connection (each reads the schema, ~1 ms), where a start
    opened the writer's and two readers' before. A fresh read on SQLite is a plain read: a
    reader sees every commit."""
    if postgres_server_url() is not None:
        pytest.skip("SQLite's connections")
    async with app_factory() as (app, client):
        assert (await client.get("/api/v1/instance")).status_code == 200
        db = app.state.engines.db
        async with db.session(readonly=True, fresh=True) as session:
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
        assert _pooled_connections(db.primary) == 0
        assert sum(_pooled_connections(engine) for engine in db.replicas) == 1
