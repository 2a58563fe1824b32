"""Recording consent. Other domains call this; only this package writes consent rows."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.privacy import repository
from connecthub.privacy.models import AccountDeletion, Consent

TERMS = "terms"


def record_consent(
    session: AsyncSession, *, account_id: int, purpose: str, policy_version: str, method: str
) -> Consent:
    consent = Consent(
        account_id=account_id, purpose=purpose, policy_version=policy_version, method=method
    )
    session.add(consent)
    return consent


async def deletion_of(session: AsyncSession, account_id: int) -> AccountDeletion | None:
    """The account's deletion request, if it asked (or was asked) to be deleted."""
    return await repository.deletion_of(session, account_id)
