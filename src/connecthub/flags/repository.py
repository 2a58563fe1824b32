"""All SQL of the flags domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account
from connecthub.flags.models import FeatureFlag, FlagExposure
from connecthub.infra.db import insert_many_once
from connecthub.privacy.models import Consent
from connecthub.statuses.models import Status


async def all_flags(session: AsyncSession) -> Sequence[FeatureFlag]:
    return (await session.scalars(select(FeatureFlag).order_by(FeatureFlag.key))).all()


async def by_key(
    session: AsyncSession, key: str, *, for_update: bool = False
) -> FeatureFlag | None:
    query = select(FeatureFlag).where(FeatureFlag.key == key)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def delete_flag(session: AsyncSession, flag_id: int) -> None:
    await session.execute(delete(FeatureFlag).where(FeatureFlag.id == flag_id))


async def record_exposures(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Each (flag, account) once, the first assignment kept; accounts that withdrew their
    consent and gave none since are left out. Answers how many went in.

    Id lists of a batch are bound as expanding IN lists: a batch is at most what one
    process noted in a second, and MAX_BATCH rows."""
    if not rows:
        return 0
    account_ids = {row["account_id"] for row in rows}
    # An account deleted since its evaluation is left out (a foreign-key error would fail
    # the whole batch, again at every retry).
    existing = set(await session.scalars(select(Account.id).where(Account.id.in_(account_ids))))
    withdrawn = await _accounts_without_consent(session, existing)
    kept = [row for row in rows if row["account_id"] in existing - withdrawn]
    # The flag may have been deleted since the evaluation: its exposures go with it.
    flag_ids = set(
        await session.scalars(
            select(FeatureFlag.id).where(FeatureFlag.id.in_({row["flag_id"] for row in kept}))
        )
    )
    kept = [row for row in kept if row["flag_id"] in flag_ids]
    return len(await insert_many_once(session, FlagExposure, kept))


async def _accounts_without_consent(session: AsyncSession, account_ids: set[int]) -> set[int]:
    """Of `account_ids`, those that withdrew a consent and hold no consent in force."""
    in_force = select(Consent.account_id).where(
        Consent.account_id.in_(account_ids), Consent.withdrawn_at.is_(None)
    )
    withdrew = select(Consent.account_id).where(
        Consent.account_id.in_(account_ids), Consent.withdrawn_at.is_not(None)
    )
    return set(await session.scalars(withdrew)) - set(await session.scalars(in_force))


async def exposure_outcomes(
    session: AsyncSession, flag_id: int
) -> Sequence[tuple[str, datetime, int]]:
    """Per exposed account: its variant, when it was exposed, and how many statuses
    (boosts left out) it has posted since. Only the readout's aggregates leave the server."""
    posted = (
        select(func.count(Status.id))
        .where(
            Status.account_id == FlagExposure.account_id,
            Status.created_at >= FlagExposure.exposed_at,
            Status.reblog_of_id.is_(None),
        )
        .correlate(FlagExposure)
        .scalar_subquery()
    )
    query = select(FlagExposure.variant, FlagExposure.exposed_at, posted).where(
        FlagExposure.flag_id == flag_id
    )
    return [(row[0], row[1], int(row[2])) for row in await session.execute(query)]
