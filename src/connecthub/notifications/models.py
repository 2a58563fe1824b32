"""One row per notification. The unique key makes creating one idempotent, so a job that
runs twice never notifies twice. `group_key` is set when the notification is made, for the
types that group (notifications/grouping.py), and NULL for the others."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_account_id_id", "account_id", "id"),
        UniqueConstraint("account_id", "type", "from_account_id", "activity_id"),
        # A group's notifications (grouped pages, one group, its accounts, dismissing it).
        Index("ix_notifications_account_id_group_key", "account_id", "group_key"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    from_account_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(32))
    # What caused it: a status id, a follow (request) id, a poll id — 0 when nothing.
    activity_id: Mapped[int] = mapped_column(IdType, default=0)
    status_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("statuses.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    group_key: Mapped[str | None] = mapped_column(String(64), default=None)
