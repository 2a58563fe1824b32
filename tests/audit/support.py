"""Reading and tampering with the audit log's rows, as a test (or an attacker with the
database's superuser) would."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import select, text

from connecthub.infra.audit_trail import AuditLogRow
from tests.engines import postgres_server_url


async def audit_rows(app: FastAPI) -> list[AuditLogRow]:
    async with app.state.engines.db.session() as session:
        return list((await session.scalars(select(AuditLogRow).order_by(AuditLogRow.id))).all())


async def tamper(app: FastAPI, statement: str, **params: Any) -> None:
    """Runs `statement` on audit_log as the superuser, its append-only trigger disabled
    for the moment on PostgreSQL (SQLite has no trigger: the chain is the guard)."""
    postgres = postgres_server_url() is not None
    async with app.state.engines.db.transaction() as session:
        if postgres:
            await session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        await session.execute(text(statement), params)
        if postgres:
            await session.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
