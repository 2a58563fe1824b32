"""The one converter from notification rows to Mastodon's Notification entity."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import entities
from connecthub.accounts.serializers import account_entity
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.notifications import repository
from connecthub.notifications.repository import NotificationView, Row
from connecthub.statuses.entity_bytes import refs, status_bytes
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
        status = rendered.get(notification.status_id or 0)
        if notification.type in STATUS_TYPES and status is None:
            # Hidden by the viewer's filters, or gone: Mastodon shows no such notification
            # (its `status` is never null).
            continue
        entity: entities.Notification = {
            "id": str(notification.id),
            "type": notification.type,
            "created_at": iso(notification.created_at),
            "group_key": f"ungrouped-{notification.id}",
            "account": account_entity(settings, row.sender, row.sender_role),
        }
        if notification.type in STATUS_TYPES and status is not None:
            entity["status"] = status
        found.append(entity)
    return found


async def notification_page(
    session: AsyncSession, views: Sequence[NotificationView], viewer_id: int, settings: Settings
) -> bytes:
    """The JSON array `notification_entities` would give for `views` (newest first), written
    as bytes: senders and statuses from the entity cache, spliced as the timelines splice
    them (statuses/entity_bytes.py); tests/notifications/test_page_bytes.py holds the two
    equal."""
    if not views:
        return b"[]"
    found = await refs(session, sorted({v.status_id for v in views if v.status_id is not None}))
    senders = sorted({v.from_account_id for v in views})
    written = await status_bytes(
        session,
        list(found.values()),
        viewer_id,
        settings,
        context="notifications",
        accounts_too=senders,
    )
    if written is None:  # uncommitted changes in this session: render from its own rows
        rows = await repository.rows_by_id(session, [v.id for v in views])
        by_id = {row.notification.id: row for row in rows}
        ordered = [by_id[v.id] for v in views if v.id in by_id]
        return orjson.dumps(await notification_entities(session, ordered, viewer_id, settings))
    parts: list[bytes] = []
    for view in views:
        status = written.statuses.get(view.status_id) if view.status_id is not None else None
        with_status = view.type in STATUS_TYPES
        if with_status and status is None:
            continue  # hidden by the viewer's filters, or gone (as notification_entities)
        head = orjson.dumps(
            {
                "id": str(view.id),
                "type": view.type,
                "created_at": iso(view.created_at),
                "group_key": f"ungrouped-{view.id}",
            }
        )
        part = head[:-1] + b',"account":' + written.accounts[view.from_account_id]
        if with_status and status is not None:
            part += b',"status":' + status
        parts.append(part + b"}")
    return b"[" + b",".join(parts) + b"]"
