"""Push subscriptions (one per access token) and the instance's VAPID key pair."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType


class WebPushSubscription(Base):
    __tablename__ = "web_push_subscriptions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # One subscription per access token: subscribing again replaces it.
    token_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("oauth_tokens.id", ondelete="CASCADE"), unique=True
    )
    endpoint: Mapped[str] = mapped_column(String(2048))
    # The subscriber's keys, base64url without padding (RFC 8291).
    key_p256dh: Mapped[str] = mapped_column(String(128))
    key_auth: Mapped[str] = mapped_column(String(64))
    # True: RFC 8291 (aes128gcm, VAPID RFC 8292). False: the draft (aesgcm) Mastodon sent
    # before 4.4, which apps that do not say `standard` still decrypt.
    standard: Mapped[bool] = mapped_column(Boolean, default=False)
    alerts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    policy: Mapped[str] = mapped_column(String(16), default="all")
    # The access token itself, which the payload carries (apps find the account by it),
    # sealed with a key derived from SECRET_KEY: tokens are otherwise kept only as hashes.
    sealed_token: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VapidKeyPair(Base):
    """The instance's VAPID keys when the settings name none: one row, made on first use."""

    __tablename__ = "web_push_vapid_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    private_key: Mapped[str] = mapped_column(String(64))  # raw scalar, base64url
    public_key: Mapped[str] = mapped_column(String(128))  # uncompressed point, base64url
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
