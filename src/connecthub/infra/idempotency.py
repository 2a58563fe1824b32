"""`Idempotency-Key` support: the first response to a (account, key) pair is stored for an
hour; a retry with the same key gets that response and creates nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, String, UniqueConstraint
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
