"""All SQL of the notification policy and its requests: the policy row, the requests (one
per recipient and sender of filtered mentions), the permissions an accepted request
leaves, and moving a sender's filtered notifications back into the list or away."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account, User
from connecthub.clock import utcnow
from connecthub.core.pagination import Page
from connecthub.ids import new_id
from connecthub.infra import db
from connecthub.notifications import policy
from connecthub.notifications.models import (
    Notification,
    NotificationPermission,
    NotificationPolicy,
    NotificationRequest,
)
from connecthub.statuses.access import blocked_between

# Mastodon counts a request's notifications, and the summary's requests, up to this.
MAX_MEANINGFUL_COUNT = 100


async def policy_row(session: AsyncSession, account_id: int) -> NotificationPolicy | None:
    query = select(NotificationPolicy).where(NotificationPolicy.account_id == account_id)
    return (await session.execute(query)).scalar_one_or_none()


async def save_policy(session: AsyncSession, account_id: int, choices: dict[str, str]) -> None:
    """Write the whole policy (the stored choices with the changed ones on top)."""
    now = utcnow()
    values: dict[str, Any] = {"account_id": account_id, **choices, "updated_at": now}
    dialect_insert = postgresql.insert if db.dialect_of(session) == "postgresql" else sqlite.insert
    statement = dialect_insert(NotificationPolicy).values(id=new_id(), created_at=now, **values)
    statement = statement.on_conflict_do_update(
        index_elements=[NotificationPolicy.account_id],
        set_={key: value for key, value in values.items() if key != "account_id"},
    )
    await session.execute(statement)


async def record_filtered(session: AsyncSession, notifications: Sequence[Notification]) -> None:
    """Open (or bring up to date) the request of each filtered mention's sender, in one
    statement; other filtered types wait in the list behind `include_filtered`, as in
    Mastodon."""
    now = utcnow()
    rows = [
        {
            "id": n.id,
            "account_id": n.account_id,
            "from_account_id": n.from_account_id,
            "last_status_id": n.status_id,
            "created_at": now,
            "updated_at": now,
        }
        for n in notifications
        if n.type == "mention"
    ]
    if not rows:
        return
    dialect_insert = postgresql.insert if db.dialect_of(session) == "postgresql" else sqlite.insert
    statement = dialect_insert(NotificationRequest)
    statement = statement.on_conflict_do_update(
        index_elements=[NotificationRequest.account_id, NotificationRequest.from_account_id],
        set_={
            "last_status_id": statement.excluded.last_status_id,
            "updated_at": statement.excluded.updated_at,
        },
    )
    await session.execute(statement, rows)


def _pending(viewer_id: int) -> list[ColumnElement[bool]]:
    """A request the viewer sees: its sender not suspended and not blocked either way, and
    still holding a notification (their statuses may have been deleted since)."""
    return [
        NotificationRequest.account_id == viewer_id,
        Account.suspended_at.is_(None),
        ~blocked_between(viewer_id, NotificationRequest.from_account_id),
        _held_count() > 0,
    ]


def _held_count() -> Any:
    """The filtered mentions a request holds (its `notifications_count`)."""
    return (
        select(func.count(Notification.id))
        .where(
            Notification.account_id == NotificationRequest.account_id,
            Notification.from_account_id == NotificationRequest.from_account_id,
            Notification.type == "mention",
            Notification.filtered.is_(True),
        )
        .correlate(NotificationRequest)
        .scalar_subquery()
    )


class RequestRow(NamedTuple):
    request: NotificationRequest
    sender: Account
    sender_role: str | None
    notifications_count: int


def _requests_query(viewer_id: int) -> Select[Any]:
    return (
        select(NotificationRequest, Account, User.role, _held_count())
        .join(Account, Account.id == NotificationRequest.from_account_id)
        .outerjoin(User, User.account_id == Account.id)
        .where(*_pending(viewer_id))
    )


async def requests_page(session: AsyncSession, viewer_id: int, page: Page) -> list[RequestRow]:
    query = page.apply(_requests_query(viewer_id), NotificationRequest.id)
    rows = (await session.execute(query)).all()
    return page.newest_first([RequestRow(r, a, role, int(c)) for r, a, role, c in rows])


async def request(session: AsyncSession, viewer_id: int, request_id: int) -> RequestRow | None:
    query = _requests_query(viewer_id).where(NotificationRequest.id == request_id)
    found = (await session.execute(query)).first()
    return RequestRow(found[0], found[1], found[2], int(found[3])) if found else None


async def owned_senders(
    session: AsyncSession, viewer_id: int, request_ids: Sequence[int]
) -> list[int]:
    """The senders of those of `request_ids` that are the viewer's (others are ignored)."""
    if not request_ids:
        return []
    query = select(NotificationRequest.from_account_id).where(
        NotificationRequest.account_id == viewer_id,
        NotificationRequest.id.in_(list(request_ids)),
    )
    return [int(i) for i in (await session.execute(query)).scalars()]


async def accept(session: AsyncSession, viewer_id: int, sender_ids: Sequence[int]) -> None:
    """Permit the senders for good, move their filtered notifications into the list and
    close their requests."""
    if not sender_ids:
        return
    now = utcnow()
    permissions = [
        {"id": new_id(), "account_id": viewer_id, "from_account_id": s, "created_at": now}
        for s in sender_ids
    ]
    await db.insert_many_once(session, NotificationPermission, permissions)
    await session.execute(
        update(Notification)
        .where(
            Notification.account_id == viewer_id,
            Notification.from_account_id.in_(list(sender_ids)),
            Notification.filtered.is_(True),
        )
        .values(filtered=False)
        .execution_options(synchronize_session=False)
    )
    await _close(session, viewer_id, sender_ids)


async def dismiss(session: AsyncSession, viewer_id: int, sender_ids: Sequence[int]) -> None:
    """Delete the senders' filtered notifications and close their requests (a later
    filtered mention opens a new one, as in Mastodon)."""
    if not sender_ids:
        return
    await session.execute(
        delete(Notification)
        .where(
            Notification.account_id == viewer_id,
            Notification.from_account_id.in_(list(sender_ids)),
            Notification.filtered.is_(True),
        )
        .execution_options(synchronize_session=False)
    )
    await _close(session, viewer_id, sender_ids)


async def _close(session: AsyncSession, viewer_id: int, sender_ids: Sequence[int]) -> None:
    await session.execute(
        delete(NotificationRequest)
        .where(
            NotificationRequest.account_id == viewer_id,
            NotificationRequest.from_account_id.in_(list(sender_ids)),
        )
        .execution_options(synchronize_session=False)
    )


async def summary(session: AsyncSession, viewer_id: int) -> tuple[int, int]:
    """The policy's summary: pending requests and the notifications they hold, each
    counted up to MAX_MEANINGFUL_COUNT requests as Mastodon does."""
    pending = (
        select(_held_count().label("held"))
        .select_from(NotificationRequest)
        .join(Account, Account.id == NotificationRequest.from_account_id)
        .where(*_pending(viewer_id))
        .limit(MAX_MEANINGFUL_COUNT)
        .subquery()
    )
    query = select(func.count(), func.coalesce(func.sum(pending.c.held), 0))
    requests, held = (await session.execute(query.select_from(pending))).one()
    return int(requests), int(held)


def default_choices() -> dict[str, str]:
    return {field: str(choice) for field, choice in policy.DEFAULTS.items()}
