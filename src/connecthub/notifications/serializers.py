"""The one converter from notification rows to Mastodon's Notification entity."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import entities
from connecthub.accounts.serializers import account_entity
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.emojis import service as emojis
from connecthub.notifications import repository
from connecthub.notifications.grouping import ungrouped_key
from connecthub.notifications.repository import GroupMember, NotificationView, Row
from connecthub.reports.serializers import report_entity
from connecthub.statuses.entity_bytes import refs, status_bytes
from connecthub.statuses.serializers import render_accounts, status_entities
from connecthub.strikes.serializers import warnings_by_id

# Types whose entity carries the status that caused them.
STATUS_TYPES = frozenset({"mention", "status", "reblog", "favourite", "poll", "update"})
# The type whose entity carries the strike (`activity_id`) that caused it.
WARNING_TYPE = "moderation_warning"


async def _warnings(
    session: AsyncSession, settings: Settings, typed_activities: Iterable[tuple[str, int]]
) -> dict[int, entities.AccountWarning]:
    """The strikes of the `moderation_warning` notifications among (type, activity id)
    pairs: no query when there are none."""
    ids = {activity_id for type, activity_id in typed_activities if type == WARNING_TYPE}
    return await warnings_by_id(session, settings, ids) if ids else {}


# Types whose entity carries the report that caused them (its id is the activity id).
REPORT_TYPES = frozenset({"admin.report", "report_resolved"})


@dataclass(frozen=True)
class _Statuses:
    """The statuses of some notifications, rendered for their viewer."""

    found: frozenset[int]
    rendered: dict[int, entities.Status]

    def hides(self, type: str, status_id: int | None) -> bool:
        """Whether a notification of `type` about `status_id` is left out: its status
        exists but the viewer's `hide` filters leave it out (in the context asked for)."""
        return type in STATUS_TYPES and status_id in self.found and status_id not in self.rendered


async def _statuses(
    session: AsyncSession,
    status_ids: Iterable[int | None],
    viewer_id: int,
    settings: Settings,
    context: str | None,
) -> _Statuses:
    statuses = await repository.statuses_by_id(session, {i for i in status_ids if i is not None})
    rendered = {
        int(entity["id"]): entity
        for entity in await status_entities(
            session, list(statuses.values()), viewer_id, settings, context=context
        )
    }
    return _Statuses(frozenset(statuses), rendered)


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
    statuses = await _statuses(
        session, [r.notification.status_id for r in rows], viewer_id, settings, context
    )
    senders = [text for r in rows for text in (r.sender.display_name, r.sender.note)]
    used = await emojis.used_in(session, settings, senders)
    warnings = await _warnings(
        session, settings, ((r.notification.type, r.notification.activity_id) for r in rows)
    )
    reports = await _reports(session, settings, rows)
    found: list[entities.Notification] = []
    for row in rows:
        notification = row.notification
        status = statuses.rendered.get(notification.status_id or 0)
        if notification.type in STATUS_TYPES and status is None:
            # Hidden by the viewer's filters, or gone: Mastodon shows no such notification
            # (its `status` is never null).
            continue
        warning = warnings.get(notification.activity_id)
        if notification.type == WARNING_TYPE and warning is None:
            continue
        report = reports.get(notification.activity_id)
        if notification.type in REPORT_TYPES and report is None:
            continue  # the report is gone with its target account
        entity: entities.Notification = {
            "id": str(notification.id),
            "type": notification.type,
            "created_at": iso(notification.created_at),
            "group_key": notification.group_key or ungrouped_key(notification.id),
            "account": account_entity(settings, row.sender, row.sender_role, used),
        }
        if notification.type in STATUS_TYPES and status is not None:
            entity["status"] = status
        if warning is not None and notification.type == WARNING_TYPE:
            entity["moderation_warning"] = warning
        if notification.type in REPORT_TYPES and report is not None:
            entity["report"] = report
        found.append(entity)
    return found


async def _reports(
    session: AsyncSession, settings: Settings, rows: Sequence[Row]
) -> dict[int, entities.Report]:
    """The reports of the report notices among `rows`, as their reporter sees a report (the
    Report entity: never who handled it or how), by id, in one query."""
    wanted = {r.notification.activity_id for r in rows if r.notification.type in REPORT_TYPES}
    found = await repository.reports_by_id(session, wanted)
    return {
        report.id: report_entity(settings, report, target, role) for report, target, role in found
    }


async def notification_page(
    session: AsyncSession, views: Sequence[NotificationView], viewer_id: int, settings: Settings
) -> bytes:
    """The JSON array `notification_entities` would give for `views` (newest first), written
    as bytes: senders and statuses from the entity cache, spliced as the timelines splice
    them (statuses/entity_bytes.py); tests/notifications/test_page_bytes.py holds the two
    equal."""
    if not views:
        return b"[]"
    if any(view.type in REPORT_TYPES for view in views):
        # Report notices are few (moderators, reporters): rendered as entities.
        return await _entity_page(session, views, viewer_id, settings)
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
        return await _entity_page(session, views, viewer_id, settings)
    warnings = await _warnings(session, settings, ((v.type, v.activity_id) for v in views))
    parts: list[bytes] = []
    for view in views:
        status = written.statuses.get(view.status_id) if view.status_id is not None else None
        with_status = view.type in STATUS_TYPES
        if with_status and status is None:
            continue  # hidden by the viewer's filters, or gone (as notification_entities)
        head_fields: dict[str, object] = {
            "id": str(view.id),
            "type": view.type,
            "created_at": iso(view.created_at),
            "group_key": view.group_key or ungrouped_key(view.id),
        }
        if view.type == WARNING_TYPE:
            if view.activity_id not in warnings:
                continue  # its strike is gone (as notification_entities)
            head_fields["moderation_warning"] = warnings[view.activity_id]
        head = orjson.dumps(head_fields)
        part = head[:-1] + b',"account":' + written.accounts[view.from_account_id]
        if with_status and status is not None:
            part += b',"status":' + status
        parts.append(part + b"}")
    return b"[" + b",".join(parts) + b"]"


async def _entity_page(
    session: AsyncSession, views: Sequence[NotificationView], viewer_id: int, settings: Settings
) -> bytes:
    rows = await repository.rows_by_id(session, [v.id for v in views])
    by_id = {row.notification.id: row for row in rows}
    ordered = [by_id[v.id] for v in views if v.id in by_id]
    return orjson.dumps(await notification_entities(session, ordered, viewer_id, settings))


async def grouped_results(
    session: AsyncSession,
    views: Sequence[NotificationView],
    members: Sequence[GroupMember],
    viewer_id: int,
    settings: Settings,
    *,
    partial_avatars: bool,
    paginated: bool,
    context: str | None = "notifications",
) -> entities.GroupedNotificationsResults:
    """GroupedNotificationsResults for groups (`views`: the notification that stands for
    each, keyed by the group key the read used) and `members` (the newest notifications of
    the stored groups among them: repository.group_members). Every account and status once
    (two queries: the accounts, the statuses, plus what `status_entities` loads for a
    list); groups whose status the viewer's `hide` filters leave out are left out, as the
    v1 list leaves their notifications out."""
    by_key: dict[str, list[GroupMember]] = {}
    for member in members:
        by_key.setdefault(member.group_key, []).append(member)
    statuses = await _statuses(session, [v.status_id for v in views], viewer_id, settings, context)
    warnings = await _warnings(session, settings, ((v.type, v.activity_id) for v in views))
    reports = await _view_reports(session, settings, views)
    groups: list[entities.NotificationGroup] = []
    samples: list[list[int]] = []
    for view in views:
        if statuses.hides(view.type, view.status_id):
            continue
        if view.type == WARNING_TYPE and view.activity_id not in warnings:
            continue
        newest = by_key.get(view.group_key or "", [])
        sample = [m.from_account_id for m in newest] or [view.from_account_id]
        group = _group_entity(view, newest, sample, statuses, paginated)
        if view.type == WARNING_TYPE:
            group["moderation_warning"] = warnings[view.activity_id]
        if view.id in reports:
            group["report"] = reports[view.id]
        groups.append(group)
        samples.append(sample)
    status_ids = [int(i) for g in groups if (i := g.get("status_id")) is not None]
    full_ids = [s[0] for s in samples] if partial_avatars else [i for s in samples for i in s]
    full_ids = list(dict.fromkeys(full_ids))
    partial_ids = (
        [i for s in samples for i in s[1:] if i not in full_ids] if partial_avatars else []
    )
    partial_ids = list(dict.fromkeys(partial_ids))
    wanted = {*full_ids, *partial_ids}
    rendered = await render_accounts(session, settings, wanted) if wanted else {}
    results: entities.GroupedNotificationsResults = {
        "accounts": [rendered[i] for i in full_ids if i in rendered],
        "statuses": [statuses.rendered[i] for i in dict.fromkeys(status_ids)],
        "notification_groups": groups,
    }
    if partial_avatars:
        results["partial_accounts"] = [_partial(rendered[i]) for i in partial_ids if i in rendered]
    return results


async def _view_reports(
    session: AsyncSession, settings: Settings, views: Sequence[NotificationView]
) -> dict[int, entities.Report]:
    """The report of each report notice among `views`, by notification id (two queries,
    only when there is one)."""
    wanted = [v.id for v in views if v.type in REPORT_TYPES]
    if not wanted:
        return {}
    report_ids = await repository.activity_ids(session, wanted)
    found = await repository.reports_by_id(session, set(report_ids.values()))
    rendered = {r.id: report_entity(settings, r, target, role) for r, target, role in found}
    return {
        notification_id: rendered[report_id]
        for notification_id, report_id in report_ids.items()
        if report_id in rendered
    }


def _group_entity(
    view: NotificationView,
    newest: Sequence[GroupMember],
    sample: list[int],
    statuses: _Statuses,
    paginated: bool,
) -> entities.NotificationGroup:
    """One NotificationGroup: a stored group's figures from its `newest` members, or the
    one notification `view` is (`ungrouped-<id>`)."""
    latest = newest[0] if newest else None
    group: entities.NotificationGroup = {
        "group_key": view.group_key or ungrouped_key(view.id),
        "notifications_count": latest.size if latest else 1,
        "type": view.type,
        "most_recent_notification_id": str(latest.id if latest else view.id),
        "sample_account_ids": [str(i) for i in sample],
    }
    if paginated:
        page_min = latest.page_min_id if latest else None
        group["page_min_id"] = str(page_min if page_min is not None else view.id)
        group["page_max_id"] = group["most_recent_notification_id"]
        group["latest_page_notification_at"] = iso(latest.created_at if latest else view.created_at)
    if view.type in STATUS_TYPES:
        shown = view.status_id in statuses.rendered
        group["status_id"] = str(view.status_id) if shown else None
    return group


def _partial(account: entities.Account) -> entities.PartialAccountWithAvatar:
    return {
        "id": account["id"],
        "acct": account["acct"],
        "url": account["url"],
        "avatar": account["avatar"],
        "avatar_static": account["avatar_static"],
        "locked": account["locked"],
        "bot": account["bot"],
    }


async def sender_entities(
    session: AsyncSession, settings: Settings, rows: Sequence[Row]
) -> list[entities.Account]:
    """The senders of `rows`, in order (a group's accounts), with their profiles' emojis."""
    used = await emojis.of_profiles(session, settings, [row.sender for row in rows])
    return [account_entity(settings, row.sender, row.sender_role, used) for row in rows]
