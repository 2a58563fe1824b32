"""The notification policy and its requests (Mastodon 4.3): reading and changing the
policy (v2 choices, and the v1 booleans over the same row), and the requests of senders
whose mentions the policy filtered: list, accept (their notifications join the list and
later ones pass), dismiss (their filtered notifications go). Accepting and dismissing
happen in the request's transaction, so `merged` is always true."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from connecthub import entities
from connecthub.core.pagination import Page
from connecthub.errors import NotFound, ValidationFailed
from connecthub.infra.uow import UnitOfWork
from connecthub.notifications import policy, requests_repository
from connecthub.notifications.request_serializers import (
    policy_entity,
    request_entities,
    v1_policy_entity,
)
from connecthub.notifications.requests_repository import RequestRow

# The v1 route's booleans and the v2 field each one stands for.
V1_FIELDS = {
    "filter_not_following": "for_not_following",
    "filter_not_followers": "for_not_followers",
    "filter_new_accounts": "for_new_accounts",
    "filter_private_mentions": "for_private_mentions",
}


async def _choices(uow: UnitOfWork, account_id: int) -> dict[str, str]:
    row = await requests_repository.policy_row(uow.session, account_id)
    if row is None:
        return requests_repository.default_choices()
    return {field: getattr(row, field) for field in policy.FIELDS}


async def _summary(uow: UnitOfWork, account_id: int) -> entities.NotificationPolicySummary:
    requests, held = await requests_repository.summary(uow.session, account_id)
    return {"pending_requests_count": requests, "pending_notifications_count": held}


async def get_policy(uow: UnitOfWork, account_id: int) -> entities.NotificationPolicy:
    return policy_entity(await _choices(uow, account_id), await _summary(uow, account_id))


async def _apply(uow: UnitOfWork, account_id: int, changes: Mapping[str, str]) -> dict[str, str]:
    """Set the given choices (each accept, filter or drop; 422 naming the field else)."""
    for field, value in changes.items():
        if value not in policy.CHOICES:
            raise ValidationFailed(field, f"must be one of {', '.join(policy.CHOICES)}")
    choices = {**await _choices(uow, account_id), **changes}
    await requests_repository.save_policy(uow.session, account_id, choices)
    return choices


async def update_policy(
    uow: UnitOfWork, account_id: int, changes: Mapping[str, str]
) -> entities.NotificationPolicy:
    choices = await _apply(uow, account_id, changes)
    return policy_entity(choices, await _summary(uow, account_id))


async def get_v1_policy(uow: UnitOfWork, account_id: int) -> entities.V1NotificationPolicy:
    return v1_policy_entity(await _choices(uow, account_id), await _summary(uow, account_id))


async def update_v1_policy(
    uow: UnitOfWork, account_id: int, changes: Mapping[str, bool]
) -> entities.V1NotificationPolicy:
    """The v1 booleans: true filters that kind of sender, false accepts it."""
    mapped = {
        V1_FIELDS[name]: str(policy.Choice.FILTER if on else policy.Choice.ACCEPT)
        for name, on in changes.items()
    }
    choices = await _apply(uow, account_id, mapped)
    return v1_policy_entity(choices, await _summary(uow, account_id))


async def requests_page(
    uow: UnitOfWork, viewer_id: int, page: Page
) -> tuple[list[RequestRow], list[entities.NotificationRequest]]:
    rows = await requests_repository.requests_page(uow.session, viewer_id, page)
    return rows, await request_entities(uow.session, rows, viewer_id, uow.engines.settings)


async def _own(uow: UnitOfWork, viewer_id: int, request_id: int) -> RequestRow:
    found = await requests_repository.request(uow.session, viewer_id, request_id)
    if found is None:
        raise NotFound()
    return found


async def one_request(
    uow: UnitOfWork, viewer_id: int, request_id: int
) -> entities.NotificationRequest:
    row = await _own(uow, viewer_id, request_id)
    settings = uow.engines.settings
    return (await request_entities(uow.session, [row], viewer_id, settings))[0]


async def accept(uow: UnitOfWork, viewer_id: int, request_id: int) -> None:
    row = await _own(uow, viewer_id, request_id)
    await requests_repository.accept(uow.session, viewer_id, [row.request.from_account_id])


async def dismiss(uow: UnitOfWork, viewer_id: int, request_id: int) -> None:
    row = await _own(uow, viewer_id, request_id)
    await requests_repository.dismiss(uow.session, viewer_id, [row.request.from_account_id])


async def accept_many(uow: UnitOfWork, viewer_id: int, request_ids: Sequence[int]) -> None:
    """Accept the viewer's requests among `request_ids` (others are ignored, as Mastodon)."""
    senders = await requests_repository.owned_senders(uow.session, viewer_id, request_ids)
    await requests_repository.accept(uow.session, viewer_id, senders)


async def dismiss_many(uow: UnitOfWork, viewer_id: int, request_ids: Sequence[int]) -> None:
    senders = await requests_repository.owned_senders(uow.session, viewer_id, request_ids)
    await requests_repository.dismiss(uow.session, viewer_id, senders)


def merged() -> entities.NotificationsMerged:
    """Accepted requests' notifications join the list in the accepting request itself."""
    return {"merged": True}
