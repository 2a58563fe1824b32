"""All SQL of push subscriptions and the VAPID key row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import OAuthToken, User
from connecthub.clock import utcnow
from connecthub.infra import db
from connecthub.push.models import VapidKeyPair, WebPushSubscription
from connecthub.relationships.models import Follow
from connecthub.statuses.models import Status

KEY_ROW_ID = 1


async def vapid_row(session: AsyncSession) -> VapidKeyPair | None:
    return await session.get(VapidKeyPair, KEY_ROW_ID)


async def insert_vapid_row(session: AsyncSession, private_key: str, public_key: str) -> None:
    """Kept only if no process made the row first (the caller reads it back)."""
    values = {
        "id": KEY_ROW_ID,
        "private_key": private_key,
        "public_key": public_key,
        "created_at": utcnow(),
    }
    await db.insert_once(session, VapidKeyPair, values)


async def by_token(session: AsyncSession, token_id: int) -> WebPushSubscription | None:
    query = select(WebPushSubscription).where(WebPushSubscription.token_id == token_id)
    return (await session.execute(query)).scalar_one_or_none()


async def delete_for_token(session: AsyncSession, token_id: int) -> bool:
    statement = delete(WebPushSubscription).where(WebPushSubscription.token_id == token_id)
    result: Any = await session.execute(statement)
    return bool(result.rowcount)


async def delete_by_id(session: AsyncSession, subscription_id: int) -> None:
    await session.execute(
        delete(WebPushSubscription).where(WebPushSubscription.id == subscription_id)
    )


def _live_token(now: datetime) -> Any:
    return exists().where(
        OAuthToken.id == WebPushSubscription.token_id,
        OAuthToken.revoked_at.is_(None),
        or_(OAuthToken.expires_at.is_(None), OAuthToken.expires_at > now),
    )


async def delete_dead(session: AsyncSession, account_id: int) -> None:
    """The account's subscriptions whose token was revoked or has expired."""
    await session.execute(
        delete(WebPushSubscription).where(
            WebPushSubscription.account_id == account_id, ~_live_token(utcnow())
        )
    )


async def live_for_account(session: AsyncSession, account_id: int) -> list[WebPushSubscription]:
    query = select(WebPushSubscription).where(
        WebPushSubscription.account_id == account_id, _live_token(utcnow())
    )
    return list((await session.execute(query)).scalars())


async def live_by_id(session: AsyncSession, subscription_id: int) -> WebPushSubscription | None:
    query = select(WebPushSubscription).where(
        WebPushSubscription.id == subscription_id, _live_token(utcnow())
    )
    return (await session.execute(query)).scalar_one_or_none()


async def follows(session: AsyncSession, account_id: int, target_id: int) -> tuple[bool, bool]:
    """(account follows target, target follows account) in one query."""
    forward = exists().where(
        and_(Follow.account_id == account_id, Follow.target_account_id == target_id)
    )
    backward = exists().where(
        and_(Follow.account_id == target_id, Follow.target_account_id == account_id)
    )
    row = (await session.execute(select(forward, backward))).one()
    return bool(row[0]), bool(row[1])


async def locale(session: AsyncSession, account_id: int) -> str | None:
    query = select(User.locale).where(User.account_id == account_id)
    return (await session.execute(query)).scalar_one_or_none()


async def status_text(session: AsyncSession, status_id: int) -> str | None:
    """What a push about the status shows: its content warning, else its text."""
    query = select(Status.spoiler_text, Status.text).where(Status.id == status_id)
    found = (await session.execute(query)).first()
    return (found[0] or found[1]) if found is not None else None


async def delete_all_subscriptions(session: AsyncSession) -> int:
    result: Any = await session.execute(delete(WebPushSubscription))
    return int(result.rowcount or 0)


async def replace_vapid_row(session: AsyncSession, private_key: str, public_key: str) -> None:
    await session.execute(delete(VapidKeyPair))
    await insert_vapid_row(session, private_key, public_key)
