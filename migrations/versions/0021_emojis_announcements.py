"""custom emojis and announcements: `custom_emojis` (one image and its static PNG per
shortcode), `announcements`, `announcement_dismissals` and `announcement_reactions` (removed
with the announcement, the account or the custom emoji they name)

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "custom_emojis",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("shortcode", sa.String(length=64), nullable=False),
        sa.Column("image_key", sa.String(length=255), nullable=False),
        sa.Column("static_key", sa.String(length=255), nullable=False),
        sa.Column("visible_in_picker", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_emojis")),
        sa.UniqueConstraint("shortcode", name=op.f("uq_custom_emojis_shortcode")),
    )
    op.create_table(
        "announcements",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    op.create_table(
        "announcement_dismissals",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("announcement_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_announcement_dismissals_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_announcement_dismissals_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcement_dismissals")),
        sa.UniqueConstraint(
            "account_id", "announcement_id", name=op.f("uq_announcement_dismissals_account_id")
        ),
    )
    op.create_index(
        "ix_announcement_dismissals_announcement_id",
        "announcement_dismissals",
        ["announcement_id"],
    )
    op.create_table(
        "announcement_reactions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("announcement_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("custom_emoji_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_announcement_reactions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_announcement_reactions_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["custom_emoji_id"],
            ["custom_emojis.id"],
            name=op.f("fk_announcement_reactions_custom_emoji_id_custom_emojis"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcement_reactions")),
        sa.UniqueConstraint(
            "announcement_id",
            "account_id",
            "name",
            name=op.f("uq_announcement_reactions_announcement_id"),
        ),
    )
    op.create_index(
        "ix_announcement_reactions_account_id", "announcement_reactions", ["account_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_announcement_reactions_account_id", table_name="announcement_reactions")
    op.drop_table("announcement_reactions")
    op.drop_index(
        "ix_announcement_dismissals_announcement_id", table_name="announcement_dismissals"
    )
    op.drop_table("announcement_dismissals")
    op.drop_table("announcements")
    op.drop_table("custom_emojis")
