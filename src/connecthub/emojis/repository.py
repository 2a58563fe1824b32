"""SQL of the custom emoji domain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.emojis.models import CustomEmoji


async def with_shortcodes(
    session: AsyncSession, shortcodes: Iterable[str]
) -> Sequence[CustomEmoji]:
    wanted = sorted(set(shortcodes))
    if not wanted:
        return []
    return (
        await session.scalars(select(CustomEmoji).where(CustomEmoji.shortcode.in_(wanted)))
    ).all()


async def everything(session: AsyncSession, *, listed_only: bool) -> Sequence[CustomEmoji]:
    statement = select(CustomEmoji).order_by(CustomEmoji.shortcode)
    if listed_only:
        statement = statement.where(CustomEmoji.visible_in_picker.is_(True))
    return (await session.scalars(statement)).all()


async def get(
    session: AsyncSession, emoji_id: int, *, for_update: bool = False
) -> CustomEmoji | None:
    statement = select(CustomEmoji).where(CustomEmoji.id == emoji_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).first()
