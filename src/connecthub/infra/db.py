"""The database engine: SQLite (WAL, synchronous=FULL) embedded, PostgreSQL primary plus
read replicas distributed. Every SQLite/PostgreSQL difference lives in this module."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    MetaData,
    any_,
    bindparam,
    event,
    func,
    insert,
    inspect,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.sqlite.aiosqlite import dialect as aiosqlite_dialect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, make_transient_to_detached
from sqlalchemy.sql.selectable import TableValuedAlias

from connecthub.config import Settings
from connecthub.infra import entity_cache, outside_writes
from connecthub.infra.compiled import RAW_READS
from connecthub.infra.entity_cache import EntityCache
from connecthub.infra.replicas import (
    Replica,
    ReplicaSet,
    fall_back_to,
    label,
    skip_closed_connections,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Ids are made in Python (connecthub.ids), so a plain BIGINT serves both engines.
IdType = BigInteger


def dialect_of(session: AsyncSession) -> str:
    """'sqlite' or 'postgresql': for statements built once per engine."""
    return session.get_bind().dialect.name


def in_id_list(
    column: ColumnElement[Any] | InstrumentedAttribute[Any], key: str, dialect: str
) -> ColumnElement[bool]:
    """`column IN :key` for a list of ids bound at execution. PostgreSQL gets one array
    parameter (`= ANY`): an expanding IN is re-rendered with one placeholder per id on every
    execution, which cost more CPU than the query on hot timeline reads. SQLite has no
    arrays, so there the list expands."""
    if dialect == "postgresql":
        return column == any_(bindparam(key, type_=ARRAY(IdType)))
    return column.in_(bindparam(key, expanding=True))


def id_list_rows(key: str, column: str, name: str) -> TableValuedAlias:
    """The ids bound at execution under `key` as a table of one `column` (PostgreSQL's
    `unnest` of one array parameter): something to drive a LATERAL subquery per id, which
    SQLite cannot run (callers give it another statement)."""
    ids = bindparam(key, type_=ARRAY(IdType))
    return func.unnest(ids).table_valued(column).render_derived(name=name)


def utc_period(
    column: ColumnElement[Any] | InstrumentedAttribute[Any], dialect: str, frequency: str
) -> ColumnElement[str]:
    """The UTC day (`YYYY-MM-DD`) or month (`YYYY-MM`, `frequency` "month") a timestamp
    falls in, as text: what dashboard figures group by. PostgreSQL formats the instant in
    UTC; SQLite stores UTC wall time as text, which strftime reads as it is."""
    if dialect == "postgresql":
        pattern = "YYYY-MM" if frequency == "month" else "YYYY-MM-DD"
        return func.to_char(func.timezone("UTC", column), pattern)
    return func.strftime("%Y-%m" if frequency == "month" else "%Y-%m-%d", column)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


async def insert_once(session: AsyncSession, model: type[Base], values: dict[str, Any]) -> bool:
    """`INSERT … ON CONFLICT DO NOTHING`: True when the row went in, False when a unique key
    already held it (also when a concurrent transaction committed it first). Unlike a
    SAVEPOINT around an ORM flush, this is one round trip and the transaction stays usable."""
    statement = _insert_once_statement(model, dialect_of(session))
    return (await session.execute(statement, values)).first() is not None


@functools.cache
def _insert_once_statement(model: type[Base], dialect: str) -> Any:
    # Built once per table and engine, the values bound at execution. ORM-enabled (the
    # mapped class, not its table), so the session's pending objects flush first.
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return dialect_insert(model).on_conflict_do_nothing().returning(*inspect(model).primary_key)


async def insert_many_once(
    session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]
) -> list[Any]:
    """`insert_once` for many rows in one statement (per thousand rows): the primary keys
    of the rows that went in; rows a unique key already held are skipped."""
    if not rows:
        return []
    statement = _insert_once_statement(model, dialect_of(session))
    return list((await session.execute(statement, rows)).scalars())


async def insert_as_loaded(session: AsyncSession, instance: Base) -> None:
    """INSERT one new ORM row by a statement built once per table, then put `instance` in the
    session as though a query had loaded it: what an ORM flush of the new object does, for
    a fraction of its CPU (the unit of work's bookkeeping cost more than the INSERT; a post's
    status row, docs/benchmarks.md). Column defaults are filled in on the instance first
    (scalars and plain callables; a table with server-side defaults is refused), so every
    attribute is loaded; objects pending in the session flush before it, as an ORM
    statement's autoflush would; the entity cache records the row as its flush hook does."""
    mapper = inspect(type(instance))
    values: dict[str, Any] = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if prop.key not in instance.__dict__:
            setattr(instance, prop.key, _default_of(column))
        values[column.key] = getattr(instance, prop.key)
    sync = session.sync_session
    if sync.new or sync.deleted or sync.dirty:
        await session.flush()
    await session.execute(_plain_insert(mapper.local_table), values)
    make_transient_to_detached(instance)
    sync.add(instance)
    entity_cache.record_insert(session, instance)


def _default_of(column: Any) -> Any:
    if column.server_default is not None:
        raise ValueError(f"{column} has a server-side default: flush it through the ORM")
    default = column.default
    if default is None:
        return None
    if default.is_scalar:
        return default.arg
    if default.is_callable:
        return default.arg(None)  # SQLAlchemy wraps a plain callable to take a context
    raise ValueError(f"{column}'s default is SQL: flush it through the ORM")


@functools.cache
def _plain_insert(table: Any) -> Any:
    """An INSERT of every column, built once per table (a Core statement: no ORM bulk path)."""
    return insert(table)


async def insert_rows(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Rows of a table no ORM object stands for in this transaction (a status's tags and
    mentions), in one statement built once; nothing when `rows` is empty."""
    if rows:
        await session.execute(_plain_insert(inspect(model).local_table), rows)


def async_url(url: str) -> URL:
    """Map a user-facing URL (sqlite:///…, postgresql://…) to its async driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    return parsed.set(drivername="postgresql+asyncpg")


_INLINE_BUSY_TIMEOUT_SECONDS = 0.5


class _RunAtOnce:
    """Stands in for the queue to an aiosqlite connection's worker thread: runs each call
    at once, on the event loop's thread, and settles its future before it is awaited."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to the awaiting caller, as the thread does
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)

    put = put_nowait


class _SqliteConnection(sqlite3.Connection):
    """A SQLite connection that rolls back what is still open before it closes.

    A task cancelled while its statement ran (a server stopping, a client gone) has its
    connection closed with the statement unfinished; SQLite then keeps the connection, and
    its transaction, open until that statement is collected (`sqlite3_close_v2`), and a
    write transaction (`BEGIN IMMEDIATE`) holds the write lock meanwhile: every other
    writer waited out the busy timeout (30 s; a test app's stop during a flags reload,
    ~1 in 150)."""

    def close(self) -> None:
        if self.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.rollback()
        super().close()


class _OneCallCursor(aiosqlite.Cursor):
    """A statement, its rows and its cursor's close in one call on the connection's thread.

    aiosqlite's cursor makes a call for each (the cursor, `execute`, `fetchall`, `close`,
    as SQLAlchemy's adapter asks them), and on the writer's thread each call is two
    wake-ups and two hand-overs of the interpreter lock: a post was ~90 context switches.
    The rows are fetched with the statement, as the adapter fetches them all at once
    anyway (ConnectHub streams no result from SQLite)."""

    arraysize = 1  # sqlite3's default; SQLAlchemy's `fetchmany()` reads it

    def __init__(self, connection: _OneCallConnection) -> None:
        self.iter_chunk_size = connection._iter_chunk_size
        self._conn = connection
        self._owner = connection  # typed as ours (aiosqlite's `_conn` is its base class)
        self._rows: deque[Any] = deque()
        self._ran: tuple[Any, int, int | None] = (None, -1, None)

    def __await__(self) -> Generator[Any, None, _OneCallCursor]:
        """`await connection.cursor()`, as aiosqlite's own cursor allows."""
        return self._self().__await__()

    async def _self(self) -> _OneCallCursor:
        return self

    def _run(
        self, call: Callable[[sqlite3.Cursor], object]
    ) -> tuple[list[Any], tuple[Any, int, int | None]]:
        connection = self._owner
        try:
            cursor = connection._conn.cursor()
            try:
                call(cursor)
                rows = cursor.fetchall() if cursor.description else []
                return rows, (cursor.description, cursor.rowcount, cursor.lastrowid)
            finally:
                cursor.close()
        finally:
            connection.statements_run += 1

    async def _call(self, call: Callable[[sqlite3.Cursor], object]) -> _OneCallCursor:
        connection = self._owner
        run: Callable[..., Awaitable[Any]] = connection._execute
        connection.statements_queued += 1
        rows, self._ran = await run(self._run, call)
        self._rows = deque(rows)
        return self

    async def execute(self, sql: str, parameters: Any = None) -> _OneCallCursor:
        return await self._call(lambda cursor: cursor.execute(sql, parameters or ()))

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> _OneCallCursor:
        return await self._call(lambda cursor: cursor.executemany(sql, parameters))

    async def executescript(self, sql_script: str) -> _OneCallCursor:
        return await self._call(lambda cursor: cursor.executescript(sql_script))

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = min(self.arraysize if size is None else size, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()

    @property
    def description(self) -> Any:
        return self._ran[0]

    @property
    def rowcount(self) -> int:
        return self._ran[1]

    @property
    def lastrowid(self) -> int | None:
        return self._ran[2]


class _OneCallConnection(aiosqlite.Connection):
    """aiosqlite's connection, its calls on a thread of its own, with `_OneCallCursor`s."""

    # Statements handed to the thread (counted on the event loop's thread) and run there
    # (counted on the connection's): equal when none is waiting or running.
    statements_queued = 0
    statements_run = 0

    def cursor(self) -> _OneCallCursor:  # type: ignore[override]
        return _OneCallCursor(self)

    async def rollback(self) -> None:
        """No call on the thread when there is nothing to roll back: SQLAlchemy's pool rolls
        back every connection it takes back, after a commit too. Only when no statement is
        still to run there: a `BEGIN` handed over by a task cancelled since would open a
        transaction after the look (and its write lock would outlive the connection's use)."""
        if self.statements_queued != self.statements_run:
            await super().rollback()
            return
        try:
            idle = not self._conn.in_transaction
        except sqlite3.ProgrammingError:  # bound to its own thread (`:memory:`): ask there
            idle = False
        if not idle:
            await super().rollback()


class _WriterConnection(_OneCallConnection):
    """A writer: its statements on the event loop's thread while it holds the write lock,
    `COMMIT` and a wait for the lock on its own thread.

    Taking the lock may wait for another writer (the busy timeout) and a commit waits for
    the disk (`synchronous=FULL`): the loop must not. So `BEGIN IMMEDIATE` is tried on the
    loop without waiting, and handed to the thread only when another writer holds the
    lock. With the lock held a statement waits on no lock (WAL mode), and its hop to the
    thread and back cost more CPU than most statements (a one-row read: ~45 µs inline,
    ~210 µs through the thread; ADR 0058). The calls stay one at a time, as
    SQLAlchemy awaits each before the next, so the loop's thread and the connection's never
    use the sqlite3 connection at once (made with `check_same_thread=False`)."""

    holds_write_lock = False
    busy_timeout_ms = 0  # the connection's own (`PRAGMA busy_timeout`)

    def take_lock_at_once(self, begin: str) -> bool:
        """`begin` on the loop's thread when the write lock is free this moment: the usual
        case, and a hop less. False, having done nothing, when another writer holds it (or
        anything else fails): then `begin` goes to the thread, to wait there."""
        connection = self._connection
        if connection is None or self.statements_queued != self.statements_run:
            return False  # a call still runs on the thread (its task was cancelled)
        try:
            connection.execute("PRAGMA busy_timeout=0")
        except sqlite3.Error:
            return False
        try:
            connection.execute(begin)
        except sqlite3.Error:
            return False
        else:
            self.holds_write_lock = True
            return True
        finally:
            connection.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.holds_write_lock and self._connection is not None:
            return fn(*args, **kwargs)
        on_thread: Callable[..., Awaitable[Any]] = super()._execute  # untyped in aiosqlite
        return await on_thread(fn, *args, **kwargs)

    async def commit(self) -> None:
        # Counted as a statement: a task cancelled while it runs on the thread leaves the
        # connection marked busy there, so nothing runs on it from the loop meanwhile.
        self.holds_write_lock = False
        self.statements_queued += 1
        await self._execute(self._counted_commit)

    def _counted_commit(self) -> None:
        try:
            self._conn.commit()
        finally:
            self.statements_run += 1

    async def rollback(self) -> None:
        # No disk wait: on the loop when the transaction is ours.
        try:
            await super().rollback()
        finally:
            self.holds_write_lock = False

    async def close(self) -> None:
        self.holds_write_lock = False
        await super().close()


class _InlineConnection(_OneCallConnection):
    """An aiosqlite connection without its thread: every sqlite3 call runs on the loop.
    For reads, which in WAL mode never wait for a lock: a home page is ~17 calls, and
    each hop to a worker thread and back cost more than the call."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunAtOnce()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no worker thread to start


def _sqlite_engine(
    url: URL, settings: Settings, *, immediate: bool, inline: bool = False
) -> AsyncEngine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    busy_timeout = settings.sqlite_busy_timeout_seconds
    on_file = bool(url.database) and url.database != ":memory:"
    if inline and on_file:
        # A WAL reader waits for a lock only in rare moments (recovery after a crash, another
        # process in exclusive mode), but waiting here stops the whole loop: a short wait,
        # then a 503 busy.
        busy_timeout = min(busy_timeout, _INLINE_BUSY_TIMEOUT_SECONDS)
    args, kwargs = aiosqlite_dialect().create_connect_args(url)
    kwargs.update(timeout=busy_timeout, factory=_SqliteConnection)
    connect_sqlite = functools.partial(sqlite3.connect, *args, **kwargs)

    def connector(*, any_thread: bool = False) -> sqlite3.Connection:
        """A connection set up where it is made (on its own thread for a writer): one hop
        instead of one per setting (~7 for a writer's first connection). `any_thread`:
        usable from another thread than its own (`_WriterConnection`)."""
        connection = connect_sqlite(check_same_thread=not any_thread)
        # Take over transaction control from the driver so we can choose BEGIN IMMEDIATE.
        connection.isolation_level = None
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        # A writer waits this long for another to finish, then gives up (a 503).
        connection.execute(f"PRAGMA busy_timeout={round(busy_timeout * 1000)}")
        return connection

    async def connect() -> aiosqlite.Connection:
        if inline and on_file:
            return await _InlineConnection(connector)
        connection: _OneCallConnection
        if immediate and on_file:
            connection = _WriterConnection(
                functools.partial(connector, any_thread=True), iter_chunk_size=64
            )
            connection.busy_timeout_ms = round(busy_timeout * 1000)
        else:
            connection = _OneCallConnection(connector, iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy's own aiosqlite connect sets it
        return await connection

    engine = create_async_engine(
        url,
        echo=settings.database_echo,
        pool_timeout=settings.database_pool_timeout_seconds,
        async_creator=connect,
    )

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front: a deferred transaction that later writes
        # fails at once with SQLITE_BUSY instead of waiting for the other writer. Sent on
        # the driver's cursor: through `exec_driver_sql` SQLAlchemy's execution machinery
        # cost 30-100 µs of every session's CPU (a readonly session with one SELECT:
        # 500-600 µs). Statement hooks still see it (the tests' statement counts), and a
        # driver error is raised as SQLAlchemy raises it (a busy writer is a 503).
        connection.dispatch.before_cursor_execute(connection, None, begin, (), None, False)
        driver = connection.connection.driver_connection
        if isinstance(driver, _WriterConnection) and driver.take_lock_at_once(begin):
            return
        driver_error = connection.dialect.loaded_dbapi.Error
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(begin)
        except driver_error as exc:
            raise DBAPIError.instance(
                begin, (), exc, driver_error, dialect=connection.dialect
            ) from exc
        finally:
            cursor.close()
        if isinstance(driver, _WriterConnection):
            driver.holds_write_lock = True

    return engine


def _unnamed_statement() -> str:
    return ""


def postgres_connect_args(settings: Settings, *, pooled: bool) -> dict[str, Any]:
    """asyncpg's arguments. `pooled` (through PgBouncer in transaction mode): no statement
    cache, in asyncpg or in SQLAlchemy's adapter, and every statement unnamed. asyncpg then
    sends an unnamed statement's Parse again with its Bind, Execute and Sync, so each
    statement is whole within one server round trip and no name outlives it (a named one
    would be missing, or another client's, on the next server connection PgBouncer lends).
    The server plans each statement anew: the price of pooling (docs/adr, PgBouncer)."""
    args: dict[str, Any] = {"timeout": settings.database_connect_timeout_seconds}
    if pooled:
        args.update(
            statement_cache_size=0,
            prepared_statement_cache_size=0,
            prepared_statement_name_func=_unnamed_statement,
        )
    return args


def _postgres_engine(
    url: URL,
    settings: Settings,
    *,
    pooled: bool,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    extra_connect_args: dict[str, Any] | None = None,
) -> AsyncEngine:
    return create_async_engine(
        url,
        echo=settings.database_echo,
        pool_size=pool_size or settings.database_pool_size,
        max_overflow=settings.database_max_overflow if max_overflow is None else max_overflow,
        # No ping per checkout (BEGIN, a query and ROLLBACK on asyncpg: a fifth of a cached
        # read's work). A connection the server dropped fails its request once with a 503
        # (http/errors.py) and SQLAlchemy then discards the whole pool.
        pool_pre_ping=False,
        pool_recycle=1800,
        pool_timeout=settings.database_pool_timeout_seconds,
        # A server that does not answer (a host gone, not a refused port) fails the
        # request in seconds, as an outage (503), instead of asyncpg's default minute.
        connect_args={
            **postgres_connect_args(settings, pooled=pooled),
            **(extra_connect_args or {}),
        },
    )


def _reader(engine: AsyncEngine, *, sqlite: bool) -> AsyncEngine:
    """Read-only sessions on PostgreSQL run in autocommit: each query is its own snapshot,
    and a request saves the BEGIN and COMMIT round trips (a fifth of a home read's cost).
    Nothing writes through them (GETs that write take the primary unit of work)."""
    if sqlite:
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


class Database:
    """The primary (writes) and its read replicas (reads that may lag a little).

    `direct`: the primary at DATABASE_DIRECT_URL (when set), bypassing the pooler, and no
    replicas: for migrations and anything that needs one server session."""

    def __init__(self, settings: Settings, *, direct: bool = False) -> None:
        self.settings = settings
        self.is_sqlite = settings.is_sqlite
        pooled = settings.database_pooler == "transaction"
        url = settings.database_url
        if direct and settings.database_direct_url:
            url, pooled = settings.database_direct_url, False
        primary_url = async_url(url)
        self.replica_set: ReplicaSet | None = None
        if self.is_sqlite:
            self.primary = _sqlite_engine(primary_url, settings, immediate=True)
            self.replicas = [_sqlite_engine(primary_url, settings, immediate=False, inline=True)]
        else:
            self.primary = _postgres_engine(primary_url, settings, pooled=pooled)
            urls = [] if direct else settings.database_replica_urls
            self.replica_set = self._replica_set(primary_url, urls, pooled) if urls else None
            self.replicas = (
                [r.engine for r in self.replica_set.replicas] if self.replica_set else []
            )
        # Set by Engines: sessions carry it so their commits drop cached entities.
        self.entity_cache: EntityCache | None = None
        # Embedded mode: a process that committed tells a running server when it closes
        # the database (infra/outside_writes.py); the server watches instead.
        self.outside_marker = outside_writes.marker_path(settings)
        self._committed = False
        if self.outside_marker is not None:
            event.listen(self.primary.sync_engine, "commit", self._on_commit)
        self._writer = async_sessionmaker(self.primary, expire_on_commit=False)
        self._primary_reader = async_sessionmaker(
            _reader(self.primary, sqlite=self.is_sqlite), expire_on_commit=False
        )
        readers = [
            async_sessionmaker(_reader(engine, sqlite=self.is_sqlite), expire_on_commit=False)
            for engine in self.replicas or [self.primary]
        ]
        self._reader_cycle: Iterator[async_sessionmaker[AsyncSession]] = itertools.cycle(readers)

    def _replica_set(self, primary_url: URL, urls: list[str], pooled: bool) -> ReplicaSet:
        settings = self.settings
        replicas: list[Replica] = []
        for raw in urls:
            url = async_url(raw)
            holder: list[Replica] = []

            def leave(reason: str, held: list[Replica] = holder) -> None:
                held[0].leave(reason)

            engine = _postgres_engine(
                url,
                settings,
                pooled=pooled,
                extra_connect_args={"async_creator_fn": fall_back_to(primary_url, leave)},
            )
            skip_closed_connections(engine)
            probe = _postgres_engine(url, settings, pooled=pooled, pool_size=1, max_overflow=0)
            skip_closed_connections(probe)
            reader = async_sessionmaker(_reader(engine, sqlite=False), expire_on_commit=False)
            holder.append(Replica(label(url), engine, probe, reader))
            replicas.extend(holder)
        primary_probe = _postgres_engine(
            primary_url, settings, pooled=pooled, pool_size=1, max_overflow=0
        )
        return ReplicaSet(settings, primary_probe, replicas)

    def session(
        self, *, readonly: bool = False, after_lsn: int | None = None, fresh: bool = False
    ) -> AsyncSession:
        """A new session: on the primary, or, when `readonly`, on a read replica in
        rotation (PostgreSQL: one that has replayed `after_lsn` when given; the primary
        when none has, or when `fresh`)."""
        if not readonly:
            factory = self._writer
        elif self.replica_set is None:
            # A SQLite reader sees every commit: `fresh` needs no writer connection there.
            fresh = fresh and not self.is_sqlite
            factory = self._primary_reader if fresh else next(self._reader_cycle)
        else:
            replica = None if fresh else self.replica_set.pick(after_lsn)
            factory = replica.reader if replica is not None else self._primary_reader
        session = factory()
        entity_cache.attach(session, self.entity_cache)
        if readonly and not self.is_sqlite:
            # Autocommit reads: compiled statements may run on any pool connection.
            session.info[RAW_READS] = True
        return session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write session committed on success and rolled back on error (jobs, CLI)."""
        async with self.session() as session:
            async with session.begin():
                yield session
            await entity_cache.settle(session)

    async def ping(self) -> None:
        async with self.primary.connect() as connection:
            await connection.execute(text("SELECT 1"))

    def pool_in_use(self) -> int:
        total = 0
        for engine in [self.primary, *self.replicas]:
            checked_out = getattr(engine.sync_engine.pool, "checkedout", None)
            if callable(checked_out):
                total += int(checked_out())
        return total

    def _on_commit(self, _connection: object) -> None:
        self._committed = True

    def watch_outside_writes(self) -> outside_writes.OutsideWrites | None:
        """This process serves: it watches for other processes' commits rather than
        announcing its own (None when no other process can write the same data)."""
        marker, self.outside_marker = self.outside_marker, None
        if marker is None:
            return None
        return outside_writes.OutsideWrites(marker, self.settings.outside_writes_poll_seconds)

    async def dispose(self) -> None:
        if self._committed and self.outside_marker is not None:
            outside_writes.announce(self.outside_marker)
            self._committed = False
        if self.replica_set is not None:
            await self.replica_set.dispose()
        for engine in [self.primary, *self.replicas]:
            await engine.dispose()


# --- outages --------------------------------------------------------------------------------

# SQLite primary result codes that mean "the file cannot serve now", not "this statement is
# wrong": BUSY and LOCKED (another writer held on past the busy timeout), READONLY, IOERR,
# FULL, CANTOPEN (the file or its directory is gone or refused), PROTOCOL.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 8, 10, 13, 14, 15})
_SQLITE_BUSY = frozenset({5, 6})
# PostgreSQL SQLSTATEs (and classes) of the same kind: connection exceptions (08), the server
# shutting down, crashed or starting (57P01-57P03), out of connections, disk or memory (53),
# an I/O error (58030), and a standby that refuses writes after a failover (25006).
_POSTGRES_UNAVAILABLE_CLASSES = ("08", "53")
_POSTGRES_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "58030", "25006"})
# The server gave up waiting on an operator's bound, as a loaded one does: a statement past
# `statement_timeout` (57014) or a lock wait past `lock_timeout` (55P03). Busy, not a bug.
_POSTGRES_BUSY = frozenset({"57014", "55P03"})
# Modules whose frames show that an OSError came from opening a database connection.
_DRIVER_MODULES = ("sqlalchemy.pool", "asyncpg", "aiosqlite")


def unavailable_reason(exc: BaseException) -> str | None:
    """Why the database cannot answer now, when `exc` is an outage rather than a bug:
    `connection_lost` (a pooled connection the server dropped), `pool_exhausted` (no
    connection free within the pool timeout), `busy` (SQLite: another writer held the
    lock past the busy timeout; PostgreSQL: `statement_timeout` or `lock_timeout` reached)
    or `unavailable` (refused, unreachable, shutting down,
    starting up, out of connections, the file cannot be opened). None otherwise."""
    if isinstance(exc, PoolTimeout):
        return "pool_exhausted"
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return "connection_lost"
        return _driver_reason(exc.orig)
    if isinstance(exc, OSError) and _raised_in(exc, _DRIVER_MODULES):
        return "unavailable"  # connection refused, reset, timed out, unknown host
    return None


def _driver_reason(orig: BaseException | None) -> str | None:
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        primary = code & 0xFF
        if primary in _SQLITE_BUSY:
            return "busy"
        return "unavailable" if primary in _SQLITE_UNAVAILABLE else None
    state = getattr(orig, "sqlstate", None)
    if not isinstance(state, str):
        return None
    if state in _POSTGRES_BUSY:
        return "busy"
    if state in _POSTGRES_UNAVAILABLE or state.startswith(_POSTGRES_UNAVAILABLE_CLASSES):
        return "unavailable"
    return None


def _raised_in(exc: BaseException, modules: tuple[str, ...]) -> bool:
    traceback = exc.__traceback__
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if isinstance(module, str) and module.startswith(modules):
            return True
        traceback = traceback.tb_next
    return False
