"""notification policy (Mastodon 4.3): `notifications.filtered` (held back by the
recipient's policy), `notification_policies` (one per account), `notification_requests`
(one per recipient and sender of filtered mentions) and `notification_permissions`
(senders whose request was accepted)

Revision ID: 0027
Revises: 0026
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _account_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        ["accounts.id"],
        name=op.f(f"fk_{table}_{column}_accounts"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(
            sa.Column("filtered", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "notification_policies",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("for_not_following", sa.String(length=8), nullable=False),
        sa.Column("for_not_followers", sa.String(length=8), nullable=False),
        sa.Column("for_new_accounts", sa.String(length=8), nullable=False),
        sa.Column("for_private_mentions", sa.String(length=8), nullable=False),
        sa.Column("for_limited_accounts", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _account_fk("notification_policies", "account_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_policies")),
        sa.UniqueConstraint("account_id", name=op.f("uq_notification_policies_account_id")),
    )
    op.create_table(
        "notification_requests",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("from_account_id", sa.BigInteger(), nullable=False),
        sa.Column("last_status_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _account_fk("notification_requests", "account_id"),
        _account_fk("notification_requests", "from_account_id"),
        sa.ForeignKeyConstraint(
            ["last_status_id"],
            ["statuses.id"],
            name=op.f("fk_notification_requests_last_status_id_statuses"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_requests")),
        sa.UniqueConstraint(
            "account_id", "from_account_id", name=op.f("uq_notification_requests_account_id")
        ),
    )
    op.create_table(
        "notification_permissions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("from_account_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _account_fk("notification_permissions", "account_id"),
        _account_fk("notification_permissions", "from_account_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_permissions")),
        sa.UniqueConstraint(
            "account_id", "from_account_id", name=op.f("uq_notification_permissions_account_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("notification_permissions")
    op.drop_table("notification_requests")
    op.drop_table("notification_policies")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("filtered")
