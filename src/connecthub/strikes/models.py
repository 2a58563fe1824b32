"""A strike is written by every moderation action on an account (Mastodon's
`account_warnings`); an appeal is the account holder's one request to overturn it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType


class AccountWarning(Base):
    __tablename__ = "account_warnings"
    __table_args__ = (Index("ix_account_warnings_target_account_id_id", "target_account_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    # The moderator who acted (NULL once their account is gone).
    account_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    target_account_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="CASCADE")
    )
    action: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    status_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The report this action resolved: reports/ owns that table, so no foreign key.
    report_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    overruled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Appeal(Base):
    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    account_warning_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("account_warnings.id", ondelete="CASCADE"), unique=True
    )
    text: Mapped[str] = mapped_column(Text, default="")
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by_account_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejected_by_account_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def state(self) -> str:
        if self.approved_at is not None:
            return "approved"
        if self.rejected_at is not None:
            return "rejected"
        return "pending"
