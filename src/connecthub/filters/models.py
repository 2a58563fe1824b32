"""Tables of content filters. Keywords and filtered statuses carry their owner's account
id too: ownership checks need no join, and every change names the account whose cached
rules (`filters.matching`) it invalidates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType
from connecthub.infra.entity_cache import track

# The cached kind holding each account's filter rules, keyed by account id.
RULES_KIND = "filters"


class Filter(Base):
    __tablename__ = "filters"
    __table_args__ = (Index("ix_filters_account_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(256))
    context: Mapped[list[str]] = mapped_column(JSON, default=list)
    filter_action: Mapped[str] = mapped_column(String(8), default="warn")
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FilterKeyword(Base):
    __tablename__ = "filter_keywords"
    __table_args__ = (
        Index("ix_filter_keywords_filter_id", "filter_id", "id"),
        Index("ix_filter_keywords_account_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    filter_id: Mapped[int] = mapped_column(IdType, ForeignKey("filters.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(IdType)
    keyword: Mapped[str] = mapped_column(String(512))
    whole_word: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FilterStatus(Base):
    __tablename__ = "filter_statuses"
    __table_args__ = (
        UniqueConstraint("filter_id", "status_id"),
        Index("ix_filter_statuses_account_id", "account_id"),
        Index("ix_filter_statuses_status_id", "status_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    filter_id: Mapped[int] = mapped_column(IdType, ForeignKey("filters.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(IdType)
    status_id: Mapped[int] = mapped_column(IdType, ForeignKey("statuses.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


for _table in ("filters", "filter_keywords", "filter_statuses"):
    track(_table, RULES_KIND, "account_id")
