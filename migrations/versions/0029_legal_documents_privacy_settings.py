"""legal documents and privacy settings: `legal_documents` (versioned privacy policy and
terms of service), `accounts.hide_collections` (Mastodon's setting) and
`users.direct_messages_from` (who may send the user direct messages)

Revision ID: 0029
Revises: 0028
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "legal_documents",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("changelog", sa.Text(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_documents")),
        sa.UniqueConstraint("kind", "effective_date", name=op.f("uq_legal_documents_kind")),
    )
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("hide_collections", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "direct_messages_from",
                sa.String(length=16),
                nullable=False,
                server_default="everyone",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("direct_messages_from")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("hide_collections")
    op.drop_table("legal_documents")
