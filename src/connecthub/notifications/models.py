"""One row per notification. The unique key makes creating one idempotent, so a job that
runs twice never notifies twice. `group_key` is set when the notification is made, for the
types that group (notifications/grouping.py), and NULL for the others. `filtered` marks a
notification the recipient's notification policy held back (notifications/policy.py): it
is kept, but out of the lists, counts, streams and pushes until its request is accepted.

The policy (one row per account, Mastodon's defaults when there is none), the requests
(one per recipient and sender of filtered mentions) and the permissions (senders whose
request was accepted: never filtered again) are Mastodon 4.3's tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, UniqueConstraint, false
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
    filtered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class NotificationPolicy(Base):
    """What happens to notifications from each kind of sender: accept, filter or drop."""

    __tablename__ = "notification_policies"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="CASCADE"), unique=True
    )
    for_not_following: Mapped[str] = mapped_column(String(8))
    for_not_followers: Mapped[str] = mapped_column(String(8))
    for_new_accounts: Mapped[str] = mapped_column(String(8))
    for_private_mentions: Mapped[str] = mapped_column(String(8))
    for_limited_accounts: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NotificationRequest(Base):
    """The filtered mentions one sender made to one recipient, waiting to be accepted or
    dismissed; its count is read from the notifications themselves, never stored."""

    __tablename__ = "notification_requests"
    __table_args__ = (UniqueConstraint("account_id", "from_account_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    from_account_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="CASCADE")
    )
    last_status_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("statuses.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NotificationPermission(Base):
    """A sender whose request the recipient accepted: their notifications pass the policy."""

    __tablename__ = "notification_permissions"
    __table_args__ = (UniqueConstraint("account_id", "from_account_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    from_account_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
