"""notification groups: `notifications.group_key` (favourites and boosts of one status,
and follows, within a time window share one; NULL for the types that never group) and its
index with the recipient

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("group_key", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_notifications_account_id_group_key",
        "notifications",
        ["account_id", "group_key"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_account_id_group_key", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("group_key")
