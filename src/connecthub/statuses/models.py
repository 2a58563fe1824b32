"""Tables of statuses. `text` keeps what the author wrote (for edits and redraft);
`content` is the sanitized HTML served to clients."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType
from connecthub.infra.entity_cache import track


class Visibility(IntEnum):
    """Ordered from widest to narrowest audience, so `visibility <= UNLISTED` means
    "anyone may read it"."""

    PUBLIC = 0
    UNLISTED = 1
    PRIVATE = 2
    DIRECT = 3


class HeldReason(StrEnum):
    """Why a status is held for review (docs/status-review.md)."""

    REVIEW = "review"  # STATUS_REVIEW holds its author's statuses for a moderator
    SCORING = "scoring"  # awaiting detection's score (DETECTION_HOLD_THRESHOLD is set)
    DETECTION = "detection"  # scored at or above DETECTION_HOLD_THRESHOLD


class Status(Base):
    __tablename__ = "statuses"
    __table_args__ = (
        Index("ix_statuses_account_id_id", "account_id", "id"),
        Index("ix_statuses_visibility_id", "visibility", "id"),
        Index("ix_statuses_in_reply_to_id", "in_reply_to_id"),
        Index("ix_statuses_reblog_of_id", "reblog_of_id", "account_id"),
        Index("ix_statuses_conversation_id", "conversation_id", "id"),
        # The held statuses awaiting review: few rows, listed newest first (review.md).
        Index(
            "ix_statuses_held",
            "id",
            postgresql_where=text("held_reason IS NOT NULL"),
            sqlite_where=text("held_reason IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    in_reply_to_id: Mapped[int | None] = mapped_column(IdType)
    in_reply_to_account_id: Mapped[int | None] = mapped_column(IdType)
    # A boost is a status row pointing at the boosted one, as in Mastodon.
    reblog_of_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("statuses.id", ondelete="CASCADE")
    )
    # The thread (or direct-message conversation) this status belongs to.
    conversation_id: Mapped[int | None] = mapped_column(IdType)
    text: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text, default="")
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[int] = mapped_column(SmallInteger, default=Visibility.PUBLIC)
    language: Mapped[str | None] = mapped_column(String(16))
    application_id: Mapped[int | None] = mapped_column(IdType)
    has_media: Mapped[bool] = mapped_column(Boolean, default=False)
    # Its first link's preview card (cards/models.py), set by the card job; shared by URL.
    preview_card_id: Mapped[int | None] = mapped_column(IdType)
    replies_count: Mapped[int] = mapped_column(Integer, default=0)
    reblogs_count: Mapped[int] = mapped_column(Integer, default=0)
    favourites_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Held for review (docs/status-review.md): stored but readable by its author alone, and
    # not fanned out, until a moderator approves it (or detection's score releases it).
    # Why: one of `HeldReason`; None for a published status.
    held_reason: Mapped[str | None] = mapped_column(String(16))


class StatusEdit(Base):
    """A past version of a status, for `GET /api/v1/statuses/:id/history`."""

    __tablename__ = "status_edits"
    __table_args__ = (Index("ix_status_edits_status_id", "status_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    status_id: Mapped[int] = mapped_column(IdType, ForeignKey("statuses.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(IdType)
    text: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text, default="")
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    poll_options: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Mention(Base):
    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("status_id", "account_id"),
        Index("ix_mentions_account_id_status_id", "account_id", "status_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    status_id: Mapped[int] = mapped_column(IdType, ForeignKey("statuses.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    silent: Mapped[bool] = mapped_column(Boolean, default=False)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(128))
    name_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StatusTag(Base):
    __tablename__ = "status_tags"
    __table_args__ = (Index("ix_status_tags_tag_id_status_id", "tag_id", "status_id"),)

    status_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True
    )


class FeaturedTag(Base):
    """A hashtag an account features on its profile (Mastodon's FeaturedTag). Its counts
    are read from the account's statuses when shown, not kept here."""

    __tablename__ = "featured_tags"
    __table_args__ = (UniqueConstraint("account_id", "tag_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("tags.id", ondelete="CASCADE"), index=True
    )
    # As the owner typed it (the tag's own name may differ in case).
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TagFollow(Base):
    """An account follows a hashtag: public posts with it come into their home
    (timelines.repository.home_filters; fan-out, timelines/tasks.py)."""

    __tablename__ = "tag_follows"
    __table_args__ = (
        UniqueConstraint("account_id", "tag_id"),
        # Fan-out walks a tag's followers by account id.
        Index("ix_tag_follows_tag_id_account_id", "tag_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(IdType, ForeignKey("tags.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ThreadMute(Base):
    """An account mutes a thread (`Status.conversation_id`): no notification about any of its
    statuses reaches them (Mastodon's conversation mute)."""

    __tablename__ = "thread_mutes"
    __table_args__ = (UniqueConstraint("account_id", "conversation_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(IdType)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Favourite(Base):
    __tablename__ = "favourites"
    __table_args__ = (
        UniqueConstraint("account_id", "status_id"),
        Index("ix_favourites_status_id", "status_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(IdType, ForeignKey("statuses.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Bookmark(Base):
    __tablename__ = "bookmarks"
    __table_args__ = (UniqueConstraint("account_id", "status_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(IdType, ForeignKey("statuses.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StatusPin(Base):
    __tablename__ = "status_pins"
    __table_args__ = (UniqueConstraint("account_id", "status_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(IdType, ForeignKey("statuses.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Poll(Base):
    __tablename__ = "polls"
    __table_args__ = (
        # The sweeper's question (infra/sweeper.py): polls past their end nobody was told of.
        Index(
            "ix_polls_end_unannounced",
            "expires_at",
            postgresql_where=text("ended_notified_at IS NULL"),
            sqlite_where=text("ended_notified_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    status_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("statuses.id", ondelete="CASCADE"), unique=True
    )
    account_id: Mapped[int] = mapped_column(IdType)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    multiple: Mapped[bool] = mapped_column(Boolean, default=False)
    hide_totals: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    votes_count: Mapped[int] = mapped_column(Integer, default=0)
    voters_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When its voters and author were told that it ended (POLL_EXPIRED_JOB): until then the
    # sweeper queues that job again once the poll is past its end.
    ended_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PollVote(Base):
    __tablename__ = "poll_votes"
    __table_args__ = (UniqueConstraint("poll_id", "account_id", "choice"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    poll_id: Mapped[int] = mapped_column(IdType, ForeignKey("polls.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    choice: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# Cached status parts (statuses/serializers.py) are dropped when these rows change.
track("statuses", "status")
