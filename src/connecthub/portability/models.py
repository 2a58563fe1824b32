"""Tables of data portability.

An export is one archive asked for by its owner: built by a job into the object store,
downloadable until `expires_at`, then deleted by the purge job (the row stays, so the
seven-day limit still counts it). An import is one uploaded CSV file: its rows are kept one
per line with their outcome, so its progress and per-row errors can be read back and a
job that dies half-way carries on from the first row without an outcome.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy import Text as TextType
from sqlalchemy.orm import Mapped, mapped_column

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.db import Base, IdType

# Export states, in order.
PENDING = "pending"
READY = "ready"
FAILED = "failed"
EXPIRED = "expired"
# Import states.
PROCESSING = "processing"
FINISHED = "finished"


class DataExport(Base):
    __tablename__ = "data_exports"
    __table_args__ = (
        Index("ix_data_exports_account_id_id", "account_id", "id"),
        # The purge's question: ready archives past their expiry.
        Index("ix_data_exports_state_expires_at", "state", "expires_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    # Object-store key of the archive: random, so it cannot be guessed from the account.
    storage_key: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When a run of the build job last started (the sweeper's clock for a lost job).
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DataImport(Base):
    __tablename__ = "data_imports"
    __table_args__ = (Index("ix_data_imports_account_id_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="CASCADE"))
    # Mastodon's import types: following, blocking, muting, bookmarks, lists.
    type: Mapped[str] = mapped_column(String(16))
    overwrite: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default=PROCESSING)
    original_filename: Mapped[str] = mapped_column(String(255), default="")
    # The file looks like another type than the one asked (Mastodon warns of it too).
    likely_mismatched: Mapped[bool] = mapped_column(Boolean, default=False)
    total_items: Mapped[int] = mapped_column(Integer, default=0)
    processed_items: Mapped[int] = mapped_column(Integer, default=0)
    imported_items: Mapped[int] = mapped_column(Integer, default=0)
    # Overwrite mode: whether what the file does not list has been removed yet.
    cleared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DataImportRow(Base):
    __tablename__ = "data_import_rows"
    __table_args__ = (Index("ix_data_import_rows_import_id_line", "import_id", "line"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, default=new_id)
    import_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("data_imports.id", ondelete="CASCADE")
    )
    # The line of the file (1 is the first line, the header when there is one).
    line: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # None until handled; then "imported" or "failed" (with `error`).
    outcome: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(TextType)
