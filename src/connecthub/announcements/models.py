"""Announcements, who dismissed which, and their reactions (one row per account and name)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType


class Announcement(Base):
    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    text: Mapped[str] = mapped_column(Text)
    # When the announced event runs (shown to readers), not when the notice is visible.
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    # None: a draft, shown to nobody.
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AnnouncementDismissal(Base):
    __tablename__ = "announcement_dismissals"
    __table_args__ = (
        UniqueConstraint("account_id", "announcement_id"),
        Index("ix_announcement_dismissals_announcement_id", "announcement_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    announcement_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("announcements.id", ondelete="CASCADE")
    )
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AnnouncementReaction(Base):
    __tablename__ = "announcement_reactions"
    __table_args__ = (
        UniqueConstraint("announcement_id", "account_id", "name"),
        Index("ix_announcement_reactions_account_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    announcement_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("announcements.id", ondelete="CASCADE")
    )
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    # A unicode emoji or a custom emoji's shortcode.
    name: Mapped[str] = mapped_column(String(64))
    custom_emoji_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("custom_emojis.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
