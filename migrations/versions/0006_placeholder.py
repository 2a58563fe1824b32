"""placeholder (no schema change; keeps the chain 0005 -> 0006 -> 0007 unbroken for the
domains that follow; a domain that needs revision 0006 replaces this file)

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
