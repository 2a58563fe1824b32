"""explore: `trend_scores` (what the trends job left), `trend_reviews` (moderators'
approvals and rejections), `suggestion_dismissals` (accounts never to suggest again)

Revision ID: 0032
Revises: 0031
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trend_scores",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("max_score_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "item_id"),
    )
    op.create_index("ix_trend_scores_kind_score", "trend_scores", ["kind", "score"])
    op.create_table(
        "trend_reviews",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("reviewed_by_account_id", sa.BigInteger(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["reviewed_by_account_id"], ["accounts.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("kind", "item_id"),
    )
    op.create_table(
        "suggestion_dismissals",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("target_account_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["target_account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "target_account_id"),
    )


def downgrade() -> None:
    op.drop_table("suggestion_dismissals")
    op.drop_table("trend_reviews")
    op.drop_index("ix_trend_scores_kind_score", table_name="trend_scores")
    op.drop_table("trend_scores")
