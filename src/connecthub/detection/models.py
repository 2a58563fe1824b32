"""What automated detection decided: one row per decision, named by its reason.

A row is written only when something tripped (an offensive score at or above the threshold,
a spam heuristic): benign scores are not kept. Its unique key (subject, subject id, key)
makes a decision once per version of what was judged — a status' text digest, a heuristic
and its window — so a job that runs twice files one report.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType

SUBJECT_STATUS = "status"
SUBJECT_PROFILE = "profile"
SUBJECT_ACCOUNT = "account"


class DetectionVerdict(Base):
    __tablename__ = "detection_verdicts"
    __table_args__ = (UniqueConstraint("subject", "subject_id", "key"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    # "status" (a status' text), "profile" (display name and bio), "account" (spam).
    subject: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(IdType)
    # The account answerable for it (the author; the account itself).
    account_id: Mapped[int] = mapped_column(IdType, index=True)
    # What version was judged: a text digest, or the heuristic and its window.
    key: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    # Why, in words a moderator reads: "offensive language (score 0.98)", "link burst …".
    reason: Mapped[str] = mapped_column(Text)
    # What was done: "report", "rate_limit", "hold".
    action: Mapped[str] = mapped_column(String(16))
    report_id: Mapped[int | None] = mapped_column(IdType)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
