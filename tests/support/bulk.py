"""Rows for tests that need a large table.

`session.execute(insert(Model), rows)` is an executemany: on SQLite that is the cheapest
way, but on PostgreSQL the server runs one statement per row (30,000 statuses cost ~38
CPU-s of PostgreSQL in test_query_plans.py). There the rows go in by COPY on the session's
own connection (inside its transaction), the model's Python-side defaults filled in first
(COPY knows only the table's). Multi-row INSERTs were tried: SQLAlchemy then spent as much
CPU compiling 1,000-row statements as the server saved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_rows(session: AsyncSession, model: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """`rows` (dicts with the same keys) into `model`'s table."""
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        await session.execute(insert(model), list(rows))
        return
    table: Table = inspect(model).local_table
    columns = list(rows[0])
    defaults = {
        column.key: column.default
        for column in table.columns
        if column.key not in rows[0] and column.default is not None
    }
    for key, default in defaults.items():
        if not default.is_scalar and not default.is_callable:
            raise ValueError(f"{table.name}.{key}: a default COPY cannot fill in")
    columns += list(defaults)

    def filled(row: Mapping[str, Any]) -> tuple[Any, ...]:
        extra = [d.arg if d.is_scalar else d.arg(None) for d in defaults.values()]
        return (*(row[key] for key in rows[0]), *extra)

    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    await driver.copy_records_to_table(
        table.name, records=[filled(row) for row in rows], columns=columns
    )
