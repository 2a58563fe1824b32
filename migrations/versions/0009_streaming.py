"""streaming: the presence privacy setting (`users.hide_presence`), and an index on
mutes by target so "who mutes this author?" (per-recipient stream filtering) is indexed

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("hide_presence", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_mutes_target_account", "mutes", ["target_account_id", "account_id"])


def downgrade() -> None:
    op.drop_index("ix_mutes_target_account", table_name="mutes")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("hide_presence")
