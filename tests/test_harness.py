"""The harness's own promises (tests/engines.py): each test's database is clean."""

from __future__ import annotations

import pytest

from tests.engines import END_OTHER_BACKENDS, TestDatabases, _asyncpg_dsn, postgres_server_url


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
            await connection.execute(END_OTHER_BACKENDS)
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
