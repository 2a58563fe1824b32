"""PostgreSQL read replicas: which one a read may use, and read-your-writes.

Each replica is probed every DATABASE_REPLICA_CHECK_SECONDS on a connection of its own:
its replay position (`pg_last_wal_replay_lsn()`) against the primary's write position
(`pg_current_wal_lsn()`), sampled on the same tick. Lag is the age of the oldest primary
sample the replica has not replayed yet (0 when it has replayed the latest): it needs no
clock shared with the replica and reads 0 on an idle primary, where `now() -
pg_last_xact_replay_timestamp()` would grow without end. A replica past
DATABASE_REPLICA_MAX_LAG_SECONDS, or one that does not answer, leaves the rotation; it comes
back on the first probe that finds it answering and under the bound.

Between two probes a replica can stop. Its pooled connections are then closed, and a
checkout skips a closed one (no round trip); a new connection that the replica refuses is
opened to the primary instead and the replica leaves the rotation at once. So a read never
fails because a replica went away (a statement already running on it when it stops does).

Read-your-writes: after a unit of work of an account commits, the primary's WAL position
(taken after the commit, so at or past its commit record) is kept in the cache for
DATABASE_READ_YOUR_WRITES_SECONDS under the account. That account's reads then use only a
replica whose last probed replay position is at or past it, else the primary.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import structlog
from sqlalchemy import event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from connecthub.config import Settings
from connecthub.core.tasks import cancel_and_wait
from connecthub.infra.cache import Cache
from connecthub.ops import metrics

log = structlog.get_logger(__name__)

_LSN = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint"
# A standby reports what it has replayed; a server that is not one (a replica URL that
# names a primary) has everything it wrote.
_REPLAY = (
    "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
    " ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint"
)


# Past any real WAL position: reads that must go to the primary.
UNREACHABLE_LSN = 2**63 - 1


def _key(account_id: int) -> str:
    return f"db:written:{account_id}"


def label(url: URL) -> str:
    """A replica's name in metrics and logs: host, port and database, never the password."""
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


@dataclass
class Replica:
    name: str
    engine: AsyncEngine  # reads; its new connections fall back to the primary
    probe: AsyncEngine  # the monitor's own connection, never the primary
    reader: async_sessionmaker[AsyncSession]
    in_rotation: bool = True
    replay_lsn: int = 0
    lag_seconds: float = 0.0
    down_reason: str | None = None

    def leave(self, reason: str) -> None:
        if self.in_rotation:
            log.warning("db.replica_left_rotation", replica=self.name, reason=reason)
        self.in_rotation = False
        self.down_reason = reason
        metrics.DB_REPLICA_IN_ROTATION.labels(replica=self.name).set(0)


@dataclass
class ReplicaSet:
    settings: Settings
    primary_probe: AsyncEngine
    replicas: list[Replica]
    _samples: deque[tuple[float, int]] = field(default_factory=deque)
    _turn: Callable[[], int] = field(default_factory=lambda: itertools.count().__next__)
    _task: asyncio.Task[None] | None = None

    # --- routing ---------------------------------------------------------------------------

    def pick(self, after_lsn: int | None) -> Replica | None:
        """The next replica in rotation that has replayed `after_lsn` (None: any); None
        when no replica may serve the read (the primary then does)."""
        candidates = [
            replica
            for replica in self.replicas
            if replica.in_rotation and (after_lsn is None or replica.replay_lsn >= after_lsn)
        ]
        if not candidates:
            return None
        return candidates[self._turn() % len(candidates)]

    # --- read-your-writes ------------------------------------------------------------------

    @property
    def tracks_writes(self) -> bool:
        return self.settings.database_read_your_writes_seconds > 0

    async def remember_write(self, cache: Cache, primary: AsyncEngine, account_id: int) -> None:
        """After `account_id`'s commit: the primary's WAL position, kept for its reads."""
        autocommit = primary.execution_options(isolation_level="AUTOCOMMIT")
        async with autocommit.connect() as connection:
            lsn = int((await connection.exec_driver_sql(_LSN)).scalar_one())
        ttl = self.settings.database_read_your_writes_seconds
        await cache.set(_key(account_id), str(lsn).encode(), ttl)

    async def written_lsn(self, cache: Cache, account_id: int) -> int | None:
        """The WAL position `account_id`'s reads must see, if it wrote recently (with the
        cache unreachable: a position no replica has, so the primary serves)."""
        try:
            raw = await cache.get(_key(account_id))
        except Exception as exc:
            log.warning("db.write_position_unknown", error=f"{type(exc).__name__}: {exc}")
            return UNREACHABLE_LSN
        return int(raw) if raw else None

    # --- monitoring ------------------------------------------------------------------------

    async def check(self) -> None:
        """One probe of the primary and of every replica; updates rotation and metrics."""
        timeout = self.settings.database_connect_timeout_seconds + 1
        now = time.monotonic()
        try:
            primary_lsn = await asyncio.wait_for(_scalar(self.primary_probe, _LSN), timeout)
        except Exception as exc:  # the primary is down: replicas are judged on the next tick
            log.warning("db.primary_probe_failed", error=f"{type(exc).__name__}: {exc}")
            await self.primary_probe.dispose()
            primary_lsn = None
        if primary_lsn is not None:
            self._samples.append((now, primary_lsn))
        keep = max(60.0, 3 * self.settings.database_replica_max_lag_seconds)
        while self._samples and self._samples[0][0] < now - keep:
            self._samples.popleft()
        await asyncio.gather(*(self._check_one(replica, timeout) for replica in self.replicas))

    async def _check_one(self, replica: Replica, limit: float) -> None:
        try:
            replay = await asyncio.wait_for(_scalar(replica.probe, _REPLAY), limit)
        except Exception as exc:
            replica.leave(f"down: {type(exc).__name__}")
            await replica.probe.dispose()  # the next probe opens a new connection
            metrics.DB_REPLICA_LAG.labels(replica=replica.name).set(float("nan"))
            return
        replica.replay_lsn = replay
        replica.lag_seconds = self._lag(replay)
        metrics.DB_REPLICA_LAG.labels(replica=replica.name).set(replica.lag_seconds)
        if replica.lag_seconds > self.settings.database_replica_max_lag_seconds:
            replica.leave(f"lag {replica.lag_seconds:.1f}s")
            return
        if not replica.in_rotation:
            log.info("db.replica_back_in_rotation", replica=replica.name)
            replica.in_rotation = True
            replica.down_reason = None
            # Connections opened to the primary while it was away go.
            await replica.engine.dispose()
        metrics.DB_REPLICA_IN_ROTATION.labels(replica=replica.name).set(1)

    def _lag(self, replay: int) -> float:
        """Seconds since the primary first stood past `replay` (0: nothing left to replay)."""
        if not self._samples or replay >= self._samples[-1][1]:
            return 0.0
        for sampled_at, lsn in self._samples:
            if lsn > replay:
                return time.monotonic() - sampled_at
        return 0.0

    async def run(self) -> None:
        interval = self.settings.database_replica_check_seconds
        while True:
            try:
                await self.check()
            except Exception:
                log.exception("db.replica_check_failed")
            await asyncio.sleep(interval)

    async def start(self) -> None:
        """A first probe before the process serves, then one every check interval."""
        await self.check()
        self._task = asyncio.get_running_loop().create_task(self.run(), name="db-replicas")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def dispose(self) -> None:
        await self.stop()
        await self.primary_probe.dispose()
        for replica in self.replicas:
            await replica.probe.dispose()


async def _scalar(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text(sql))).scalar_one())


def fall_back_to(primary: URL, on_refused: Callable[[str], None]) -> Callable[..., Any]:
    """An `async_creator_fn` for a replica's engine: the replica's connection, or, when
    the replica cannot be reached, one to `primary` (`on_refused` told why)."""
    primary_params = primary.translate_connect_args(username="user", database="database")

    async def connect(*args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncpg.connect(*args, **kwargs)
        except (OSError, TimeoutError, asyncpg.CannotConnectNowError) as exc:
            on_refused(f"refused: {type(exc).__name__}")
            return await asyncpg.connect(**{**kwargs, **primary_params})

    return connect


def skip_closed_connections(engine: AsyncEngine) -> None:
    """A pooled connection the server closed (a replica that stopped) is replaced at
    checkout, without a round trip: asyncpg has seen the socket close."""

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        driver = getattr(dbapi_connection, "_connection", None)
        if driver is not None and driver.is_closed():
            raise DisconnectionError("the server closed this connection")
