"""The custom emoji table: one image (and its static PNG) per shortcode."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType


class CustomEmoji(Base):
    __tablename__ = "custom_emojis"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    # Unique as typed; lookups from text are exact, as Mastodon's (`:Blob:` is not `:blob:`).
    shortcode: Mapped[str] = mapped_column(String(64), unique=True)
    image_key: Mapped[str] = mapped_column(String(255))
    static_key: Mapped[str] = mapped_column(String(255))
    visible_in_picker: Mapped[bool] = mapped_column(Boolean, default=True)
    category: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
