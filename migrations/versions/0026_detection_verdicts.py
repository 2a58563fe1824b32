"""automated detection: `detection_verdicts` (each automatic decision and its reason)

Revision ID: 0026
Revises: 0025
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "detection_verdicts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("report_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detection_verdicts")),
        sa.UniqueConstraint(
            "subject", "subject_id", "key", name=op.f("uq_detection_verdicts_subject")
        ),
    )
    op.create_index(op.f("ix_detection_verdicts_account_id"), "detection_verdicts", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_detection_verdicts_account_id"), table_name="detection_verdicts")
    op.drop_table("detection_verdicts")
