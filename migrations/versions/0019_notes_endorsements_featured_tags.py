"""accounts' private notes about other accounts (`account_notes`), endorsements
(`account_pins`) and featured hashtags (`featured_tags`)

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _account_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["accounts.id"], name=op.f(f"fk_{table}_{column}_accounts"), ondelete="CASCADE"
    )


def _edge(table: str, *columns: sa.Column) -> None:
    """A table of (account, target account) pairs, unique per pair."""
    op.create_table(
        table,
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("target_account_id", sa.BigInteger(), nullable=False),
        *columns,
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _account_fk(table, "account_id"),
        _account_fk(table, "target_account_id"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("account_id", "target_account_id", name=op.f(f"uq_{table}_account_id")),
    )
    op.create_index(op.f(f"ix_{table}_target_account_id"), table, ["target_account_id"])


def upgrade() -> None:
    _edge(
        "account_notes",
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    _edge("account_pins")
    op.create_table(
        "featured_tags",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("tag_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _account_fk("featured_tags", "account_id"),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_featured_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_featured_tags")),
        sa.UniqueConstraint("account_id", "tag_id", name=op.f("uq_featured_tags_account_id")),
    )
    op.create_index(op.f("ix_featured_tags_tag_id"), "featured_tags", ["tag_id"])


def downgrade() -> None:
    op.drop_table("featured_tags")
    op.drop_table("account_pins")
    op.drop_table("account_notes")
