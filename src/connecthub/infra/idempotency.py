"""`Idempotency-Key` support: the first response to a (account, key) pair is stored for an
hour; a retry with the same key gets that response and creates nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import JSON, DateTime, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType

IDEMPOTENCY_WINDOW_SECONDS = 3600


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("account_id", "scope", "key_hash"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType)
    scope: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _live(record: IdempotencyRecord, now: datetime) -> bool:
    created = record.created_at
    if created.tzinfo is None:  # SQLite gives naive datetimes; stored times are UTC
        created = created.replace(tzinfo=UTC)
    return created > now - timedelta(seconds=IDEMPOTENCY_WINDOW_SECONDS)


async def _find(
    session: AsyncSession, account_id: int, scope: str, key_hash: str
) -> IdempotencyRecord | None:
    query = select(IdempotencyRecord).where(
        IdempotencyRecord.account_id == account_id,
        IdempotencyRecord.scope == scope,
        IdempotencyRecord.key_hash == key_hash,
    )
    return (await session.execute(query)).scalar_one_or_none()


@dataclass(frozen=True)
class Claim:
    """Either the first result stored under the key (`previous`), or a fresh record this
    request owns and fills with `remember` before its transaction commits."""

    previous: dict[str, object] | None
    record: IdempotencyRecord | None


async def claim(session: AsyncSession, account_id: int, scope: str, key: str) -> Claim:
    """Take the (account, scope, key) slot inside the caller's transaction.

    The unique constraint settles concurrent duplicates: the second insert waits for the
    first transaction and then fails, and the retry reads the committed result."""
    key_hash = _key_hash(key)
    now = utcnow()
    existing = await _find(session, account_id, scope, key_hash)
    if existing is not None:
        if _live(existing, now) and existing.result:
            return Claim(previous=dict(existing.result), record=None)
        await session.delete(existing)
        await session.flush()
    record = IdempotencyRecord(
        account_id=account_id, scope=scope, key_hash=key_hash, result={}, created_at=now
    )
    try:
        async with session.begin_nested():
            session.add(record)
    except IntegrityError:
        winner = await _find(session, account_id, scope, key_hash)
        if winner is not None and winner.result:
            return Claim(previous=dict(winner.result), record=None)
        raise
    return Claim(previous=None, record=record)


async def remember(
    session: AsyncSession, record: IdempotencyRecord, result: dict[str, object]
) -> None:
    record.result = result
    await session.flush()
