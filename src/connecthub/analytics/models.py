"""Tables of the analytics domain.

`analytics_keys`: one secret per rotation period; an event's subject is the keyed hash of
the account id under its period's key. A key is deleted with the last event it signed, and
from then on nobody (the operator included) can tell whose those counts were.
`analytics_events`: one row per recorded action of a consenting account, kept a short
window (ANALYTICS_EVENT_DAYS); the only link to the account is the keyed hash.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType


class AnalyticsKey(Base):
    __tablename__ = "analytics_keys"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    # The first day of the rotation period the key signs (unique: one key a period).
    period_start: Mapped[date] = mapped_column(Date, unique=True)
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AnalyticsEvent(Base):
    __tablename__ = "analytics_events"
    __table_args__ = (Index("ix_analytics_events_day_kind", "day", "kind"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    key_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("analytics_keys.id", ondelete="CASCADE"), index=True
    )
    # HMAC-SHA256 of the account id under the key (hex): the same person within one
    # period, nobody once the key is gone.
    subject: Mapped[str] = mapped_column(String(64), index=True)
    # post, message, reply, poll, media (service.KINDS)
    kind: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    # The sign-up month of the account ("2026-11"): the cohort, nothing finer.
    cohort: Mapped[str] = mapped_column(String(7))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
