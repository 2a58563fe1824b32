"""preview cards: `preview_cards` (one per URL, shared by the statuses linking to it) and
`statuses.preview_card_id` (a status' card, set by the card job)

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "preview_cards",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("author_name", sa.Text(), nullable=False),
        sa.Column("author_url", sa.Text(), nullable=False),
        sa.Column("provider_name", sa.Text(), nullable=False),
        sa.Column("provider_url", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("embed_url", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("image_key", sa.String(length=255), nullable=True),
        sa.Column("image_description", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("blurhash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preview_cards")),
        sa.UniqueConstraint("url", name=op.f("uq_preview_cards_url")),
    )
    op.add_column("statuses", sa.Column("preview_card_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("statuses") as batch:
        batch.drop_column("preview_card_id")
    op.drop_table("preview_cards")
