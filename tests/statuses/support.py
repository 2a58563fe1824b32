"""Helpers for the statuses tests: rows that other domains' APIs will create later
(blocks, suspensions) and read-backs; the SQL statement counter lives in
tests/support/queries.py (re-exported here for the tests that import it from here)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select, update

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from connecthub.relationships.models import Block
from tests.support.queries import counting_queries

__all__ = ["account_row", "block", "count_rows", "counting_queries", "suspend"]


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
