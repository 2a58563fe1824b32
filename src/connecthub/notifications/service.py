"""Notification rules. Other domains call `notify` (one recipient) or `notify_many` (any
number, at a fixed cost) inside their unit of work; a notification is recorded once (the
unique key makes repeats no-ops) and published to the recipient's stream after commit,
rendered for each recipient (their filters, their flags on the status) before it."""

from __future__ import annotations

from enum import StrEnum

from connecthub import channels, entities
from connecthub.clock import utcnow
from connecthub.core.pagination import Page
from connecthub.errors import NotFound
from connecthub.ids import new_id
from connecthub.infra.uow import UnitOfWork
from connecthub.notifications import repository
from connecthub.notifications.models import Notification
from connecthub.notifications.repository import Filters as Filters  # the endpoints' query
from connecthub.notifications.repository import NotificationView, Row
from connecthub.notifications.serializers import notification_entities, notification_page
from connecthub.push import service as push

UNREAD_COUNT_DEFAULT = 100
UNREAD_COUNT_MAX = 1000


class NotificationType(StrEnum):
    MENTION = "mention"
    STATUS = "status"
    REBLOG = "reblog"
    FOLLOW = "follow"
    FOLLOW_REQUEST = "follow_request"
    FAVOURITE = "favourite"
    POLL = "poll"
    UPDATE = "update"


TYPES = frozenset(t.value for t in NotificationType)


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
    mutes the sender (or is blocked by them), or may not read the status; after commit,
    publish it to the recipient's stream."""
    # A poll's author is told that their own poll ended, as Mastodon does.
    if recipient_id == from_account_id and type != NotificationType.POLL:
        return
    session = uow.session
    verdict = await repository.may_notify(session, recipient_id, from_account_id, status_id)
    if not verdict.allowed:
        return
    notification = Notification(
        id=new_id(),
        account_id=recipient_id,
        from_account_id=from_account_id,
        type=str(type),
        activity_id=activity_id,
        status_id=status_id,
        created_at=utcnow(),
    )
    if not await repository.insert_once(session, notification):
        return
    if verdict.has_push:
        push.queue_pushes(uow, [notification.id])
    # Rendered now, inside the transaction, so the event is what the API would return.
    row = await repository.sender_row(session, notification)
    settings = uow.engines.settings
    for entity in await notification_entities(session, [row], recipient_id, settings):
        event = channels.envelope(channels.NOTIFICATION, entity)
        channels.send_on_commit(uow, event, channels.to_accounts([recipient_id]))


async def notify_many(
    uow: UnitOfWork,
    *,
    recipient_ids: list[int],
    from_account_id: int,
    type: NotificationType,
    activity_id: int = 0,
    status_id: int | None = None,
) -> None:
    """`notify` for many recipients: which of them may be notified in one query, the
    notifications in one insert; then each new one is rendered for its recipient, to be
    published after commit (callers with an unbounded audience run this in a job)."""
    recipients = [r for r in dict.fromkeys(recipient_ids) if r != from_account_id]
    session = uow.session
    verdicts = await repository.notifiable(session, recipients, from_account_id, status_id)
    pushed_to = {recipient_id for recipient_id, has_push in verdicts if has_push}
    now = utcnow()
    notifications = [
        Notification(
            id=new_id(),
            account_id=recipient_id,
            from_account_id=from_account_id,
            type=str(type),
            activity_id=activity_id,
            status_id=status_id,
            created_at=now,
        )
        for recipient_id, _ in verdicts
    ]
    created = await repository.insert_many_once(session, notifications)
    if pushed_to:
        new = set(created)
        push.queue_pushes(
            uow, [n.id for n in notifications if n.id in new and n.account_id in pushed_to]
        )
    await publish(uow, created)


async def publish(uow: UnitOfWork, notification_ids: list[int]) -> None:
    """Render each notification for its recipient, as the API would return it, and
    publish it to their stream after commit."""
    if not notification_ids:
        return
    rows = await repository.rows_by_id(uow.session, notification_ids)
    by_recipient: dict[int, list[Row]] = {}
    for row in rows:
        by_recipient.setdefault(row.notification.account_id, []).append(row)
    settings = uow.engines.settings
    for recipient_id, own in by_recipient.items():
        for entity in await notification_entities(uow.session, own, recipient_id, settings):
            event = channels.envelope(channels.NOTIFICATION, entity)
            channels.send_on_commit(uow, event, channels.to_accounts([recipient_id]))


async def page(
    uow: UnitOfWork, viewer_id: int, filters: Filters, page: Page
) -> tuple[list[NotificationView], bytes]:
    """One page of the viewer's notifications (newest first) and its JSON array."""
    views = await repository.page_views(uow.session, viewer_id, filters, page)
    body = await notification_page(uow.session, views, viewer_id, uow.engines.settings)
    return views, body


async def one(uow: UnitOfWork, viewer_id: int, notification_id: int) -> entities.Notification:
    row = await repository.one(uow.session, viewer_id, notification_id)
    if row is None:
        raise NotFound()
    # One notification by id is shown even when a filter hides it from the list (marked).
    settings = uow.engines.settings
    return (await notification_entities(uow.session, [row], viewer_id, settings, context=None))[0]


async def dismiss(uow: UnitOfWork, viewer_id: int, notification_id: int) -> None:
    if not await repository.dismiss(uow.session, viewer_id, notification_id):
        raise NotFound()


async def clear(uow: UnitOfWork, viewer_id: int) -> None:
    await repository.clear(uow.session, viewer_id)


async def unread_count(uow: UnitOfWork, viewer_id: int, filters: Filters, limit: int) -> int:
    """Notifications newer than the caller's `notifications` read marker."""
    after = await repository.last_read_id(uow.session, viewer_id)
    return await repository.count_after(uow.session, viewer_id, filters, after, limit)


async def for_push(uow: UnitOfWork, notification_id: int) -> Row | None:
    """The notification with its sender, while its recipient may still see it (a push
    runs after the fact: the sender may be blocked or the status deleted since)."""
    rows = await repository.rows_by_id(uow.session, [notification_id])
    if not rows:
        return None
    recipient_id = rows[0].notification.account_id
    return await repository.one(uow.session, recipient_id, notification_id)
