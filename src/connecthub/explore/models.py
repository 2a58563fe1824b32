"""Tables of the explore domain: trend scores (rewritten by the trends job), moderators'
reviews of trending items, suggestions a person dismissed, what accounts write about, and
the fitted "For you" ranker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType


class TrendScore(Base):
    """One item's standing as the last trends run left it. `max_score` and `max_score_at`
    remember its peak, from which `score` decays (a hashtag stays up a while after its
    burst, then falls away)."""

    __tablename__ = "trend_scores"
    __table_args__ = (Index("ix_trend_scores_kind_score", "kind", "score"),)

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # tag, status or link
    item_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    max_score_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TrendReview(Base):
    """A moderator's decision on an item: approved items may trend; rejected never do."""

    __tablename__ = "trend_reviews"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    item_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    approved: Mapped[bool] = mapped_column()
    reviewed_by_account_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SuggestionDismissal(Base):
    """An account a person asked never to be suggested again."""

    __tablename__ = "suggestion_dismissals"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    target_account_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AccountVector(Base):
    """What an account writes about, as one vector: the mean embedding of its latest public
    posts (explore/embeddings.py), refreshed by a job after it posts."""

    __tablename__ = "account_vectors"

    account_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian
    statuses: Mapped[int] = mapped_column(Integer)  # how many posts went into it
    # Older than the account's `last_status_at`: stale, embedded again by the next run.
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RankerModel(Base):
    """A fitted "For you" ranker (explore/ranker.py): the latest row serves; the job keeps
    a few for comparison. No account's data: weights and how they were fitted."""

    __tablename__ = "ranker_models"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    model: Mapped[dict[str, Any]] = mapped_column(JSON)
    examples: Mapped[int] = mapped_column(Integer)  # training rows (positives and negatives)
    positives: Mapped[int] = mapped_column(Integer)
    trained_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
