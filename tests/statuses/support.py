"""Helpers for the statuses tests: rows that other domains' APIs will create later
(blocks, suspensions), read-backs, and a SQL statement counter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event, func, select, update

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from connecthub.relationships.models import Block


async def block(app: FastAPI, account_id: int, target_id: int) -> None:
    async with app.state.engines.db.transaction() as session:
        session.add(Block(account_id=account_id, target_account_id=target_id))


async def suspend(app: FastAPI, account_id: int) -> None:
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            update(Account).where(Account.id == account_id).values(suspended_at=utcnow())
        )


async def count_rows(app: FastAPI, model: Any, *where: Any) -> int:
    async with app.state.engines.db.session() as session:
        query = select(func.count()).select_from(model).where(*where)
        return int((await session.execute(query)).scalar_one())


async def account_row(app: FastAPI, account_id: int) -> Account:
    async with app.state.engines.db.session() as session:
        account = await session.get(Account, account_id)
        assert account is not None
        return account


@contextmanager
def counting_queries(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement the app's engines run inside the block."""
    statements: list[str] = []
    db = app.state.engines.db
    engines = [db.primary.sync_engine, *(e.sync_engine for e in db.replicas)]

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
