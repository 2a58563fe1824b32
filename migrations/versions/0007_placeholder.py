"""placeholder (no schema change; keeps the chain 0006 -> 0007 -> 0008 unbroken for the
domains that follow; a domain that needs revision 0007 replaces this file)

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
