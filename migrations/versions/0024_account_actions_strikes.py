"""moderation actions: `accounts.silenced_at` and `accounts.sensitized_at` (Mastodon's
"limit" and forced-sensitive marks), `account_warnings` (strikes: one per moderation
action on an account) and `appeals` (at most one per strike)

Revision ID: 0024
Revises: 0023
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("silenced_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("accounts", sa.Column("sensitized_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "account_warnings",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("target_account_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status_ids", sa.JSON(), nullable=False),
        # The report it resolved (reports/ owns that table: no foreign key across domains).
        sa.Column("report_id", sa.BigInteger(), nullable=True),
        sa.Column("overruled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_warnings_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["target_account_id"],
            ["accounts.id"],
            name=op.f("fk_account_warnings_target_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_warnings")),
    )
    op.create_index(
        "ix_account_warnings_target_account_id_id",
        "account_warnings",
        ["target_account_id", "id"],
    )
    op.create_table(
        "appeals",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("account_warning_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by_account_id", sa.BigInteger(), nullable=True),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejected_by_account_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_appeals_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_warning_id"],
            ["account_warnings.id"],
            name=op.f("fk_appeals_account_warning_id_account_warnings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_appeals_approved_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rejected_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_appeals_rejected_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint("account_warning_id", name=op.f("uq_appeals_account_warning_id")),
    )


def downgrade() -> None:
    op.drop_table("appeals")
    op.drop_index("ix_account_warnings_target_account_id_id", table_name="account_warnings")
    op.drop_table("account_warnings")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("sensitized_at")
        batch.drop_column("silenced_at")
