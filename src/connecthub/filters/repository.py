"""All SQL of content filters. Every query names the owner's account id, so another
account's filter, keyword or status is simply not found."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Boolean, String, cast, delete, func, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.core.datetimes import iso
from connecthub.filters.models import Filter, FilterKeyword, FilterStatus
from connecthub.infra.db import IdType, dialect_of, in_id_list


async def filters_of(session: AsyncSession, account_id: int) -> list[Filter]:
    query = select(Filter).where(Filter.account_id == account_id).order_by(Filter.id)
    return list((await session.scalars(query)).all())


async def own_filter(session: AsyncSession, account_id: int, filter_id: int) -> Filter | None:
    query = select(Filter).where(Filter.account_id == account_id, Filter.id == filter_id)
    return (await session.execute(query)).scalar_one_or_none()


async def count_filters(session: AsyncSession, account_id: int) -> int:
    query = select(func.count()).select_from(Filter).where(Filter.account_id == account_id)
    return int(await session.scalar(query) or 0)


async def keywords_of(
    session: AsyncSession, account_id: int, filter_ids: Sequence[int]
) -> dict[int, list[FilterKeyword]]:
    return await _rows_by_filter(session, FilterKeyword, account_id, filter_ids)


async def statuses_of(
    session: AsyncSession, account_id: int, filter_ids: Sequence[int]
) -> dict[int, list[FilterStatus]]:
    return await _rows_by_filter(session, FilterStatus, account_id, filter_ids)


_Row = TypeVar("_Row", FilterKeyword, FilterStatus)


async def _rows_by_filter(
    session: AsyncSession, model: type[_Row], account_id: int, filter_ids: Sequence[int]
) -> dict[int, list[_Row]]:
    """The account's keyword (or status) rows of these filters, by filter id, oldest first."""
    found: dict[int, list[_Row]] = defaultdict(list)
    if not filter_ids:
        return found
    query = (
        select(model)
        .where(model.account_id == account_id, model.filter_id.in_(filter_ids))
        .order_by(model.id)
    )
    for row in await session.scalars(query):
        found[row.filter_id].append(row)
    return found


async def own_keyword(
    session: AsyncSession, account_id: int, keyword_id: int
) -> FilterKeyword | None:
    query = select(FilterKeyword).where(
        FilterKeyword.account_id == account_id, FilterKeyword.id == keyword_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def own_status(session: AsyncSession, account_id: int, row_id: int) -> FilterStatus | None:
    query = select(FilterStatus).where(
        FilterStatus.account_id == account_id, FilterStatus.id == row_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def status_filtered(session: AsyncSession, filter_id: int, status_id: int) -> bool:
    query = select(FilterStatus.id).where(
        FilterStatus.filter_id == filter_id, FilterStatus.status_id == status_id
    )
    return (await session.scalar(query)) is not None


async def delete_filter(session: AsyncSession, row: Filter) -> None:
    """The filter and its rules (named by account, so the cached rules are dropped)."""
    for model in (FilterKeyword, FilterStatus):
        await session.execute(
            delete(model).where(model.account_id == row.account_id, model.filter_id == row.id)
        )
    await session.delete(row)
    await session.flush()


# Accounts per rules query: bounded well under both engines' bind-parameter limits.
_ACCOUNTS_PER_QUERY = 500


async def rules_of(session: AsyncSession, account_id: int) -> list[dict[str, Any]]:
    """Every filter of the account with its keywords and status ids, as the plain rules
    `filters.matching` caches, in ONE query."""
    return (await rules_of_many(session, [account_id]))[account_id]


async def rules_of_many(
    session: AsyncSession, account_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    """`rules_of` for several accounts (streaming recipients), one query per chunk: the
    filters joined to a union of their keywords and statuses."""
    found: dict[int, dict[int, dict[str, Any]]] = {i: {} for i in account_ids}
    ids = list(found)
    statement = _rules_statement(dialect_of(session))
    for start in range(0, len(ids), _ACCOUNTS_PER_QUERY):
        chunk = ids[start : start + _ACCOUNTS_PER_QUERY]
        for row, keyword, whole_word, status_id in (
            await session.execute(statement, {"ids": chunk})
        ).all():
            rule = found[row.account_id].get(row.id)
            if rule is None:
                rule = found[row.account_id][row.id] = {
                    "id": str(row.id),
                    "title": row.title,
                    "context": list(row.context or []),
                    "expires_at": iso(row.expires_at),
                    "filter_action": row.filter_action,
                    "keywords": [],
                    "status_ids": [],
                }
            if keyword is not None:
                rule["keywords"].append([keyword, bool(whole_word)])
            if status_id is not None:
                rule["status_ids"].append(int(status_id))
    return {account_id: list(rules.values()) for account_id, rules in found.items()}


@functools.cache
def _rules_statement(dialect: str) -> Any:
    """Built once per engine (every status render of a viewer without cached rules runs
    it): the account ids are bound at execution."""
    rules = union_all(
        select(
            FilterKeyword.filter_id.label("filter_id"),
            FilterKeyword.keyword.label("keyword"),
            FilterKeyword.whole_word.label("whole_word"),
            cast(null(), IdType).label("status_id"),
        ).where(in_id_list(FilterKeyword.account_id, "ids", dialect)),
        select(
            FilterStatus.filter_id,
            cast(null(), String),
            cast(null(), Boolean),
            FilterStatus.status_id,
        ).where(in_id_list(FilterStatus.account_id, "ids", dialect)),
    ).subquery()
    return (
        select(Filter, rules.c.keyword, rules.c.whole_word, rules.c.status_id)
        .outerjoin(rules, rules.c.filter_id == Filter.id)
        .where(in_id_list(Filter.account_id, "ids", dialect))
        .order_by(Filter.id)
    )
