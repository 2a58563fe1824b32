"""Tables of the privacy domain.

Consent records: what a person agreed to, which version of it, when and how. A withdrawal
sets `withdrawn_at`; rows are never rewritten, so the history stays auditable.
Legal documents: each version of the privacy policy and the terms of service (documents.py).
Account deletions: one row per account whose deletion was asked for (see deletion.py).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType


class Consent(Base):
    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # e.g. "terms" (terms of service and privacy policy, agreed at sign-up)
    purpose: Mapped[str] = mapped_column(String(32))
    policy_version: Mapped[str] = mapped_column(String(32))
    # How it was given: "api", "web" or "oidc".
    method: Mapped[str] = mapped_column(String(16))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AccountDeletion(Base):
    """The record that an account's deletion was asked for, by whom, and when it finished.

    It outlives the data it describes (retention: kept as proof that the request was
    honoured); it holds no personal data beyond the account id, whose tombstone row keeps
    only the reserved username.
    """

    __tablename__ = "account_deletions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="CASCADE"), unique=True
    )
    # "self" (the account holder, with password) or "admin" (API or command line).
    requested_by: Mapped[str] = mapped_column(String(16))
    # The admin's account, when an admin asked through the API (no foreign key: the
    # record stays even if that admin is deleted later).
    requested_by_account_id: Mapped[int | None] = mapped_column(IdType)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When a run of the erasure job last started: a deletion neither completed nor
    # progressed for JOBS_SWEEP_GRACE_SECONDS has lost its job, and the sweeper queues it.
    progressed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LegalDocument(Base):
    """One version of the privacy policy or the terms of service, in Markdown.

    A version is named by its effective date (as Mastodon names terms of service), which is
    also what a consent record keeps as `policy_version`. A draft (`published_at` NULL) may
    be edited; a published version is never rewritten, so what someone accepted stays
    readable at /api/v1/instance/terms_of_service/:date.
    """

    __tablename__ = "legal_documents"
    __table_args__ = (UniqueConstraint("kind", "effective_date"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    # "privacy_policy" or "terms_of_service"
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    # What changed, for the people asked to accept it again (shown beside the document).
    changelog: Mapped[str] = mapped_column(Text, default="")
    effective_date: Mapped[date] = mapped_column(Date)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
