"""The scheduled statuses table. A row is a status not posted yet: its parameters as
Mastodon keeps them (`params`, JSON) and when it is due. Its media are held by
`media_attachments.scheduled_status_id` (neither attachable elsewhere nor swept)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType


class ScheduledStatus(Base):
    __tablename__ = "scheduled_statuses"
    __table_args__ = (
        # The owner's list (newest first) and the limits' counts.
        Index("ix_scheduled_statuses_account_id_id", "account_id", "id"),
        # The sweeper's question: rows past due whose job was lost.
        Index("ix_scheduled_statuses_scheduled_at", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    scheduled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
