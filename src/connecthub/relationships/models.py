"""Tables of the follow graph. Each edge is one row, unique per (account, target); so are
the private notes one account keeps about another and its endorsements (Mastodon's
account pins), which the Relationship entity shows to their owner."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType


def _account_fk() -> ForeignKey:
    return ForeignKey("accounts.id", ondelete="CASCADE")


class Follow(Base):
    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("account_id", "target_account_id"),
        # Followers of an account (fan-out, followers lists) read by target.
        Index("ix_follows_target_account", "target_account_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, _account_fk())
    target_account_id: Mapped[int] = mapped_column(IdType, _account_fk())
    show_reblogs: Mapped[bool] = mapped_column(Boolean, default=True)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    # ISO 639-1 codes whose posts reach the follower's home; None: all (migration 0008).
    languages: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FollowRequest(Base):
    __tablename__ = "follow_requests"
    __table_args__ = (
        UniqueConstraint("account_id", "target_account_id"),
        Index("ix_follow_requests_target_account", "target_account_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, _account_fk())
    target_account_id: Mapped[int] = mapped_column(IdType, _account_fk())
    show_reblogs: Mapped[bool] = mapped_column(Boolean, default=True)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    # ISO 639-1 codes whose posts reach the follower's home; None: all (migration 0008).
    languages: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AccountDomainBlock(Base):
    """A server an account hides everything from (Mastodon's per-user domain block). This
    server does not federate, so no account lives on a blocked domain yet: the list is kept
    and shown, as clients expect, and takes effect on accounts of that domain."""

    __tablename__ = "account_domain_blocks"
    __table_args__ = (UniqueConstraint("account_id", "domain"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, _account_fk())
    domain: Mapped[str] = mapped_column(String(253))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Block(Base):
    __tablename__ = "blocks"
    __table_args__ = (
        UniqueConstraint("account_id", "target_account_id"),
        Index("ix_blocks_target_account", "target_account_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, _account_fk())
    target_account_id: Mapped[int] = mapped_column(IdType, _account_fk())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Mute(Base):
    __tablename__ = "mutes"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, _account_fk())
    target_account_id: Mapped[int] = mapped_column(IdType, _account_fk())
    hide_notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AccountNote(Base):
    """A private note about another account (Relationship.note): only its writer sees it."""

    __tablename__ = "account_notes"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, _account_fk())
    target_account_id: Mapped[int] = mapped_column(IdType, _account_fk(), index=True)
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class AccountPin(Base):
    """An endorsement: an account the owner follows, featured on the owner's profile
    (Relationship.endorsed, /api/v1/endorsements)."""

    __tablename__ = "account_pins"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, _account_fk())
    target_account_id: Mapped[int] = mapped_column(IdType, _account_fk(), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
