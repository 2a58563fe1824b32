"""Hot read statements compiled once and run on the driver's own connection (PostgreSQL).

SQLAlchemy spends more CPU on each execution of a large statement (its cache key walks the
whole statement tree, then the ORM execution and result layers) than asyncpg spends running
it. A `CompiledRead` renders its statement to SQL once per dialect and hands the SQL and the
values to asyncpg on the session's connection, whose own prepared-statement cache does the
rest; rows come back as asyncpg records (indexable, in the statement's column order). On any
other driver (SQLite) it goes through `session.execute` as before, and so does a statement
the driver refused (SQLAlchemy then raises and maps the error as for any other read). The
statement runs in the session's connection and transaction, and the `before_cursor_execute`
hook still sees it (statement counts and query-plan tests)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable


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
