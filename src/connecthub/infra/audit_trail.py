"""The audit trail's table and its one writer (ADR 0028).

`audit_log` is append-only: nothing here updates or deletes, and on PostgreSQL a trigger
(migration 0025) refuses UPDATE, DELETE and TRUNCATE. Rows form a hash chain: a row's
`hash` is SHA-256 over the previous row's hash and this row's canonical content, and its
`id` is the previous id plus one, so an edited row, a removed row or a forged one is found
by walking the chain (`verify`). Appends are serialised so two transactions never build on
the same predecessor: a transaction-scoped advisory lock on PostgreSQL, the one writer
(BEGIN IMMEDIATE, infra/db.py) on SQLite. The lock is taken as the last statement before
the commit (the unit of work appends then), so it is held for the commit only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, String, Text, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.infra.db import Base, dialect_of
from connecthub.ops.audit import Entry

GENESIS = "0" * 64
# pg_advisory_xact_lock key of the audit chain ("AUDI" in ASCII).
_LOCK_KEY = 0x41554449
_VERIFY_BATCH = 500


class AuditLogRow(Base):
    __tablename__ = "audit_log"

    # The position in the chain: the previous row's id plus one (a gap is a removed row).
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    event: Mapped[str] = mapped_column(String(64))
    # `account:<id>` or `cli`; the account id again, for filtering.
    actor: Mapped[str] = mapped_column(String(64))
    actor_account_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    target_type: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(255))
    ip: Mapped[str | None] = mapped_column(String(64))
    # Canonical JSON text (what the hash covers, byte for byte), or NULL.
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no spaces; what is not JSON becomes its text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _stamp(moment: datetime) -> str:
    # SQLite hands datetimes back without their zone: they were written in UTC.
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(row: AuditLogRow, prev_hash: str) -> str:
    content = canonical_json(
        {
            "id": row.id,
            "created_at": _stamp(row.created_at),
            "event": row.event,
            "actor": row.actor,
            "actor_account_id": row.actor_account_id,
            "action": row.action,
            "outcome": row.outcome,
            "target_type": row.target_type,
            "target_id": row.target_id,
            "ip": row.ip,
            "before": row.before,
            "after": row.after,
            "details": row.details,
        }
    )
    return hashlib.sha256((prev_hash + content).encode()).hexdigest()


async def _lock_chain(session: AsyncSession) -> None:
    if dialect_of(session) == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


async def append(session: AsyncSession, entries: Sequence[Entry]) -> list[AuditLogRow]:
    """Appends entries to the chain in the session's transaction (call it last before the
    commit: the chain's lock is held until then)."""
    if not entries:
        return []
    await _lock_chain(session)
    last = (
        await session.execute(
            select(AuditLogRow.id, AuditLogRow.hash).order_by(AuditLogRow.id.desc()).limit(1)
        )
    ).first()
    last_id, prev_hash = (last[0], last[1]) if last is not None else (0, GENESIS)
    now = utcnow()
    rows = []
    for entry in entries:
        last_id += 1
        row = AuditLogRow(
            id=last_id,
            created_at=now,
            event=entry.event,
            actor=entry.actor,
            actor_account_id=entry.actor_account_id,
            action=entry.action,
            outcome=entry.outcome.value,
            target_type=entry.target_type,
            target_id=entry.target_id,
            ip=entry.ip,
            before=None if entry.before is None else canonical_json(entry.before),
            after=None if entry.after is None else canonical_json(entry.after),
            details=canonical_json(entry.details),
            prev_hash=prev_hash,
        )
        row.hash = prev_hash = row_hash(row, prev_hash)
        rows.append(row)
    session.add_all(rows)
    await session.flush()
    return rows


@dataclass(frozen=True)
class Verdict:
    """What walking the chain found: how many rows are intact, and the first bad one."""

    intact: int
    bad_id: int | None = None
    reason: str | None = None


async def _rows(session: AsyncSession) -> AsyncIterator[AuditLogRow]:
    after = 0
    while True:
        batch = (
            await session.scalars(
                select(AuditLogRow)
                .where(AuditLogRow.id > after)
                .order_by(AuditLogRow.id)
                .limit(_VERIFY_BATCH)
            )
        ).all()
        for row in batch:
            yield row
        if len(batch) < _VERIFY_BATCH:
            return
        after = batch[-1].id


async def verify(session: AsyncSession) -> Verdict:
    """Walks the whole chain from its first row."""
    expected_id, prev_hash, intact = 1, GENESIS, 0
    async for row in _rows(session):
        if row.id != expected_id:
            return Verdict(intact, row.id, f"rows {expected_id}..{row.id - 1} are missing")
        if row.prev_hash != prev_hash:
            return Verdict(intact, row.id, "its link to the previous row does not match")
        if row_hash(row, prev_hash) != row.hash:
            return Verdict(intact, row.id, "its content does not match its hash (edited)")
        expected_id, prev_hash, intact = row.id + 1, row.hash, intact + 1
    return Verdict(intact)
