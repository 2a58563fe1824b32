"""The one converter from notification rows to Mastodon's Notification entity."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import entities
from connecthub.accounts.serializers import account_entity
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.notifications import repository
from connecthub.notifications.repository import Row
from connecthub.statuses.serializers import status_entities

# Types whose entity carries the status that caused them.
STATUS_TYPES = frozenset({"mention", "status", "reblog", "favourite", "poll", "update"})


async def notification_entities(
    session: AsyncSession,
    rows: Sequence[Row],
    viewer_id: int,
    settings: Settings,
    *,
    context: str | None = "notifications",
) -> list[entities.Notification]:
    """Entities for `rows` in the same order; statuses are batch-loaded (a fixed number of
    queries whatever the page size). Callers pass only rows the viewer may see. A
    notification whose status the viewer's `hide` filters leave out (in `context`) is left
    out too."""
    status_ids = {r.notification.status_id for r in rows}
    statuses = await repository.statuses_by_id(session, {i for i in status_ids if i is not None})
    ordered = list(statuses.values())
    rendered = {
        int(entity["id"]): entity
        for entity in await status_entities(session, ordered, viewer_id, settings, context=context)
    }
    found: list[entities.Notification] = []
    for row in rows:
        notification = row.notification
        hidden = notification.status_id in statuses and notification.status_id not in rendered
        if hidden and notification.type in STATUS_TYPES:
            continue
        entity: entities.Notification = {
            "id": str(notification.id),
            "type": notification.type,
            "created_at": iso(notification.created_at),
            "group_key": f"ungrouped-{notification.id}",
            "account": account_entity(settings, row.sender, row.sender_role),
        }
        if notification.type in STATUS_TYPES:
            entity["status"] = rendered.get(notification.status_id or 0)
        found.append(entity)
    return found
