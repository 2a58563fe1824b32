"""Preview cards, one per URL and shared by every status linking to it (as Mastodon). A
status names its card (`statuses.preview_card_id`), so the card goes with the status row
and its cached rendering is dropped when the card arrives (ADR 0010)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType

URL_LENGTH = 2048


class PreviewCard(Base):
    __tablename__ = "preview_cards"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    # The page's canonical URL after redirects (cards are shared by it).
    url: Mapped[str] = mapped_column(String(URL_LENGTH), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(8), default="link")
    author_name: Mapped[str] = mapped_column(Text, default="")
    author_url: Mapped[str] = mapped_column(Text, default="")
    provider_name: Mapped[str] = mapped_column(Text, default="")
    provider_url: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    embed_url: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(16))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # [{"name", "url"}]: the page's authors.
    authors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The image, processed by the media pipeline and stored under a content key.
    image_key: Mapped[str | None] = mapped_column(String(255))
    image_description: Mapped[str] = mapped_column(Text, default="")
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    blurhash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
