"""Tables of the privacy domain.

Consent records: what a person agreed to, which version of it, when and how. A withdrawal
sets `withdrawn_at`; rows are never rewritten, so the history stays auditable.
Account deletions: one row per account whose deletion was asked for (see deletion.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
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
