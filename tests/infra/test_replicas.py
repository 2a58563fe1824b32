"""Read replicas against a real streaming replica of the machine's PostgreSQL: a second
cluster made with `pg_basebackup -R` on its own port. An account reads what it has just
written (never stale); a replica that lags past the bound or stops leaves the rotation
without an error, and comes back; lag is a metric.

Replay on the replica is paused (`pg_wal_replay_pause()`) where a test needs it behind:
on loopback it would otherwise catch up in milliseconds, too fast to show anything."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from connecthub.ops import metrics
from tests.conftest import running_app
from tests.engines import postgres_server_url
from tests.servers import free_port
from tests.social_factories import auth, post_status, user_with_token
from tests.support.postgres_process import StreamingReplica, allow_replication

pytestmark = [
    pytest.mark.skipif(
        postgres_server_url() is None,
        reason="needs PostgreSQL: TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres"
        " (.ci/run, step PgBouncer and read replicas)",
    ),
    pytest.mark.processes,
]

WAIT_SECONDS = 30.0


@pytest.fixture(scope="session")
def replica() -> Iterator[StreamingReplica]:
    # One standby per worker for the whole run (a base backup is the slow part): the
    # scheduler may hand these tests to a worker between others.
    server = make_url(postgres_server_url() or "")
    allow_replication(server.set(drivername="postgresql").render_as_string(hide_password=False))
    standby = StreamingReplica(free_port(), server.host or "127.0.0.1", server.port or 5432)
    try:
        standby.init()
        standby.start()
        yield standby
    finally:
        standby.remove()


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"waited {WAIT_SECONDS:.0f}s for {what}")


async def _value(dsn: str, query: str) -> Any:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


class Cluster:
    """The test database on the primary and on the replica."""

    def __init__(self, primary_dsn: str, replica_dsn: str) -> None:
        self.primary_dsn = primary_dsn
        self.replica_dsn = replica_dsn

    async def caught_up(self) -> None:
        """Waits until the replica has replayed everything the primary has written."""
        target = await _value(self.primary_dsn, "SELECT pg_current_wal_lsn()::text")

        async def replayed() -> bool:
            return bool(
                await _value(
                    self.replica_dsn,
                    f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn",
                )
            )

        await _until(replayed, "the replica to replay the primary's writes")

    async def pause(self) -> None:
        await _value(self.replica_dsn, "SELECT pg_wal_replay_pause()")

    async def resume(self) -> None:
        await _value(self.replica_dsn, "SELECT pg_wal_replay_resume()")


@contextlib.asynccontextmanager
async def replicated_app(
    test_env: Any, replica: StreamingReplica, **overrides: Any
) -> AsyncIterator[tuple[Any, Any, Cluster]]:
    """The app with the replica as its read replica, the test database there too."""
    database = make_url(test_env.database_url).database or ""
    primary_dsn = make_url(test_env.settings().database_direct_url or test_env.database_url)
    primary = primary_dsn.set(drivername="postgresql").render_as_string(hide_password=False)
    replica_url = replica.url(database)

    async def exists() -> bool:
        with contextlib.suppress(asyncpg.InvalidCatalogNameError, OSError):
            return bool(await _value(replica_url, "SELECT 1"))
        return False

    await _until(exists, "the test database on the replica")
    overrides.setdefault("database_replica_check_seconds", 0.1)
    async with running_app(test_env, database_replica_urls=[replica_url], **overrides) as (
        app,
        client,
    ):
        cluster = Cluster(primary, replica_url)
        try:
            yield app, client, cluster
        finally:
            await cluster.resume()


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


async def test_an_account_reads_its_own_post_at_once_while_the_replica_is_behind(test_env, replica):
    async with replicated_app(
        test_env,
        replica,
        database_replica_max_lag_seconds=3600,  # stays in rotation while paused
        database_read_your_writes_seconds=7200,
    ) as (app, client, cluster):
        alice, alice_token = await user_with_token(app, "alice")
        _bob, bob_token = await user_with_token(app, "bob")
        await cluster.caught_up()
        await cluster.pause()

        posted = await post_status(client, alice_token, "written on the primary")
        # Alice: the status, her home and her statuses, at once: never stale.
        shown = await client.get(f"/api/v1/statuses/{posted['id']}", headers=auth(alice_token))
        assert shown.status_code == 200, shown.text
        assert shown.json()["content"] == "<p>written on the primary</p>"
        home = await client.get("/api/v1/timelines/home", headers=auth(alice_token))
        assert posted["id"] in _ids(home)
        own = f"/api/v1/accounts/{alice.id}/statuses"
        assert posted["id"] in _ids(await client.get(own, headers=auth(alice_token)))

        # Bob wrote nothing: his reads use the replica, which has not replayed it yet.
        assert posted["id"] not in _ids(await client.get(own, headers=auth(bob_token)))

        await cluster.resume()
        await cluster.caught_up()
        await asyncio.sleep(0.3)  # a probe or two
        assert posted["id"] in _ids(await client.get(own, headers=auth(bob_token)))


async def test_without_read_your_writes_the_author_would_read_the_stale_replica(test_env, replica):
    """What read-your-writes prevents: the same steps with it off."""
    async with replicated_app(
        test_env,
        replica,
        database_replica_max_lag_seconds=3600,
        database_read_your_writes_seconds=0,
    ) as (app, client, cluster):
        alice, alice_token = await user_with_token(app, "alice")
        await cluster.caught_up()
        await cluster.pause()
        posted = await post_status(client, alice_token, "not replayed yet")
        own = f"/api/v1/accounts/{alice.id}/statuses"
        assert posted["id"] not in _ids(await client.get(own, headers=auth(alice_token)))


def _lag(name: str) -> float:
    return float(metrics.DB_REPLICA_LAG.labels(replica=name)._value.get())


async def test_a_lagging_replica_leaves_the_rotation_and_comes_back(test_env, replica):
    async with replicated_app(
        test_env,
        replica,
        database_replica_max_lag_seconds=1.0,
        database_read_your_writes_seconds=60,
    ) as (app, client, cluster):
        standby = app.state.engines.db.replica_set.replicas[0]
        alice, alice_token = await user_with_token(app, "alice")
        _bob, bob_token = await user_with_token(app, "bob")
        await cluster.caught_up()

        async def in_rotation() -> bool:
            return bool(standby.in_rotation)

        async def out_of_rotation() -> bool:
            return not standby.in_rotation

        await _until(in_rotation, "the replica in rotation")
        await cluster.pause()
        posted = await post_status(client, alice_token, "while the replica is paused")
        await _until(out_of_rotation, "the lagging replica to leave the rotation")
        assert _lag(standby.name) > 1.0
        assert metrics.DB_REPLICA_IN_ROTATION.labels(replica=standby.name)._value.get() == 0
        # Bob's reads now go to the primary: fresh, no error.
        own = f"/api/v1/accounts/{alice.id}/statuses"
        assert posted["id"] in _ids(await client.get(own, headers=auth(bob_token)))

        await cluster.resume()
        await _until(in_rotation, "the replica back in rotation once it caught up")
        assert _lag(standby.name) <= 1.0
        assert posted["id"] in _ids(await client.get(own, headers=auth(bob_token)))
        scraped = await client.get("/metrics")
        if scraped.status_code == 200:
            assert "connecthub_db_replica_lag_seconds" in scraped.text


async def test_reads_continue_when_the_replica_stops_mid_run(test_env, replica):
    async with replicated_app(
        test_env,
        replica,
        database_replica_max_lag_seconds=5.0,
        # Probes far apart: the reads below meet the stopped replica before any probe does.
        database_replica_check_seconds=30,
    ) as (app, client, cluster):
        standby = app.state.engines.db.replica_set.replicas[0]
        alice, alice_token = await user_with_token(app, "alice")
        _bob, bob_token = await user_with_token(app, "bob")
        posted = await post_status(client, alice_token, "before the replica stops")
        await cluster.caught_up()
        own = f"/api/v1/accounts/{alice.id}/statuses"
        for _ in range(3):  # the replica's pool now holds connections
            assert posted["id"] in _ids(await client.get(own, headers=auth(bob_token)))
        assert standby.in_rotation

        replica.stop()
        # pg_ctl blocked the loop: let it see the closed sockets, as a server does between
        # requests (a read already on the replica when it stops fails: docs/database.md).
        await asyncio.sleep(0.2)
        try:
            for _ in range(5):
                assert posted["id"] in _ids(await client.get(own, headers=auth(bob_token)))
                shown = await client.get(f"/api/v1/statuses/{posted['id']}")
                assert shown.status_code == 200, shown.text
            assert not standby.in_rotation  # left at the first refused connection
        finally:
            replica.start()

        async def back() -> bool:
            await app.state.engines.db.replica_set.check()
            return bool(standby.in_rotation)

        await _until(back, "the restarted replica back in rotation")
        assert posted["id"] in _ids(await client.get(own, headers=auth(bob_token)))
