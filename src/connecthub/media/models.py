"""The media attachment table. Stored objects are named by their content (see `keys`); a
row lists the keys of its variants so deleting the row can delete exactly those objects."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
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


class MediaKind(IntEnum):
    IMAGE = 0
    GIFV = 1
    VIDEO = 2
    AUDIO = 3


class MediaState(IntEnum):
    PROCESSING = 0
    READY = 1
    FAILED = 2


class MediaAttachment(Base):
    __tablename__ = "media_attachments"
    __table_args__ = (
        Index("ix_media_attachments_account_id_id", "account_id", "id"),
        Index("ix_media_attachments_status_id", "status_id", "position"),
        # The sweep of unattached uploads scans by age.
        Index("ix_media_attachments_unattached", "status_id", "created_at"),
        Index("ix_media_attachments_file_key", "file_key"),
        Index("ix_media_attachments_scheduled_status_id", "scheduled_status_id"),
        # The sweeper's question (infra/sweeper.py): uploads still processing, oldest first.
        Index(
            "ix_media_attachments_processing",
            "updated_at",
            postgresql_where=text(f"state = {int(MediaState.PROCESSING)}"),
            sqlite_where=text(f"state = {int(MediaState.PROCESSING)}"),
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    # NULL until attached; a status deleted outside the media service leaves its media
    # unattached, and the sweep removes them.
    status_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("statuses.id", ondelete="SET NULL")
    )
    # Held by a scheduled status until it is published (then `status_id` takes over) or
    # cancelled (NULL again: unattached, it expires).
    scheduled_status_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("scheduled_statuses.id", ondelete="SET NULL")
    )
    position: Mapped[int] = mapped_column(SmallInteger, default=0)
    kind: Mapped[int] = mapped_column(SmallInteger)
    state: Mapped[int] = mapped_column(SmallInteger, default=MediaState.PROCESSING)
    content_type: Mapped[str] = mapped_column(String(64))
    file_key: Mapped[str] = mapped_column(String(255))
    small_key: Mapped[str | None] = mapped_column(String(255))
    webp_key: Mapped[str | None] = mapped_column(String(255))
    # A preview image the client sent (`thumbnail`), used instead of a generated one.
    thumbnail_key: Mapped[str | None] = mapped_column(String(255))
    # Bytes of every stored variant, counted against the account's quota.
    stored_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    description: Mapped[str] = mapped_column(Text, default="")
    focus_x: Mapped[float] = mapped_column(Float, default=0.0)
    focus_y: Mapped[float] = mapped_column(Float, default=0.0)
    blurhash: Mapped[str | None] = mapped_column(String(64))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def stored_keys(self) -> list[str]:
        return [
            key for key in (self.file_key, self.small_key, self.webp_key, self.thumbnail_key) if key
        ]


class MediaPurge(Base):
    """A stored object no row may name any more, to be deleted from the store. Written in
    the transaction that drops the last reference, deleted by the purge once the object is
    gone (or named again): a purge job that was lost leaves its rows behind, and the
    sweeper queues it again from them."""

    __tablename__ = "media_purges"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# A status's cached attachments (statuses/serializers.py) go when one of them changes.
track("media_attachments", "status", "status_id")


class MediaHold(Base):
    """A stored object another domain keeps as evidence (a report's reported media): the
    purge leaves a held key in the store whatever rows name it. `holder` names who holds it
    (`report:<id>`); releasing a holder's keys queues their purge (media/service.py)."""

    __tablename__ = "media_holds"
    __table_args__ = (UniqueConstraint("holder", "key"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(255), index=True)
    holder: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
