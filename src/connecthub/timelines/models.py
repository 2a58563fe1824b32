"""Lists and read markers. Home feeds live in Redis (distributed) or are one indexed query
over follows and statuses (embedded); they need no table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType
from connecthub.infra.entity_cache import track


class List(Base):
    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(255))
    replies_policy: Mapped[str] = mapped_column(String(16), default="list")
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ListAccount(Base):
    __tablename__ = "list_accounts"
    __table_args__ = (UniqueConstraint("list_id", "account_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    list_id: Mapped[int] = mapped_column(IdType, ForeignKey("lists.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )


class Marker(Base):
    __tablename__ = "markers"
    __table_args__ = (UniqueConstraint("account_id", "timeline"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    timeline: Mapped[str] = mapped_column(String(32))
    last_read_id: Mapped[int] = mapped_column(IdType)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@dataclass(frozen=True, slots=True)
class MarkerView:
    """A marker as a read sees it (no ORM object): what `GET /api/v1/markers` shows."""

    timeline: str
    last_read_id: int
    version: int
    updated_at: datetime


# The entity-cache kind of the home pages each process keeps (timelines/home_pages.py),
# keyed by the viewer: what follows are the rows that decide what their home shows or the
# flags on it, by the column naming the viewer. `statuses`: the viewer's own boosts (the
# `reblogged` flag) and deletions; its UPDATEs (counters) change neither, and the viewer's
# new posts only add to their home, which the fan-out tells of (their kept pages marked
# stale, as their followers').
HOME_KIND = "home"
for _table, _column in (
    ("follows", "account_id"),
    ("blocks", "account_id"),
    ("blocks", "target_account_id"),
    ("mutes", "account_id"),
    ("favourites", "account_id"),
    ("bookmarks", "account_id"),
    ("status_pins", "account_id"),
    ("thread_mutes", "account_id"),
    ("tag_follows", "account_id"),
    ("lists", "account_id"),
):
    track(_table, HOME_KIND, _column, rendering=False)
track(
    "statuses", HOME_KIND, "account_id", updates=False, rendering=False, inserts_with="reblog_of_id"
)
