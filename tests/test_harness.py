"""The harness's own promises (tests/engines.py): each test's database is clean."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.engines import END_OTHER_BACKENDS, TestDatabases, _asyncpg_dsn, postgres_server_url


@pytest.mark.slow
@pytest.mark.skipif(
    postgres_server_url() is None, reason="PostgreSQL's template (CI's second pass)"
)
async def test_the_template_is_built_while_the_keeper_holds_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's keeper (tests/support/kept_connections.py) is installed before the
    template is built, so it holds the connections the build closed; PostgreSQL refuses to
    rename a database anyone is connected to (a machine without the template failed every
    test of the pass)."""
    import asyncpg

    from tests import engines

    server = postgres_server_url()
    assert server is not None
    digest = f"harness_{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(engines, "template_digest", lambda: digest)
    store = TestDatabases(workdir=tmp_path, cache_dir=None)
    admin = await asyncpg.connect(_asyncpg_dsn(server, "postgres"))
    try:  # the databases of this digest go, the building one too when the build fails
        template = await store._postgres_template(server)
        assert template == f"ch_tpl_{digest}"
        names = await admin.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", f"%{digest}%"
        )
        assert [row["datname"] for row in names] == [template]  # the building one renamed
    finally:
        for row in await admin.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", f"%{digest}%"
        ):
            await admin.execute(f'DROP DATABASE "{row["datname"]}" WITH (FORCE)')
        await admin.close()


@pytest.mark.skipif(postgres_server_url() is None, reason="PostgreSQL's connections")
async def test_closing_the_kept_connections_ends_those_of_loops_that_ended_too() -> None:
    """A connection kept by a test that ran its own event loop (`asyncio.run`, as the CLI's
    tests do) belongs to a loop that is closed: `close_idle` ends its session all the same
    (it raised "Event loop is closed" in CI, failing the template's test above)."""
    import asyncpg

    from tests.support import kept_connections

    server = postgres_server_url()
    assert server is not None
    dsn = _asyncpg_dsn(server, "postgres")

    async def keep_one() -> int:
        connection = await kept_connections.connect(dsn)
        pid: int = connection.get_server_pid()
        await connection.close()  # kept, on this loop
        return pid

    pid = await asyncio.to_thread(asyncio.run, keep_one())
    assert pid in kept_connections.idle_pids()
    await kept_connections.close_idle()
    assert pid not in kept_connections.idle_pids()
    admin = await asyncpg.connect(dsn)
    try:
        for _ in range(100):  # the server ends the session once its socket closes
            alive = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid
            )
            if not alive:
                break
            await asyncio.sleep(0.02)
        assert not alive
    finally:
        await admin.close()


@pytest.mark.skipif(postgres_server_url() is None, reason="PostgreSQL's connections")
async def test_a_kept_connection_closed_mid_statement_is_replaced_not_handed_out() -> None:
    """A kept connection that cannot be reset (here a statement still runs on it) is
    replaced, never handed out. Any failure of the reset counts: CI once met asyncpg's
    InternalClientError there (a connection discarded after its backend was terminated
    under a statement), which was not among the errors caught, and the request got a 500;
    this test does not reproduce that state, only the rule."""
    from tests.support import kept_connections

    server = postgres_server_url()
    assert server is not None
    dsn = _asyncpg_dsn(server, "postgres")
    busy = await kept_connections.connect(dsn)
    statement = asyncio.ensure_future(busy.fetchval("SELECT pg_sleep(0.3)"))
    await asyncio.sleep(0.05)  # the statement is on its way
    await busy.close()  # kept: not in a transaction
    fresh = await kept_connections.connect(dsn)
    try:
        assert fresh is not busy
        assert await fresh.fetchval("SELECT 1") == 1
    finally:
        statement.cancel()
        await asyncio.gather(statement, return_exceptions=True)
        await fresh.close()
        await kept_connections.close_idle()


@pytest.mark.skipif(postgres_server_url() is None, reason="PostgreSQL's connections")
async def test_the_next_app_on_a_kept_connection_prepares_nothing_again(
    app_factory: Callable[..., Any],
) -> None:
    """An app's statements stay prepared on the connection the keeper hands to the next app
    of the same database (each test prepared its ~50 statements again: ~12 % of the
    PostgreSQL pass's CPU), and they still answer."""

    async def prepared_after_a_read() -> tuple[int, dict[str, set[str]]]:
        # One connection per app: every statement of both apps runs on the one kept.
        async with app_factory(database_pool_size=1, database_max_overflow=0) as (app, client):
            assert (await client.get("/api/v1/timelines/public")).status_code == 200
            async with app.state.engines.db.session() as session:
                pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                rows = await session.execute(
                    text("SELECT statement, name FROM pg_prepared_statements")
                )
                names: dict[str, set[str]] = {}
                for statement, name in rows:
                    names.setdefault(statement, set()).add(name)
        return pid, names

    from tests.support import kept_connections

    # A new connection first: one kept through the earlier tests holds their statements
    # too, and the cache they share drops the least used when it is full.
    await kept_connections.close_idle()
    first_pid, first = await prepared_after_a_read()
    second_pid, second = await prepared_after_a_read()
    assert second_pid == first_pid  # the same kept connection
    both = first.keys() & second.keys()
    assert len(both) >= 5
    # Each statement both apps ran is prepared under the names the first app gave it: the
    # second prepared none of them again (a background task may run once in one app only).
    assert {sql: second[sql] for sql in both} == {sql: first[sql] for sql in both}


@pytest.mark.skipif(
    postgres_server_url() is None, reason="PostgreSQL's reused databases (CI's second pass)"
)
async def test_a_reused_database_is_emptied_even_after_a_test_ended_every_connection(
    databases: TestDatabases,
) -> None:
    """A database handed out again has no rows and its sequences start over, also when the
    test before ended every backend of it, the connection that empties it among them."""
    import asyncpg
    from sqlalchemy.engine import make_url

    server = postgres_server_url()
    assert server is not None

    async def add_tag(name: str) -> int:
        connection = await asyncpg.connect(_asyncpg_dsn(server, name))
        try:
            tag_id: int = await connection.fetchval(
                "INSERT INTO tags (name, name_key, created_at) VALUES ('a', 'a', now())"
                " RETURNING id"
            )
            # As tests/timelines/test_compiled_read.py does: every other backend ends.
            await connection.execute(END_OTHER_BACKENDS, [])
            return tag_id
        finally:
            await connection.close()

    async def tags(name: str) -> int:
        connection = await asyncpg.connect(_asyncpg_dsn(server, name))
        try:
            count: int = await connection.fetchval("SELECT count(*) FROM tags")
            return count
        finally:
            await connection.close()

    for _round in range(3):
        url = await databases.new_database_url()
        name = make_url(url).database
        assert name is not None
        assert await tags(name) == 0
        assert await add_tag(name) == 1  # the sequence started over
        await databases.drop(url)


def _comparable(settings: object) -> dict[str, object]:
    """A settings' values, a RateLimit (no equality of its own) as its two numbers."""
    from connecthub.config import RateLimit, Settings

    assert isinstance(settings, Settings)
    return {
        name: (value.count, value.period) if isinstance(value, RateLimit) else value
        for name, value in settings.model_dump().items()
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"rate_limit_ip": "3/86400", "media_storage_url": "file:///tmp/elsewhere"},
        {"environment": "production", "secret_key": "s" * 40, "outbox_dir": "/tmp/o"},
        {"trusted_proxies": ["10.0.0.0/8"], "database_pool_size": 3},
    ],
)
def test_settings_copied_for_a_test_equal_a_fresh_build(overrides: dict[str, object]) -> None:
    """build_settings validates once per set of values and copies in each test's own
    (its database, key prefix and directories): the copy is what a fresh build gives."""
    from tests.engines import _BUILT, build_settings

    # A base kept from a test that gave its own directories is not one for a call without.
    build_settings("sqlite:////tmp/zero/z.db", "test:zero:", outbox_dir="/tmp/zero/outbox")
    first = build_settings("sqlite:////tmp/one/a.db", "test:one:", **overrides)
    copied = build_settings("sqlite:////tmp/two/b.db", "test:two:", **overrides)
    _BUILT.clear()
    fresh = build_settings("sqlite:////tmp/two/b.db", "test:two:", **overrides)
    assert _comparable(copied) == _comparable(fresh)
    assert (copied.database_url, copied.redis_key_prefix) == (
        "sqlite:////tmp/two/b.db",
        "test:two:",
    )
    assert first.database_url == "sqlite:////tmp/one/a.db"
