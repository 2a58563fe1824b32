"""Notification rules. Other domains call `notify` (one recipient) or `notify_many` (any
number, at a fixed cost) inside their unit of work; a notification is recorded once (the
unique key makes repeats no-ops) and published to the recipient's stream after commit,
rendered for each recipient (their filters, their flags on the status) before it."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from connecthub import channels, entities
from connecthub.clock import utcnow
from connecthub.core.pagination import NO_ID_ABOVE, Page
from connecthub.errors import NotFound
from connecthub.ids import new_id
from connecthub.infra.uow import UnitOfWork
from connecthub.notifications import grouping, policy, repository, requests_repository
from connecthub.notifications.models import Notification
from connecthub.notifications.repository import Filters as Filters  # the endpoints' query
from connecthub.notifications.repository import NotificationView, Row
from connecthub.notifications.serializers import (
    grouped_results,
    notification_entities,
    notification_page,
    sender_entities,
)
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
    # Mastodon 4.3: a strike (strikes/), sent by the account to itself as Mastodon does.
    MODERATION_WARNING = "moderation_warning"
    ADMIN_REPORT = "admin.report"
    # ConnectHub's own: the reporter's report was resolved (ADR 0035).
    REPORT_RESOLVED = "report_resolved"


# A poll's author is told that their own poll ended, and a struck account of its strike.
_TO_ONESELF = frozenset({NotificationType.POLL, NotificationType.MODERATION_WARNING})

TYPES = frozenset(t.value for t in NotificationType)
# Types left out of lists and streams unless a client names them in `types[]`: clients that
# do not know them would show them as something else, or not at all.
OPT_IN_TYPES = frozenset({NotificationType.REPORT_RESOLVED.value})


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
    mutes the sender (or is blocked by them), may not read the status or muted its thread;
    after commit, publish it to the recipient's stream."""
    if recipient_id == from_account_id and type not in _TO_ONESELF:
        return
    session = uow.session
    now = utcnow()
    prefix = grouping.key_prefix(type, status_id)
    candidates = grouping.reusable_keys(prefix, now) if prefix is not None else []
    permit = await repository.may_notify(
        session, recipient_id, from_account_id, status_id, candidates, type=type
    )
    if permit is None or permit.choice == policy.Choice.DROP:
        return
    filtered = permit.choice == policy.Choice.FILTER
    notification = Notification(
        id=new_id(),
        account_id=recipient_id,
        from_account_id=from_account_id,
        type=str(type),
        activity_id=activity_id,
        status_id=status_id,
        created_at=now,
        group_key=None
        if prefix is None
        else grouping.group_key(prefix, now, permit.previous_group_key),
        filtered=filtered,
    )
    if not await repository.insert_once(session, notification):
        return
    if filtered:
        # Held back: no push, no event; a mention waits in the sender's request.
        await requests_repository.record_filtered(session, [notification])
        return
    if permit.has_push:
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
    published after commit (callers with an unbounded audience run this in a job). Only
    for types that never group (mentions, posts, edits): a grouped type goes through
    `notify`, which finds the recipient's group."""
    if grouping.key_prefix(type, status_id) is not None:
        raise ValueError(f"{type} notifications group: make them with notify")
    recipients = [r for r in dict.fromkeys(recipient_ids) if r != from_account_id]
    session = uow.session
    verdicts = await repository.notifiable(
        session, recipients, from_account_id, status_id, type=type
    )
    verdicts = [v for v in verdicts if v.choice != policy.Choice.DROP]
    held_back = {v.recipient_id for v in verdicts if v.choice == policy.Choice.FILTER}
    pushed_to = {v.recipient_id for v in verdicts if v.has_push and v.recipient_id not in held_back}
    now = utcnow()
    notifications = [
        Notification(
            id=new_id(),
            account_id=v.recipient_id,
            from_account_id=from_account_id,
            type=str(type),
            activity_id=activity_id,
            status_id=status_id,
            created_at=now,
            filtered=v.recipient_id in held_back,
        )
        for v in verdicts
    ]
    created = set(await repository.insert_many_once(session, notifications))
    new = [n for n in notifications if n.id in created]
    if pushed_to:
        push.queue_pushes(uow, [n.id for n in new if n.account_id in pushed_to])
    # Held back: no push, no event; mentions wait in their senders' requests.
    await requests_repository.record_filtered(session, [n for n in new if n.filtered])
    await publish(uow, [n.id for n in new if not n.filtered])


async def notify_moderation(
    uow: UnitOfWork,
    *,
    recipient_ids: list[int],
    from_account_id: int,
    type: NotificationType,
    report_id: int,
) -> None:
    """A report's notices: `admin.report` to moderators, `report_resolved` to its reporter.
    No block, mute or readability check stops them (a moderator who muted a reporter still
    learns of the report); once per recipient and report (the unique key); never pushed;
    streamed unless the type is opt-in."""
    now = utcnow()
    notifications = [
        Notification(
            id=new_id(),
            account_id=recipient_id,
            from_account_id=from_account_id,
            type=str(type),
            activity_id=report_id,
            status_id=None,
            created_at=now,
        )
        for recipient_id in dict.fromkeys(recipient_ids)
    ]
    if not notifications:
        return
    created = await repository.insert_many_once(uow.session, notifications)
    if type.value not in OPT_IN_TYPES:
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


# Grouped notifications (API v2): a group shows its eight newest accounts, as Mastodon's.
SAMPLE_ACCOUNTS_SIZE = 8


def _page_range(views: list[NotificationView], page: Page) -> tuple[int, int]:
    """The ids a page of groups spans, as Mastodon reckons it: from its oldest to its
    newest group; a short page (the last one that way) reaches to the cursor's far end."""
    begin, end = views[-1].id, views[0].id
    if len(views) < page.limit:
        if page.ascending:
            end = NO_ID_ABOVE if page.max_id is None else page.max_id - 1
        else:
            begin = 0 if page.since_id is None else page.since_id + 1
    return begin, end


async def grouped_page(
    uow: UnitOfWork,
    viewer_id: int,
    filters: Filters,
    grouped_types: Sequence[str],
    page: Page,
    *,
    partial_avatars: bool,
) -> tuple[list[NotificationView], entities.GroupedNotificationsResults]:
    """A page of the viewer's notification groups (newest first) and its results: the v1
    list's notifications (same filters, same visibility), one group per key. Statements,
    whatever the page size: the page, the groups' newest members, then what
    `grouped_results` loads (five in all once the statuses' renderings are cached)."""
    session = uow.session
    views = await repository.group_page_views(session, viewer_id, filters, grouped_types, page)
    members: list[repository.GroupMember] = []
    stored = [
        v.group_key
        for v in views
        if v.group_key is not None and grouping.ungrouped_id(v.group_key) is None
    ]
    if stored:
        begin, end = _page_range(views, page)
        members = await repository.group_members(
            session, viewer_id, stored, SAMPLE_ACCOUNTS_SIZE, begin, end
        )
    results = await grouped_results(
        session,
        views,
        members,
        viewer_id,
        uow.engines.settings,
        partial_avatars=partial_avatars,
        paginated=True,
    )
    return views, results


async def group(
    uow: UnitOfWork, viewer_id: int, group_key: str
) -> entities.GroupedNotificationsResults:
    """One group by its key (`ungrouped-<id>` names one notification, which answers as
    the group it belongs to). 404 when the viewer has no visible notification in it."""
    session = uow.session
    view = await repository.newest_in_group(session, viewer_id, group_key)
    if view is None:
        raise NotFound()
    stored = view.group_key if view.type in grouping.GROUPABLE_TYPES else None
    view = view._replace(group_key=stored or grouping.ungrouped_key(view.id))
    members = []
    if stored is not None:
        members = await repository.group_members(session, viewer_id, [stored], SAMPLE_ACCOUNTS_SIZE)
    # One group by key is shown even when a filter hides it from the list, as one
    # notification by id is.
    return await grouped_results(
        session,
        [view],
        members,
        viewer_id,
        uow.engines.settings,
        partial_avatars=False,
        paginated=False,
        context=None,
    )


async def group_accounts(
    uow: UnitOfWork, viewer_id: int, group_key: str, page: Page
) -> tuple[list[Row], list[entities.Account]]:
    """The senders of a group's notifications, newest first, a page of them (the rows
    carry the notification ids the Link header pages by)."""
    rows = await repository.group_rows(uow.session, viewer_id, group_key, page)
    return rows, await sender_entities(uow.session, uow.engines.settings, rows)


async def dismiss_group(uow: UnitOfWork, viewer_id: int, group_key: str) -> None:
    """Dismiss every notification of a group (none: nothing to do, as Mastodon)."""
    await repository.dismiss_group(uow.session, viewer_id, group_key)


async def unread_group_count(
    uow: UnitOfWork, viewer_id: int, filters: Filters, grouped_types: Sequence[str], limit: int
) -> int:
    """Groups with a notification newer than the caller's `notifications` read marker."""
    after = await repository.last_read_id(uow.session, viewer_id)
    return await repository.count_groups_after(
        uow.session, viewer_id, filters, grouped_types, after, limit
    )


async def for_push(uow: UnitOfWork, notification_id: int) -> Row | None:
    """The notification with its sender, while its recipient may still see it (a push
    runs after the fact: the sender may be blocked or the status deleted since)."""
    rows = await repository.rows_by_id(uow.session, [notification_id])
    if not rows:
        return None
    recipient_id = rows[0].notification.account_id
    return await repository.one(uow.session, recipient_id, notification_id)
