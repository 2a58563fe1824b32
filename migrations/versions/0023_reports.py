"""reports: `reports`, the evidence kept with them (`reported_statuses`), moderators'
`report_notes`, and `media_holds` (stored objects kept as evidence, never purged while held)

Revision ID: 0023
Revises: 0022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _account_fk(table: str, column: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        ["accounts.id"],
        name=op.f(f"fk_{table}_{column}_accounts"),
        ondelete=ondelete,
    )


def _report_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["report_id"],
        ["reports.id"],
        name=op.f(f"fk_{table}_report_id_reports"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("system", sa.Boolean(), nullable=False),
        sa.Column("target_account_id", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("forwarded", sa.Boolean(), nullable=False),
        sa.Column("status_ids", sa.JSON(), nullable=False),
        sa.Column("rule_ids", sa.JSON(), nullable=False),
        sa.Column("assigned_account_id", sa.BigInteger(), nullable=True),
        sa.Column("action_taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("action_taken_by_account_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _account_fk("reports", "account_id", "CASCADE"),
        _account_fk("reports", "target_account_id", "CASCADE"),
        _account_fk("reports", "assigned_account_id", "SET NULL"),
        _account_fk("reports", "action_taken_by_account_id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    op.create_index("ix_reports_action_taken_at_id", "reports", ["action_taken_at", "id"])
    op.create_index("ix_reports_account_id_id", "reports", ["account_id", "id"])
    op.create_index("ix_reports_target_account_id_id", "reports", ["target_account_id", "id"])
    op.create_table(
        "reported_statuses",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("status_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("spoiler_text", sa.Text(), nullable=False),
        sa.Column("visibility", sa.SmallInteger(), nullable=False),
        sa.Column("status_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("entity", sa.JSON(), nullable=False),
        _report_fk("reported_statuses"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reported_statuses")),
    )
    op.create_index(
        "ix_reported_statuses_report_id", "reported_statuses", ["report_id", "position"]
    )
    op.create_table(
        "report_notes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _report_fk("report_notes"),
        _account_fk("report_notes", "account_id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_notes")),
    )
    op.create_index("ix_report_notes_report_id_id", "report_notes", ["report_id", "id"])
    op.create_table(
        "media_holds",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_holds")),
        sa.UniqueConstraint("holder", "key", name=op.f("uq_media_holds_holder")),
    )
    op.create_index(op.f("ix_media_holds_key"), "media_holds", ["key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_media_holds_key"), table_name="media_holds")
    op.drop_table("media_holds")
    op.drop_table("report_notes")
    op.drop_table("reported_statuses")
    op.drop_table("reports")
