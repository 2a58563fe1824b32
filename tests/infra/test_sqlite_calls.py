"""SQLite's connections make one call on their thread per statement (infra/db.py,
`_OneCallCursor`), and skip the pool's rollback when there is nothing to roll back, but
never while a statement handed to the thread has yet to run."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import text

from connecthub.config import Settings
from connecthub.infra.db import _OneCallConnection, _sqlite_engine, async_url


async def _connection(path: Path) -> _OneCallConnection:
    connection = _OneCallConnection(
        functools.partial(sqlite3.connect, str(path), check_same_thread=False), 64
    )
    connection._thread.daemon = True
    await connection
    return connection


def _counting(connection: _OneCallConnection) -> list[str]:
    """The names of the calls the connection makes from now on, one each on its thread (or,
    a writer holding the lock, on the loop: infra/db._WriterConnection)."""
    calls: list[str] = []
    handed = connection._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await handed(fn, *args, **kwargs)

    connection._execute = counted  # type: ignore[method-assign]
    return calls


async def test_a_statement_its_rows_and_its_close_are_one_call(tmp_path: Path) -> None:
    connection = await _connection(tmp_path / "one.db")
    try:
        calls = _counting(connection)
        async with connection.cursor() as cursor:
            await cursor.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
            await cursor.executemany("INSERT INTO t (name) VALUES (?)", [("a",), ("b",), ("c",)])
            assert cursor.rowcount == 3
            await cursor.execute("INSERT INTO t (name) VALUES (?)", ("d",))
            assert cursor.lastrowid == 4
            await cursor.execute("SELECT id, name FROM t ORDER BY id")
            assert [column[0] for column in cursor.description] == ["id", "name"]
            assert await cursor.fetchone() == (1, "a")
            assert await cursor.fetchmany(2) == [(2, "b"), (3, "c")]
            assert await cursor.fetchall() == [(4, "d")]
            assert await cursor.fetchone() is None
        assert calls == ["_run"] * 4  # the cursor, fetches and close made none
    finally:
        await connection.close()


async def test_a_rollback_with_no_transaction_makes_no_call(tmp_path: Path) -> None:
    connection = await _connection(tmp_path / "idle.db")
    try:
        calls = _counting(connection)
        await connection.rollback()
        assert calls == []
        await connection.cursor().execute("BEGIN")
        await connection.rollback()
        assert calls == ["_run", "rollback"]
        assert not connection._conn.in_transaction
    finally:
        await connection.close()


async def test_a_rollback_waits_for_a_begin_still_on_its_way(tmp_path: Path) -> None:
    """A task that handed `BEGIN IMMEDIATE` to the thread and was cancelled before it ran:
    the rollback asked then must still reach the thread, after the BEGIN, or the
    transaction (and SQLite's write lock) would outlive the connection's use."""
    connection = await _connection(tmp_path / "race.db")
    try:
        release = threading.Event()
        busy = asyncio.ensure_future(connection._execute(release.wait, 10))
        begin = asyncio.ensure_future(connection.cursor().execute("BEGIN IMMEDIATE"))
        await asyncio.sleep(0.05)
        begin.cancel()  # the BEGIN is queued behind the busy call, not yet run
        assert not connection._conn.in_transaction
        rollback = asyncio.ensure_future(connection.rollback())
        await asyncio.sleep(0.05)
        release.set()
        await rollback
        await busy
        assert connection.statements_queued == connection.statements_run
        assert not connection._conn.in_transaction
    finally:
        await connection.close()


async def test_the_engines_connections_make_one_call_per_statement(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'engine.db'}", environment="test")
    engine = _sqlite_engine(async_url(settings.database_url), settings, immediate=True)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        async with engine.begin() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert isinstance(driver, _OneCallConnection)
            calls = _counting(driver)
            await connection.execute(text("INSERT INTO t (id) VALUES (1), (2)"))
            rows = (await connection.execute(text("SELECT id FROM t ORDER BY id"))).all()
            assert [row[0] for row in rows] == [1, 2]
        assert calls == ["_run", "_run", "_counted_commit"]
    finally:
        await engine.dispose()
