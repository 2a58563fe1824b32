"""Embedded mode's engines under load that lasts: the in-process cache stays within its
bounds, and SQLite readers (run on the event loop, no thread each) never wait for a writer."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest
from sqlalchemy import text

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


# A statement long enough to be cut short (SQLite counts to three million: ~0.3 s).
_LONG_STATEMENT = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
    "SELECT count(*) FROM c"
)


@pytest.mark.slow
async def test_a_writer_cancelled_mid_statement_leaves_no_write_lock(test_env) -> None:
    """A task cancelled while its write transaction's statement ran (a server stopping, a
    client gone) used to leave the SQLite connection closed with the statement unfinished,
    its transaction, and the write lock, open until collected: the next writer waited the
    busy timeout (30 s), in 19 of 20 tries."""
    if postgres_server_url() is not None:
        pytest.skip("SQLite's write lock")
    engines = Engines.from_settings(test_env.settings())
    try:
        async with engines.db.transaction() as session:
            await session.execute(text("CREATE TABLE emb_notes (id INTEGER PRIMARY KEY)"))

        async def write() -> None:
            async with engines.db.transaction() as session:
                await session.execute(text("INSERT INTO emb_notes DEFAULT VALUES"))
                await session.execute(text(_LONG_STATEMENT))

        for _ in range(3):
            writing = asyncio.create_task(write())
            await asyncio.sleep(0.05)  # inside the long statement
            writing.cancel()
            await asyncio.gather(writing, return_exceptions=True)
            await asyncio.sleep(0.5)  # the statement has ended in its thread
            path = test_env.database_url.removeprefix("sqlite:///")
            other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")  # "database is locked" when it was left
                other.execute("ROLLBACK")
            finally:
                other.close()
        async with engines.db.session(readonly=True) as reader:
            rows = (await reader.execute(text("SELECT count(*) FROM emb_notes"))).scalar()
            assert rows == 0  # every cancelled insert rolled back
    finally:
        await engines.stop()
