"""All SQL about sign-in identities at OpenID Connect providers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account, User
from connecthub.oidc.models import Identity


async def owner_of(
    session: AsyncSession, provider: str, subject: str
) -> tuple[User, Account] | None:
    """The local user this provider identity is linked to, with their account."""
    row = (
        await session.execute(
            select(User, Account)
            .join(Identity, Identity.user_id == User.id)
            .join(Account, Account.id == User.account_id)
            .where(Identity.provider == provider, Identity.subject == subject)
        )
    ).first()
    return (row[0], row[1]) if row else None


def add_identity(session: AsyncSession, identity: Identity) -> None:
    session.add(identity)
