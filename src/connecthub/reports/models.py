"""A report, the evidence it keeps (each reported status as it was when reported) and the
moderators' notes on it.

`account_id` is the reporter; NULL for a report the system filed (`system` true: the
offensive-language classifier, ADR 0035). `status_ids` and `rule_ids` are what the
reporter named, as Mastodon keeps them; the evidence rows outlive the statuses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        # The queue: unresolved first by id, and the filters by reporter and target.
        Index("ix_reports_action_taken_at_id", "action_taken_at", "id"),
        Index("ix_reports_account_id_id", "account_id", "id"),
        Index("ix_reports_target_account_id_id", "target_account_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="CASCADE")
    )
    system: Mapped[bool] = mapped_column(Boolean, default=False)
    target_account_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="CASCADE")
    )
    category: Mapped[str] = mapped_column(String(16), default="other")
    comment: Mapped[str] = mapped_column(Text, default="")
    forwarded: Mapped[bool] = mapped_column(Boolean, default=False)
    status_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    rule_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    assigned_account_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    action_taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    action_taken_by_account_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReportedStatus(Base):
    """One reported status as it was when reported: the Status entity every reader saw
    (no viewer's flags), and the parts moderators search and the media hold needs."""

    __tablename__ = "reported_statuses"
    __table_args__ = (Index("ix_reported_statuses_report_id", "report_id", "position"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    report_id: Mapped[int] = mapped_column(IdType, ForeignKey("reports.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger, default=0)
    # No foreign key: the evidence stays when the status goes.
    status_id: Mapped[int] = mapped_column(IdType)
    text: Mapped[str] = mapped_column(Text, default="")
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[int] = mapped_column(SmallInteger)
    status_created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # [{"id", "description", "keys": [...]}] for each attachment.
    media: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    entity: Mapped[dict[str, Any]] = mapped_column(JSON)


class ReportNote(Base):
    """A moderator's note on a report (ConnectHub extension, docs/reports.md)."""

    __tablename__ = "report_notes"
    __table_args__ = (Index("ix_report_notes_report_id_id", "report_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    report_id: Mapped[int] = mapped_column(IdType, ForeignKey("reports.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
