"""scheduled statuses: `scheduled_statuses` (a status to post later, with its parameters)
and `media_attachments.scheduled_status_id` (media such a status holds until it is posted)

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MEDIA_FK = "fk_media_attachments_scheduled_status_id_scheduled_statuses"


def upgrade() -> None:
    op.create_table(
        "scheduled_statuses",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_scheduled_statuses_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_statuses")),
    )
    op.create_index(
        "ix_scheduled_statuses_account_id_id", "scheduled_statuses", ["account_id", "id"]
    )
    op.create_index("ix_scheduled_statuses_scheduled_at", "scheduled_statuses", ["scheduled_at"])
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its reference in one statement (no ALTER … ADD
        # CONSTRAINT there), and a batch copy of the table would lose its partial index.
        op.execute(
            "ALTER TABLE media_attachments ADD COLUMN scheduled_status_id BIGINT"
            f" CONSTRAINT {_MEDIA_FK} REFERENCES scheduled_statuses (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("media_attachments", sa.Column("scheduled_status_id", sa.BigInteger()))
        op.create_foreign_key(
            _MEDIA_FK,
            "media_attachments",
            "scheduled_statuses",
            ["scheduled_status_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index(
        "ix_media_attachments_scheduled_status_id", "media_attachments", ["scheduled_status_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_media_attachments_scheduled_status_id", table_name="media_attachments")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(_MEDIA_FK, "media_attachments", type_="foreignkey")
    op.drop_column("media_attachments", "scheduled_status_id")
    op.drop_index("ix_scheduled_statuses_scheduled_at", table_name="scheduled_statuses")
    op.drop_index("ix_scheduled_statuses_account_id_id", table_name="scheduled_statuses")
    op.drop_table("scheduled_statuses")
