"""All SQL for OAuth applications, authorization codes (grants) and tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account, OAuthApplication, OAuthGrant, OAuthToken, User
from connecthub.clock import utcnow
from connecthub.oauth.identity import TokenInfo
from connecthub.oauth.scopes import parse_scopes


async def app_by_client_id(session: AsyncSession, client_id: str) -> OAuthApplication | None:
    result = await session.execute(
        select(OAuthApplication).where(OAuthApplication.client_id == client_id)
    )
    return result.scalar_one_or_none()


async def app_by_id(session: AsyncSession, app_id: int) -> OAuthApplication | None:
    return await session.get(OAuthApplication, app_id)


async def add(session: AsyncSession, row: OAuthApplication | OAuthGrant) -> None:
    session.add(row)
    await session.flush()


async def grant_by_code_hash(session: AsyncSession, code_hash: str) -> OAuthGrant | None:
    result = await session.execute(select(OAuthGrant).where(OAuthGrant.code_hash == code_hash))
    return result.scalar_one_or_none()


def _rowcount(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0


async def claim_grant(session: AsyncSession, grant_id: int, now: datetime) -> bool:
    """Mark the code used; False when another request already used it (single use even
    when two redemptions race)."""
    result = await session.execute(
        update(OAuthGrant)
        .where(OAuthGrant.id == grant_id, OAuthGrant.used_at.is_(None))
        .values(used_at=now)
    )
    return _rowcount(result) == 1


async def delete_pending_grants(session: AsyncSession, account_id: int, app_id: int) -> None:
    await session.execute(
        delete(OAuthGrant).where(
            OAuthGrant.account_id == account_id,
            OAuthGrant.application_id == app_id,
            OAuthGrant.used_at.is_(None),
        )
    )


async def token_by_secret_hash(session: AsyncSession, secret_hash: str) -> OAuthToken | None:
    """The token whose access or refresh token hashes to `secret_hash`, revoked or not."""
    result = await session.execute(
        select(OAuthToken).where(
            or_(OAuthToken.token_hash == secret_hash, OAuthToken.refresh_token_hash == secret_hash)
        )
    )
    return result.scalars().first()


async def token_by_refresh_hash(session: AsyncSession, refresh_hash: str) -> OAuthToken | None:
    result = await session.execute(
        select(OAuthToken).where(OAuthToken.refresh_token_hash == refresh_hash)
    )
    return result.scalar_one_or_none()


async def claim_refresh(session: AsyncSession, token_id: int, now: datetime) -> bool:
    """Retire a token on rotation; False when it was already retired or revoked."""
    result = await session.execute(
        update(OAuthToken)
        .where(OAuthToken.id == token_id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=now, refreshed_at=now)
    )
    return _rowcount(result) == 1


async def live_tokens(
    session: AsyncSession,
    *,
    family_id: int | None = None,
    account_id: int | None = None,
    application_id: int | None = None,
) -> Sequence[OAuthToken]:
    """Unrevoked tokens matching every filter given (at least one must be)."""
    query = select(OAuthToken).where(OAuthToken.revoked_at.is_(None))
    if family_id is not None:
        query = query.where(OAuthToken.family_id == family_id)
    if account_id is not None:
        query = query.where(OAuthToken.account_id == account_id)
    if application_id is not None:
        query = query.where(OAuthToken.application_id == application_id)
    return (await session.execute(query.order_by(OAuthToken.id))).scalars().all()


async def mark_revoked(session: AsyncSession, token_ids: Sequence[int], now: datetime) -> None:
    if token_ids:
        await session.execute(
            update(OAuthToken)
            .where(OAuthToken.id.in_(token_ids), OAuthToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )


async def live_sessions(
    session: AsyncSession, account_id: int
) -> Sequence[tuple[OAuthToken, OAuthApplication | None]]:
    """The account's unrevoked tokens with their apps, newest first."""
    result = await session.execute(
        select(OAuthToken, OAuthApplication)
        .outerjoin(OAuthApplication, OAuthApplication.id == OAuthToken.application_id)
        .where(OAuthToken.account_id == account_id, OAuthToken.revoked_at.is_(None))
        .order_by(OAuthToken.id.desc())
    )
    return [(row[0], row[1]) for row in result.all()]


# A token, its user's role, disabled flag, confirmation and approval, its account's suspension.
_LiveTokenRows = Select[OAuthToken, str, bool, datetime | None, datetime | None, bool]


def _live_token_rows() -> _LiveTokenRows:
    """Unrevoked tokens with what decides whether they still let anyone in (`_lives`)."""
    return (
        select(
            OAuthToken,
            User.role,
            User.disabled,
            Account.suspended_at,
            User.confirmed_at,
            User.approved,
        )
        .outerjoin(Account, Account.id == OAuthToken.account_id)
        .outerjoin(User, User.account_id == OAuthToken.account_id)
        .where(OAuthToken.revoked_at.is_(None))
    )


def _lives(token: OAuthToken, disabled: bool | None, suspended_at: datetime | None) -> bool:
    """A user's token lets no one in once its user is disabled or its account suspended."""
    return token.account_id is None or not (disabled or suspended_at is not None)


async def live_token_ids(session: AsyncSession, token_ids: Sequence[int]) -> set[int]:
    """Which of `token_ids` still let someone in (`find_live_token`'s rule; expiry aside)."""
    if not token_ids:
        return set()
    rows = await session.execute(_live_token_rows().where(OAuthToken.id.in_(token_ids)))
    return {row[0].id for row in rows if _lives(row[0], row[2], row[3])}


async def find_live_token(session: AsyncSession, token_hash: str) -> TokenInfo | None:
    query = _live_token_rows().where(OAuthToken.token_hash == token_hash)
    row = (await session.execute(query)).first()
    if row is None:
        return None
    token, role, disabled, suspended_at, confirmed_at, approved = row
    if not _lives(token, disabled, suspended_at):
        return None
    pending = None
    if token.account_id is not None and role is not None:
        if confirmed_at is None:
            pending = "Your login is missing a confirmed e-mail address"
        elif not approved:
            pending = "Your login is currently pending approval"
    expires_at = token.expires_at
    if expires_at is not None and expires_at.tzinfo is None:
        # SQLite returns naive datetimes; every time we store is UTC.
        expires_at = expires_at.replace(tzinfo=utcnow().tzinfo)
    return TokenInfo(
        token_id=token.id,
        account_id=token.account_id,
        application_id=token.application_id,
        scopes=parse_scopes(token.scopes),
        expires_at=expires_at,
        role=role,
        pending=pending,
    )
