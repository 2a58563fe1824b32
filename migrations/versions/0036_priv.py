"""analytics: `analytics_keys` (one pseudonymisation key per rotation period) and
`analytics_events` (pseudonymised events of consenting accounts, kept a short window)

Revision ID: 0036
Revises: 0035
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_keys",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period_start"),
    )
    op.create_table(
        "analytics_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("cohort", sa.String(length=7), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["analytics_keys.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_analytics_events_key_id", "analytics_events", ["key_id"])
    op.create_index("ix_analytics_events_subject", "analytics_events", ["subject"])
    op.create_index("ix_analytics_events_day_kind", "analytics_events", ["day", "kind"])


def downgrade() -> None:
    op.drop_table("analytics_events")
    op.drop_table("analytics_keys")
