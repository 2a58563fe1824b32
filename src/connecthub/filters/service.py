"""Filter rules: each account owns its filters (anyone else's is 404), with bounded
numbers of filters, keywords and statuses. Every change publishes `filters_changed` (no
payload, as Mastodon) on the owner's user stream after commit, once per request; the
cached rules (`filters.matching`) are dropped by the entity cache on the same commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import channels, entities
from connecthub.clock import utcnow
from connecthub.errors import NotFound, ValidationFailed
from connecthub.filters import repository
from connecthub.filters.models import Filter, FilterKeyword, FilterStatus
from connecthub.filters.schemas import (
    MAX_FILTERS,
    MAX_KEYWORDS_PER_FILTER,
    MAX_STATUSES_PER_FILTER,
    FilterDraft,
    KeywordDraft,
    Unset,
)
from connecthub.filters.serializers import (
    filter_entity,
    keyword_entity,
    status_entity,
    v1_filter_entity,
)
from connecthub.ids import new_id
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses import service as statuses

_PUBLISHED = "connecthub.filters.changed"


def _changed(uow: UnitOfWork, account_id: int) -> None:
    published: set[int] = uow.session.info.setdefault(_PUBLISHED, set())
    if account_id not in published:
        published.add(account_id)
        # On the user channel for clients, and on the account's control channel, which
        # every streaming connection of the account listens to (topic-only ones too), so
        # each process drops the rules it keeps.
        audience = [channels.user_channel(account_id), channels.control_channel(account_id)]
        channels.send_on_commit(uow, channels.envelope(channels.FILTERS_CHANGED), audience)


# -- access: the caller's own filter, keyword or filtered status; anyone else's is as
# good as missing (404).


async def access_filter(uow: UnitOfWork, account_id: int, filter_id: int) -> Filter:
    row = await repository.own_filter(uow.session, account_id, filter_id)
    if row is None:
        raise NotFound()
    return row


async def _entities(uow: UnitOfWork, account_id: int, rows: list[Filter]) -> list[entities.Filter]:
    ids = [row.id for row in rows]
    keywords = await repository.keywords_of(uow.session, account_id, ids)
    statuses = await repository.statuses_of(uow.session, account_id, ids)
    return [filter_entity(row, keywords.get(row.id, []), statuses.get(row.id, [])) for row in rows]


async def _entity(uow: UnitOfWork, row: Filter) -> entities.Filter:
    return (await _entities(uow, row.account_id, [row]))[0]


# Filters


async def list_filters(uow: UnitOfWork, account_id: int) -> list[entities.Filter]:
    """Every filter, expired ones included (as Mastodon lists them)."""
    return await _entities(uow, account_id, await repository.filters_of(uow.session, account_id))


async def get_filter(uow: UnitOfWork, account_id: int, filter_id: int) -> entities.Filter:
    return await _entity(uow, await access_filter(uow, account_id, filter_id))


def _apply(row: Filter, draft: FilterDraft) -> None:
    if draft.title is not None:
        row.title = draft.title
    if draft.context is not None:
        row.context = draft.context
    if draft.filter_action is not None:
        row.filter_action = draft.filter_action
    if not isinstance(draft.expires_in, Unset):
        row.expires_at = (
            None if draft.expires_in is None else utcnow() + timedelta(seconds=draft.expires_in)
        )
    row.updated_at = utcnow()


def _new_keyword(row: Filter, draft: KeywordDraft) -> FilterKeyword:
    assert draft.keyword is not None
    return FilterKeyword(
        id=new_id(),
        filter_id=row.id,
        account_id=row.account_id,
        keyword=draft.keyword,
        whole_word=True if draft.whole_word is None else draft.whole_word,
    )


async def create_filter(uow: UnitOfWork, account_id: int, draft: FilterDraft) -> Filter:
    if await repository.count_filters(uow.session, account_id) >= MAX_FILTERS:
        raise ValidationFailed("filter", f"at most {MAX_FILTERS} filters per account")
    row = Filter(id=new_id(), account_id=account_id, filter_action="warn", expires_at=None)
    _apply(row, draft)
    uow.session.add(row)
    await uow.session.flush()
    for keyword in draft.keywords:
        uow.session.add(_new_keyword(row, keyword))
    await uow.session.flush()
    _changed(uow, account_id)
    return row


async def create(uow: UnitOfWork, account_id: int, draft: FilterDraft) -> entities.Filter:
    return await _entity(uow, await create_filter(uow, account_id, draft))


async def update(
    uow: UnitOfWork, account_id: int, filter_id: int, draft: FilterDraft
) -> entities.Filter:
    row = await access_filter(uow, account_id, filter_id)
    _apply(row, draft)
    existing = {
        k.id: k for k in (await repository.keywords_of(uow.session, account_id, [row.id]))[row.id]
    }
    for index, keyword in enumerate(draft.keywords):
        if keyword.id is None:
            uow.session.add(_new_keyword(row, keyword))
            continue
        found = existing.get(keyword.id)
        if found is None:
            raise ValidationFailed(
                f"keywords_attributes[{index}][id]", "is not a keyword of this filter"
            )
        if keyword.destroy:
            await uow.session.delete(found)
            continue
        if keyword.keyword is not None:
            found.keyword = keyword.keyword
        if keyword.whole_word is not None:
            found.whole_word = keyword.whole_word
    await uow.session.flush()
    count = len((await repository.keywords_of(uow.session, account_id, [row.id]))[row.id])
    if count > MAX_KEYWORDS_PER_FILTER:
        raise ValidationFailed(
            "keywords_attributes", f"at most {MAX_KEYWORDS_PER_FILTER} keywords per filter"
        )
    _changed(uow, account_id)
    return await _entity(uow, row)


async def delete(uow: UnitOfWork, account_id: int, filter_id: int) -> None:
    await repository.delete_filter(uow.session, await access_filter(uow, account_id, filter_id))
    _changed(uow, account_id)


# Keywords


async def list_keywords(
    uow: UnitOfWork, account_id: int, filter_id: int
) -> list[entities.FilterKeyword]:
    row = await access_filter(uow, account_id, filter_id)
    keywords = await repository.keywords_of(uow.session, account_id, [row.id])
    return [keyword_entity(k) for k in keywords[row.id]]


async def add_keyword(
    uow: UnitOfWork, account_id: int, filter_id: int, keyword: str, whole_word: bool | None
) -> entities.FilterKeyword:
    row = await access_filter(uow, account_id, filter_id)
    present = (await repository.keywords_of(uow.session, account_id, [row.id]))[row.id]
    if len(present) >= MAX_KEYWORDS_PER_FILTER:
        raise ValidationFailed("keyword", f"at most {MAX_KEYWORDS_PER_FILTER} keywords per filter")
    created = _new_keyword(row, KeywordDraft(keyword=keyword, whole_word=whole_word))
    uow.session.add(created)
    await uow.session.flush()
    _changed(uow, account_id)
    return keyword_entity(created)


async def access_filter_keyword(uow: UnitOfWork, account_id: int, keyword_id: int) -> FilterKeyword:
    found = await repository.own_keyword(uow.session, account_id, keyword_id)
    if found is None:
        raise NotFound()
    return found


async def get_keyword(uow: UnitOfWork, account_id: int, keyword_id: int) -> entities.FilterKeyword:
    return keyword_entity(await access_filter_keyword(uow, account_id, keyword_id))


async def update_keyword(
    uow: UnitOfWork,
    account_id: int,
    keyword_id: int,
    keyword: str | None,
    whole_word: bool | None,
) -> entities.FilterKeyword:
    found = await access_filter_keyword(uow, account_id, keyword_id)
    if keyword is not None:
        found.keyword = keyword
    if whole_word is not None:
        found.whole_word = whole_word
    await uow.session.flush()
    _changed(uow, account_id)
    return keyword_entity(found)


async def delete_keyword(uow: UnitOfWork, account_id: int, keyword_id: int) -> None:
    await uow.session.delete(await access_filter_keyword(uow, account_id, keyword_id))
    await uow.session.flush()
    _changed(uow, account_id)


# Statuses


async def list_statuses(
    uow: UnitOfWork, account_id: int, filter_id: int
) -> list[entities.FilterStatus]:
    row = await access_filter(uow, account_id, filter_id)
    rows = await repository.statuses_of(uow.session, account_id, [row.id])
    return [status_entity(s) for s in rows[row.id]]


async def add_status(
    uow: UnitOfWork, account_id: int, filter_id: int, status_id: int
) -> entities.FilterStatus:
    row = await access_filter(uow, account_id, filter_id)
    if await statuses.readable_status(uow.session, account_id, status_id) is None:
        raise ValidationFailed("status_id", "is not a status you can see")
    present = (await repository.statuses_of(uow.session, account_id, [row.id]))[row.id]
    if any(s.status_id == status_id for s in present):
        raise ValidationFailed("status_id", "is already in this filter")
    if len(present) >= MAX_STATUSES_PER_FILTER:
        raise ValidationFailed(
            "status_id", f"at most {MAX_STATUSES_PER_FILTER} statuses per filter"
        )
    created = FilterStatus(
        id=new_id(), filter_id=row.id, account_id=account_id, status_id=status_id
    )
    try:
        async with uow.session.begin_nested():
            uow.session.add(created)
    except IntegrityError:  # a concurrent request added it first
        raise ValidationFailed("status_id", "is already in this filter") from None
    _changed(uow, account_id)
    return status_entity(created)


async def access_filter_status(uow: UnitOfWork, account_id: int, row_id: int) -> FilterStatus:
    found = await repository.own_status(uow.session, account_id, row_id)
    if found is None:
        raise NotFound()
    return found


async def get_status(uow: UnitOfWork, account_id: int, row_id: int) -> entities.FilterStatus:
    return status_entity(await access_filter_status(uow, account_id, row_id))


async def delete_status(uow: UnitOfWork, account_id: int, row_id: int) -> None:
    await uow.session.delete(await access_filter_status(uow, account_id, row_id))
    await uow.session.flush()
    _changed(uow, account_id)


# The v1 view: one filter per keyword (its id is the keyword's)


async def list_v1(uow: UnitOfWork, account_id: int) -> list[entities.V1Filter]:
    rows = await repository.filters_of(uow.session, account_id)
    keywords = await repository.keywords_of(uow.session, account_id, [r.id for r in rows])
    return [v1_filter_entity(row, k) for row in rows for k in keywords.get(row.id, [])]


async def _v1_pair(
    uow: UnitOfWork, account_id: int, keyword_id: int
) -> tuple[Filter, FilterKeyword]:
    keyword = await access_filter_keyword(uow, account_id, keyword_id)
    return await access_filter(uow, account_id, keyword.filter_id), keyword


async def get_v1(uow: UnitOfWork, account_id: int, keyword_id: int) -> entities.V1Filter:
    return v1_filter_entity(*await _v1_pair(uow, account_id, keyword_id))


async def create_v1(
    uow: UnitOfWork, account_id: int, draft: FilterDraft, whole_word: bool | None
) -> entities.V1Filter:
    keywords = [KeywordDraft(keyword=k.keyword, whole_word=whole_word) for k in draft.keywords]
    row = await create_filter(
        uow,
        account_id,
        FilterDraft(
            title=draft.title,
            context=draft.context,
            filter_action=draft.filter_action,
            expires_in=draft.expires_in,
            keywords=keywords,
        ),
    )
    created = (await repository.keywords_of(uow.session, account_id, [row.id]))[row.id][0]
    return v1_filter_entity(row, created)


async def update_v1(
    uow: UnitOfWork, account_id: int, keyword_id: int, draft: FilterDraft, whole_word: bool | None
) -> entities.V1Filter:
    """The keyword's phrase and whole_word; context, irreversible and expiry belong to its
    filter, which may change only when it has this one keyword (as Mastodon)."""
    row, keyword = await _v1_pair(uow, account_id, keyword_id)
    if draft.keywords:
        keyword.keyword = draft.keywords[0].keyword or keyword.keyword
    if whole_word is not None:
        keyword.whole_word = whole_word
    changes_filter = (
        draft.context is not None
        or draft.filter_action is not None
        or not isinstance(draft.expires_in, Unset)
    )
    if changes_filter:
        siblings = (await repository.keywords_of(uow.session, account_id, [row.id]))[row.id]
        if len(siblings) > 1:
            raise ValidationFailed(
                "id", "belongs to a filter with several keywords: edit it through /api/v2/filters"
            )
        _apply(
            row,
            FilterDraft(
                context=draft.context,
                filter_action=draft.filter_action,
                expires_in=draft.expires_in,
            ),
        )
    await uow.session.flush()
    _changed(uow, account_id)
    return v1_filter_entity(row, keyword)


async def delete_v1(uow: UnitOfWork, account_id: int, keyword_id: int) -> None:
    """Only the keyword goes (as Mastodon); its filter stays, with its other rules."""
    await delete_keyword(uow, account_id, keyword_id)


async def rules_of_many(
    session: AsyncSession, account_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    """Several accounts' filter rules at once (streaming recipients of one event)."""
    return await repository.rules_of_many(session, account_ids)
