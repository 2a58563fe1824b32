"""The one converter to Mastodon's NotificationPolicy (v2 and v1 shapes) and
NotificationRequest entities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import entities
from connecthub.accounts.serializers import account_entity
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.emojis import service as emojis
from connecthub.notifications import repository
from connecthub.notifications.policy import Choice
from connecthub.notifications.requests_repository import RequestRow
from connecthub.statuses.serializers import status_entities


def policy_entity(
    choices: Mapping[str, str], summary: entities.NotificationPolicySummary
) -> entities.NotificationPolicy:
    return {
        "for_not_following": choices["for_not_following"],
        "for_not_followers": choices["for_not_followers"],
        "for_new_accounts": choices["for_new_accounts"],
        "for_private_mentions": choices["for_private_mentions"],
        "for_limited_accounts": choices["for_limited_accounts"],
        "summary": summary,
    }


def v1_policy_entity(
    choices: Mapping[str, str], summary: entities.NotificationPolicySummary
) -> entities.V1NotificationPolicy:
    # Anything but accept (filter or drop) holds that kind of sender back: true.
    return {
        "filter_not_following": choices["for_not_following"] != Choice.ACCEPT,
        "filter_not_followers": choices["for_not_followers"] != Choice.ACCEPT,
        "filter_new_accounts": choices["for_new_accounts"] != Choice.ACCEPT,
        "filter_private_mentions": choices["for_private_mentions"] != Choice.ACCEPT,
        "summary": summary,
    }


async def request_entities(
    session: AsyncSession, rows: Sequence[RequestRow], viewer_id: int, settings: Settings
) -> list[entities.NotificationRequest]:
    """Entities for `rows`, in order: senders and last statuses batch-loaded."""
    wanted = {r.request.last_status_id for r in rows if r.request.last_status_id is not None}
    statuses = await repository.statuses_by_id(session, wanted)
    rendered = {
        int(entity["id"]): entity
        for entity in await status_entities(session, list(statuses.values()), viewer_id, settings)
    }
    used = await emojis.of_profiles(session, settings, [r.sender for r in rows])
    found: list[entities.NotificationRequest] = []
    for row in rows:
        request = row.request
        found.append(
            {
                "id": str(request.id),
                "created_at": iso(request.created_at),
                "updated_at": iso(request.updated_at),
                "account": account_entity(settings, row.sender, row.sender_role, used),
                "notifications_count": str(row.notifications_count),
                "last_status": rendered.get(request.last_status_id or 0),
            }
        )
    return found
