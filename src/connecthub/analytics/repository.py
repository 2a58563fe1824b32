"""SQL of the analytics domain: keys, events, and the counts the release rule publishes."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.analytics.models import AnalyticsEvent, AnalyticsKey
from connecthub.infra.db import IdType
from connecthub.privacy.models import Consent

ANALYTICS_PURPOSE = "analytics"


def _consented(account_id: object) -> object:
    return (
        select(Consent.id)
        .where(
            Consent.account_id == account_id,
            Consent.purpose == ANALYTICS_PURPOSE,
            Consent.withdrawn_at.is_(None),
        )
        .exists()
    )


def _consent_and_key() -> Any:
    period = bindparam("period_start", type_=AnalyticsKey.period_start.type)
    key = select(AnalyticsKey).where(AnalyticsKey.period_start == period).subquery()
    return select(
        _consented(bindparam("account_id", type_=IdType)),  # type: ignore[call-overload]
        select(key.c.id).scalar_subquery(),
        select(key.c.secret).scalar_subquery(),
    )


# Built once: every post asks it, and building it cost more CPU than running it.
_CONSENT_AND_KEY = _consent_and_key()


async def consent_and_key(
    session: AsyncSession, account_id: int, period_start: date
) -> tuple[bool, int | None, bytes | None]:
    """In one statement: whether the account consents to analytics now, and the period's
    key (id, secret) if it exists."""
    params = {"account_id": account_id, "period_start": period_start}
    row = (await session.execute(_CONSENT_AND_KEY, params)).one()
    return bool(row[0]), row[1], row[2]


async def create_key(session: AsyncSession, period_start: date) -> tuple[int, bytes]:
    """The period's key, made now if no process made it first."""
    try:
        async with session.begin_nested():
            session.add(AnalyticsKey(period_start=period_start, secret=secrets.token_bytes(32)))
    except IntegrityError:
        pass  # another process made it: read theirs
    row = (
        await session.execute(
            select(AnalyticsKey.id, AnalyticsKey.secret).where(
                AnalyticsKey.period_start == period_start
            )
        )
    ).one()
    return int(row[0]), bytes(row[1])


async def add_events(session: AsyncSession, rows: Sequence[dict[str, object]]) -> None:
    await session.execute(insert(AnalyticsEvent), list(rows))


async def keys(session: AsyncSession) -> list[tuple[int, bytes]]:
    rows = await session.execute(select(AnalyticsKey.id, AnalyticsKey.secret))
    return [(int(key_id), bytes(secret)) for key_id, secret in rows]


async def delete_subjects(session: AsyncSession, subjects: Sequence[tuple[int, str]]) -> int:
    """Delete the events of these (key id, subject) pairs; how many went."""
    if not subjects:
        return 0
    condition = or_(
        *(
            and_(AnalyticsEvent.key_id == key_id, AnalyticsEvent.subject == subject)
            for key_id, subject in subjects
        )
    )
    result = await session.execute(
        delete(AnalyticsEvent).where(condition).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def distinct_subjects(
    session: AsyncSession, kinds: Sequence[str], first: date, last: date, by: str
) -> list[tuple[str, int, int]]:
    """(cell, key id, distinct subjects) for events of `kinds` from `first` to `last`
    (days included), the cell being the `day`, the `cohort` or the `kind`."""
    cell = {
        "day": AnalyticsEvent.day,
        "cohort": AnalyticsEvent.cohort,
        "kind": AnalyticsEvent.kind,
    }[by]
    query = (
        select(cell, AnalyticsEvent.key_id, func.count(func.distinct(AnalyticsEvent.subject)))
        .where(
            AnalyticsEvent.kind.in_(list(kinds)),
            AnalyticsEvent.day >= first,
            AnalyticsEvent.day <= last,
        )
        .group_by(cell, AnalyticsEvent.key_id)
    )
    found = []
    for value, key_id, subjects in await session.execute(query):
        name = value.isoformat() if isinstance(value, date) else str(value)
        found.append((name, int(key_id), int(subjects)))
    return found
