"""job recovery: what the sweeper (infra/sweeper.py) reads to queue again the must-run jobs
a queue lost — `polls.ended_notified_at` (polls already past their end count as told),
`account_deletions.progressed_at`, the `media_purges` table, and partial indexes for polls
not yet announced and media still processing

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROCESSING = 0  # media.models.MediaState.PROCESSING


def upgrade() -> None:
    op.add_column("polls", sa.Column("ended_notified_at", sa.DateTime(timezone=True)))
    # Polls that ended before this release were announced by their own jobs (or those are
    # long lost): the sweeper must not announce them again now.
    op.execute(
        "UPDATE polls SET ended_notified_at = expires_at"
        " WHERE expires_at IS NOT NULL AND expires_at < CURRENT_TIMESTAMP"
    )
    unannounced = sa.text("ended_notified_at IS NULL")
    op.create_index(
        "ix_polls_end_unannounced",
        "polls",
        ["expires_at"],
        postgresql_where=unannounced,
        sqlite_where=unannounced,
    )
    op.add_column("account_deletions", sa.Column("progressed_at", sa.DateTime(timezone=True)))
    processing = sa.text(f"state = {PROCESSING}")
    op.create_index(
        "ix_media_attachments_processing",
        "media_attachments",
        ["updated_at"],
        postgresql_where=processing,
        sqlite_where=processing,
    )
    op.create_table(
        "media_purges",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_purges")),
    )
    op.create_index("ix_media_purges_key", "media_purges", ["key"])


def downgrade() -> None:
    op.drop_index("ix_media_purges_key", table_name="media_purges")
    op.drop_table("media_purges")
    op.drop_index("ix_media_attachments_processing", table_name="media_attachments")
    with op.batch_alter_table("account_deletions") as batch:
        batch.drop_column("progressed_at")
    op.drop_index("ix_polls_end_unannounced", table_name="polls")
    with op.batch_alter_table("polls") as batch:
        batch.drop_column("ended_notified_at")
