"""A conversation is a thread of direct statuses; each participant has their own view of
it (unread flag, last status, whether they removed it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AccountConversation(Base):
    __tablename__ = "account_conversations"
    __table_args__ = (
        UniqueConstraint("account_id", "conversation_id"),
        Index("ix_account_conversations_account_last", "account_id", "last_status_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    participant_account_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    last_status_id: Mapped[int] = mapped_column(IdType)
    unread: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
