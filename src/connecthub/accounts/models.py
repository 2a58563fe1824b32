"""Tables of the accounts domain. An `Account` is the public profile; a `User` is the local
login behind it (e-mail, password, role). OAuth apps, grants and tokens live here too."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType
from connecthub.infra.entity_cache import track


class Role(StrEnum):
    USER = "user"
    MODERATOR = "moderator"
    ADMIN = "admin"


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(30))
    # Lower-cased copy: uniqueness and look-ups are case-insensitive on both engines.
    username_key: Mapped[str] = mapped_column(String(30), unique=True)
    display_name: Mapped[str] = mapped_column(String(30), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    bot: Mapped[bool] = mapped_column(Boolean, default=False)
    discoverable: Mapped[bool] = mapped_column(Boolean, default=True)
    # Mastodon's `hide_collections`: others get empty followers/following lists.
    hide_collections: Mapped[bool] = mapped_column(Boolean, default=False)
    # Opted in to full-text search of their public posts by anyone (Mastodon's `indexable`,
    # off for new accounts as there); their own and interacted-with posts are found anyway.
    indexable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    avatar_key: Mapped[str | None] = mapped_column(String(255), default=None)
    header_key: Mapped[str | None] = mapped_column(String(255), default=None)
    followers_count: Mapped[int] = mapped_column(Integer, default=0)
    following_count: Mapped[int] = mapped_column(Integer, default=0)
    statuses_count: Mapped[int] = mapped_column(Integer, default=0)
    last_status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Moderators' marks (admin/, accounts/suspension.py): "limited" (Mastodon's silence)
    # and every status shown sensitive.
    silenced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sensitized_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), unique=True
    )
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.USER.value)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    sign_up_reason: Mapped[str] = mapped_column(Text, default="")
    # Only that the age gate was passed is kept; the date of birth itself is not stored.
    age_verified_on: Mapped[date | None] = mapped_column(Date)
    # Fernet-encrypted (key derived from SECRET_KEY), never the plain base32 secret.
    otp_secret: Mapped[str | None] = mapped_column(String(255))
    otp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    otp_recovery_hashes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The last TOTP time step accepted: a code is never accepted twice.
    otp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Posting defaults, shown as CredentialAccount.source.
    default_privacy: Mapped[str] = mapped_column(String(16), default="public")
    default_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    default_language: Mapped[str | None] = mapped_column(String(16), default=None)
    # Who may send this user direct messages: "everyone", "followers" (accounts that
    # follow this user) or "nobody"; statuses/service enforces it (docs/privacy.md).
    direct_messages_from: Mapped[str] = mapped_column(String(16), default="everyone")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebSession(Base):
    """A browser's sign-in: the cookie holds a random secret, this row only its hash."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(128), unique=True)
    user_agent: Mapped[str | None] = mapped_column(String(512))
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OAuthApplication(Base):
    __tablename__ = "oauth_applications"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    website: Mapped[str | None] = mapped_column(String(2000))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    scopes: Mapped[str] = mapped_column(String(2000), default="read")
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(String(128))
    # Kept so `GET /api/v1/apps/verify_credentials` can show it, as Mastodon does.
    vapid_key: Mapped[str | None] = mapped_column(String(255))
    owner_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OAuthGrant(Base):
    """An authorization code: single use, short-lived, bound to redirect URI and PKCE."""

    __tablename__ = "oauth_grants"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    code_hash: Mapped[str] = mapped_column(String(128), unique=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_applications.id", ondelete="CASCADE")
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    scopes: Mapped[str] = mapped_column(String(2000))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OAuthToken(Base):
    """An access token (and its refresh token, when issued with one). Only hashes are kept.

    `family_id` ties together every token produced by rotating one refresh token, so a
    reused (stolen) refresh token can revoke the whole family.
    """

    __tablename__ = "oauth_tokens"
    __table_args__ = (Index("ix_oauth_tokens_account_active", "account_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    family_id: Mapped[int] = mapped_column(IdType, index=True)
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("oauth_applications.id", ondelete="CASCADE")
    )
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    scopes: Mapped[str] = mapped_column(String(2000))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# Cached account entities (statuses/serializers.py) are dropped when these rows change.
track("accounts", "account")
track("users", "account", "account_id")  # the role badge
# The caller's own account (verify_credentials): the account row and its user's settings.
track("accounts", "credential_account")
track("users", "credential_account", "account_id")
# An account anyone may see, as GET /api/v1/accounts/:id answers it (accounts/service.py).
track("accounts", "profile")
track("users", "profile", "account_id")
