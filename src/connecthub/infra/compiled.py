"""Hot read statements compiled once and run on the driver's own connection (PostgreSQL).

SQLAlchemy spends more CPU on each execution of a large statement (its cache key walks the
whole statement tree, then the ORM execution and result layers) than asyncpg spends running
it. A `CompiledRead` renders its statement to SQL once per dialect and hands the SQL and the
values to asyncpg, whose own prepared-statement cache does the rest; rows come back as
asyncpg records (indexable, in the statement's column order). On any other driver (SQLite)
it goes through `session.execute` as before, and so does a statement the driver refused
(SQLAlchemy then raises and maps the error as for any other read). The
`before_cursor_execute` hook still sees every statement (statement counts and query-plan
tests).

Where it runs: in the session's connection and transaction when the session has one (a
write, or a read that has already run an ORM query). A read-only session on PostgreSQL that
has not (`RAW_READS`, set by `Database.session`: such sessions run in autocommit, each
statement its own snapshot) runs it on a pool connection of its own, checked out for the
statement and handed back at once, without a SQLAlchemy `Connection`, transaction or
result: the session's first statement cost ~250 µs of CPU besides the query itself
(~50 µs), and the connection is not held while the request waits on anything else
(docs/benchmarks.md, "Eighth round")."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable
from sqlalchemy.util import greenlet_spawn

# `session.info` key: the session reads in autocommit, so a statement may run on any
# connection of its engine's pool when the session holds none yet.
RAW_READS = "connecthub.raw_reads"


@dataclass(frozen=True, slots=True)
class _Rendered:
    sql: str
    names: tuple[str, ...]  # the bound parameters, in positional order
    fixed: dict[str, Any]  # values the statement binds itself (constants)
    processors: Mapping[str, Callable[[Any], Any]]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values = []
        for name in self.names:
            value = params[name] if name in params else self.fixed[name]
            processor = self.processors.get(name)
            values.append(
                processor(value) if processor is not None and value is not None else value
            )
        return values


class CompiledRead:
    """One read statement, rendered once per dialect; `rows` runs it."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._rendered: dict[str, _Rendered] = {}

    def _render(self, dialect: Dialect) -> _Rendered:
        rendered = self._rendered.get(dialect.name)
        if rendered is None:
            compiled = cast(ClauseElement, self.statement).compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            names = tuple(compiled.positiontup or ())
            fixed = dict(compiled.construct_params(_check=False))
            processors = {
                name: processor
                for name, processor in compiled._bind_processors.items()
                if name in names and callable(processor)
            }
            rendered = _Rendered(compiled.string, names, fixed, processors)
            self._rendered[dialect.name] = rendered
        return rendered

    async def rows(self, session: AsyncSession, params: Mapping[str, Any]) -> Sequence[Any]:
        if session.info.get(RAW_READS) and not session.in_transaction():
            bind = session.bind
            if isinstance(bind, AsyncEngine) and bind.dialect.driver == "asyncpg":
                return await self._on_pool_connection(bind, session, params)
        connection = await session.connection()
        dialect = connection.dialect
        if dialect.driver != "asyncpg":
            return (await session.execute(self.statement, params)).all()
        rendered = self._render(dialect)
        arguments = rendered.arguments(params)
        sync = connection.sync_connection
        assert sync is not None
        sync.dispatch.before_cursor_execute(sync, None, rendered.sql, tuple(arguments), None, False)
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        try:
            records: Sequence[Any] = await driver.fetch(rendered.sql, *arguments)
        except Exception:
            # A driver error bypassed SQLAlchemy, which maps errors (an outage is a 503 with
            # Retry-After, infra/db.unavailable_reason) and drops a dead connection from the
            # pool: run the statement once its way, so whatever fails fails as it would.
            return (await session.execute(self.statement, params)).all()
        return records

    async def _on_pool_connection(
        self, engine: AsyncEngine, session: AsyncSession, params: Mapping[str, Any]
    ) -> Sequence[Any]:
        rendered = self._render(engine.dialect)
        arguments = rendered.arguments(params)
        sync_engine = engine.sync_engine
        hook = sync_engine.dispatch.before_cursor_execute
        if hook:  # its listeners get no Connection here (statement counts need none)
            hook(None, None, rendered.sql, tuple(arguments), None, False)
        # Checked out and handed back in greenlets: the pool may close or reset the driver
        # connection, which SQLAlchemy's asyncpg adapter does through its greenlet bridge.
        pooled = await greenlet_spawn(sync_engine.raw_connection)
        driver: Any = pooled.driver_connection
        try:
            records: Sequence[Any] = await driver.fetch(rendered.sql, *arguments)
        except Exception:
            if driver.is_closed():
                await greenlet_spawn(pooled.invalidate)
            else:
                await greenlet_spawn(pooled.close)
            # As above: the statement again through the session, so an outage or a refused
            # statement is raised and mapped as for any other read.
            return (await session.execute(self.statement, params)).all()
        await greenlet_spawn(pooled.close)
        return records
