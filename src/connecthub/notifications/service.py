"""Notification rules. INTERFACE STUB: the notifications work fills this in; other domains
call `notify` inside their unit of work."""

from __future__ import annotations

from enum import StrEnum

from connecthub.infra.uow import UnitOfWork


class NotificationType(StrEnum):
    MENTION = "mention"
    STATUS = "status"
    REBLOG = "reblog"
    FOLLOW = "follow"
    FOLLOW_REQUEST = "follow_request"
    FAVOURITE = "favourite"
    POLL = "poll"
    UPDATE = "update"


async def notify(
    uow: UnitOfWork,
    *,
    recipient_id: int,
    from_account_id: int,
    type: NotificationType,
    activity_id: int = 0,
    status_id: int | None = None,
) -> None:
    """Record a notification (once: repeats are ignored) unless the recipient blocks or
    mutes the sender; after commit, publish it to the recipient's stream."""
