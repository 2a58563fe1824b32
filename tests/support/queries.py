"""Counting the SQL statements a request runs: the one counter behind the read-side
"same cost at limit 5 and 40" checks and the write-side exact budgets.

Only statements run by the code inside the block (the test's task and the tasks it starts,
such as the ASGI app handling a request) are counted: background jobs the app runs in the
same process (fan-out after a post) have their own context, so a job racing the request
never changes a count."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

# The list of the innermost counting block of this context (tasks copy it when created,
# SQLAlchemy's greenlets share their task's).
_recording: ContextVar[list[str] | None] = ContextVar("_recording", default=None)


@contextmanager
def counting_queries(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement the app's engines run for the code inside the block."""
    statements: list[str] = []
    db = app.state.engines.db
    engines = [db.primary.sync_engine, *(e.sync_engine for e in db.replicas)]

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if _recording.get() is statements:
            statements.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    token = _recording.set(statements)
    try:
        yield statements
    finally:
        _recording.reset(token)
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def engine_name(app: FastAPI) -> str:
    """`sqlite` or `postgresql`: exact budgets may differ by engine (BEGIN, RETURNING)."""
    return str(app.state.engines.db.primary.dialect.name)


@contextmanager
def assert_query_count(app: FastAPI, expected: int) -> Iterator[list[str]]:
    """Exactly `expected` statements inside the block; the failure lists them."""
    with counting_queries(app) as statements:
        yield statements
    listing = "\n".join(f"{n:3}: {' '.join(s.split())[:160]}" for n, s in enumerate(statements))
    assert len(statements) == expected, f"{len(statements)} statements, not {expected}:\n{listing}"
