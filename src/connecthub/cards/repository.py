"""All SQL of preview cards."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.cards.models import PreviewCard
from connecthub.infra.db import insert_once
from connecthub.statuses.models import Status


async def by_ids(session: AsyncSession, card_ids: Iterable[int]) -> dict[int, PreviewCard]:
    wanted = set(card_ids)
    if not wanted:
        return {}
    rows = await session.scalars(select(PreviewCard).where(PreviewCard.id.in_(wanted)))
    return {row.id: row for row in rows}


async def by_url(session: AsyncSession, url: str) -> PreviewCard | None:
    found: PreviewCard | None = await session.scalar(
        select(PreviewCard).where(PreviewCard.url == url)
    )
    return found


async def status_link_state(session: AsyncSession, status_id: int) -> tuple[str, int | None] | None:
    """The status' text and current card, or None when it is gone."""
    row = (
        await session.execute(
            select(Status.text, Status.preview_card_id).where(Status.id == status_id)
        )
    ).first()
    return (row.text, row.preview_card_id) if row is not None else None


async def add_card(session: AsyncSession, values: dict[str, Any]) -> int:
    """The card for `values["url"]`: inserted, or the one another job inserted first."""
    await insert_once(session, PreviewCard, values)
    card_id: int | None = await session.scalar(
        select(PreviewCard.id).where(PreviewCard.url == values["url"])
    )
    assert card_id is not None  # inserted now or before, never deleted
    return card_id


async def attach(session: AsyncSession, status_id: int, text: str, card_id: int) -> None:
    """Give the status its card unless it has one or its text is no longer `text` (an ORM
    UPDATE by id: the status' cached rendering is dropped after commit)."""
    await session.execute(
        update(Status)
        .where(Status.id == status_id, Status.preview_card_id.is_(None), Status.text == text)
        .values(preview_card_id=card_id)
    )
