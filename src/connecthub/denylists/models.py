"""Tables of the denylists domain (migration 0025)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType


class IpBlock(Base):
    __tablename__ = "ip_blocks"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    # The network in CIDR form, normalised ("10.0.0.0/8", "2001:db8::/32", "192.0.2.1/32").
    ip: Mapped[str] = mapped_column(String(64), unique=True)
    # sign_up_requires_approval, sign_up_block or no_access (Mastodon's severities).
    severity: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EmailDomainBlock(Base):
    __tablename__ = "email_domain_blocks"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    # Lowercased, IDNA (punycode) form; its subdomains are blocked too.
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CanonicalEmailBlock(Base):
    __tablename__ = "canonical_email_blocks"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    # SHA-256 (hex) of the canonical address (rules.canonical_email): the address itself
    # is not kept.
    canonical_email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
