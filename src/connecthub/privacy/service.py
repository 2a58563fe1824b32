"""Recording consent. Other domains call this; only this package writes consent rows."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.signup_hooks import Joined
from connecthub.config import Settings
from connecthub.infra.uow import UnitOfWork
from connecthub.privacy import deletion, repository
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


async def record_terms_consent(uow: UnitOfWork, settings: Settings, joined: Joined) -> None:
    """The sign-up hook (accounts/signup_hooks.py, registered by the app): the terms the
    new member accepted, in the sign-up's own transaction."""
    record_consent(
        uow.session,
        account_id=joined.account.id,
        purpose=TERMS,
        policy_version=settings.terms_version,
        method=joined.method,
    )


async def deletion_of(session: AsyncSession, account_id: int) -> AccountDeletion | None:
    """The account's deletion request, if it asked (or was asked) to be deleted."""
    return await repository.deletion_of(session, account_id)


async def delete_for_moderator(
    uow: UnitOfWork, account_id: int, moderator_account_id: int
) -> AccountDeletion:
    """A moderator's deletion of an account (a rejected sign-up): the same erasure as
    self-service deletion (privacy/deletion.py), recorded as asked by them."""
    return await deletion.request_deletion(
        uow,
        account_id,
        requested_by=deletion.ADMIN,
        requested_by_account_id=moderator_account_id,
    )
