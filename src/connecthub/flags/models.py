"""Tables of feature flags. A flag's targeting (rules, experiment) is one JSON document
validated at the edge (`schemas.py`) and compiled once per process (`rules.py`): the table
is read whole whenever any flag changes, so it stays one row per flag.

Exposures: which variant of an experiment an account was first served, and when. One row
per (flag, account) at most, erased with the account (privacy/) or deleted with the flag;
only aggregates of it ever leave the server (the readout)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType


class FeatureFlag(Base):
    __tablename__ = "feature_flags"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    # boolean, string, number or json (schemas.FlagKind)
    kind: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(Text, default="")
    # The kill switch: a disabled flag answers its default value to everyone.
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    default_value: Mapped[Any] = mapped_column(JSON, nullable=False)
    # Served to the web app by GET /api/v1/flags (evaluated, never the rules).
    client_visible: Mapped[bool] = mapped_column(Boolean, default=False)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    experiment: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Bumped by every change: evaluations report it (OpenFeature flag metadata).
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FlagExposure(Base):
    __tablename__ = "flag_exposures"
    __table_args__ = (
        UniqueConstraint("flag_id", "account_id"),
        Index("ix_flag_exposures_account_id", "account_id"),
    )

    # A surrogate key, as every erased table has (privacy deletes rows in chunks by id).
    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    flag_id: Mapped[int] = mapped_column(IdType, ForeignKey("feature_flags.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    variant: Mapped[str] = mapped_column(String(64))
    exposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
