"""The one converter from a participant's conversation rows to Mastodon's Conversation."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import entities
from connecthub.accounts.serializers import account_entity
from connecthub.config import Settings
from connecthub.conversations import repository
from connecthub.conversations.models import AccountConversation
from connecthub.emojis import service as emojis
from connecthub.statuses.models import Status
from connecthub.statuses.serializers import status_entities


async def conversation_entities(
    session: AsyncSession,
    rows: Sequence[tuple[AccountConversation, Status | None]],
    viewer_id: int,
    settings: Settings,
) -> list[entities.Conversation]:
    """Entities in the given order, batch-loaded: one query for every participant, and the
    statuses converter's fixed number for the last statuses."""
    wanted = {viewer_id} | {i for row, _ in rows for i in row.participant_account_ids}
    accounts = await repository.accounts_by_id(session, wanted)
    statuses = [status for _, status in rows if status is not None]
    rendered = dict(
        zip(
            (s.id for s in statuses),
            await status_entities(session, statuses, viewer_id, settings),
            strict=True,
        )
    )
    used = await emojis.of_profiles(session, settings, [a for a, _role in accounts.values()])
    found: list[entities.Conversation] = []
    for row, status in rows:
        others = [accounts[i] for i in row.participant_account_ids if i in accounts]
        if not others and viewer_id in accounts:  # a note to oneself lists oneself
            others = [accounts[viewer_id]]
        found.append(
            {
                "id": str(row.id),
                "unread": row.unread,
                "accounts": [account_entity(settings, a, role, used) for a, role in others],
                "last_status": rendered.get(status.id) if status is not None else None,
            }
        )
    return found
