"""held statuses: `statuses.held_reason` (a status held for review before it is published)
and the partial index listing them

Revision ID: 0035
Revises: 0033
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HELD = sa.text("held_reason IS NOT NULL")


def upgrade() -> None:
    op.add_column("statuses", sa.Column("held_reason", sa.String(length=16), nullable=True))
    op.create_index(
        "ix_statuses_held", "statuses", ["id"], postgresql_where=HELD, sqlite_where=HELD
    )


def downgrade() -> None:
    op.drop_index("ix_statuses_held", table_name="statuses")
    op.drop_column("statuses", "held_reason")
