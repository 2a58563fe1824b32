"""The privacy domain's entities (ConnectHub extensions in Mastodon's JSON style)."""

from __future__ import annotations

from connecthub import entities
from connecthub.core.datetimes import iso
from connecthub.privacy.models import AccountDeletion


def account_deletion_entity(deletion: AccountDeletion) -> entities.AccountDeletion:
    return {
        "account_id": str(deletion.account_id),
        "requested_at": iso(deletion.requested_at),
        "completed_at": iso(deletion.completed_at),
        "state": "completed" if deletion.completed_at else "pending",
    }
