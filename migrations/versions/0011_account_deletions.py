"""privacy: account deletion records (`account_deletions`), one per deleted account, kept
after its data are erased; indexes so the erasure's "rows by this account" deletes are
indexed where no index led with the account (notifications it sent, poll votes it gave)

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_deletions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("requested_by", sa.String(length=16), nullable=False),
        sa.Column("requested_by_account_id", sa.BigInteger(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_deletions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_deletions")),
        sa.UniqueConstraint("account_id", name=op.f("uq_account_deletions_account_id")),
    )
    op.create_index("ix_notifications_from_account", "notifications", ["from_account_id"])
    op.create_index("ix_poll_votes_account", "poll_votes", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_poll_votes_account", table_name="poll_votes")
    op.drop_index("ix_notifications_from_account", table_name="notifications")
    op.drop_table("account_deletions")
