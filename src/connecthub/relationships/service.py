"""Follow-graph rules: following (and requesting to follow a locked account), blocking,
muting. Every change keeps the account counters in the same transaction."""

from __future__ import annotations

from datetime import timedelta

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from connecthub.errors import Forbidden, NotFound, ValidationFailed
from connecthub.ids import new_id
from connecthub.infra.uow import UnitOfWork
from connecthub.notifications.service import NotificationType, notify
from connecthub.relationships import repository
from connecthub.relationships.models import Block, Follow, FollowRequest, Mute

MAX_MUTE_SECONDS = 10 * 365 * 86400


async def target_account(uow: UnitOfWork, actor_id: int, target_id: int) -> Account:
    """The other account of a relationship change: it exists, is active and is not us."""
    account = await repository.live_account(uow.session, target_id)
    if account is None:
        raise NotFound()
    if target_id == actor_id:
        raise ValidationFailed("id", "you cannot do this to your own account")
    return account


async def follow(
    uow: UnitOfWork,
    actor_id: int,
    target_id: int,
    *,
    reblogs: bool | None,
    notify_posts: bool | None,
) -> None:
    """Follow, or ask to follow a locked account. Repeating it only updates the options."""
    target = await target_account(uow, actor_id, target_id)
    session = uow.session
    if await repository.blocked_either_way(session, actor_id, target_id):
        raise Forbidden("This action is not allowed")
    existing = await repository.edge(session, Follow, actor_id, target_id)
    if existing is not None:
        if reblogs is not None:
            existing.show_reblogs = reblogs
        if notify_posts is not None:
            existing.notify = notify_posts
        return
    options = {
        "show_reblogs": True if reblogs is None else reblogs,
        "notify": bool(notify_posts),
    }
    if target.locked:
        request = FollowRequest(
            id=new_id(), account_id=actor_id, target_account_id=target_id, **options
        )
        if await repository.insert_edge(session, request):
            await notify(
                uow,
                recipient_id=target_id,
                from_account_id=actor_id,
                type=NotificationType.FOLLOW_REQUEST,
                activity_id=request.id,
            )
        return
    await _create_follow(uow, actor_id, target_id, **options)


async def _create_follow(
    uow: UnitOfWork, actor_id: int, target_id: int, *, show_reblogs: bool, notify: bool
) -> None:
    row = Follow(
        id=new_id(),
        account_id=actor_id,
        target_account_id=target_id,
        show_reblogs=show_reblogs,
        notify=notify,
    )
    if not await repository.insert_edge(uow.session, row):
        return
    await repository.bump_follow_counts(uow.session, actor_id, target_id, +1)
    await _notify_follow(uow, actor_id, target_id, row.id)


async def _notify_follow(uow: UnitOfWork, actor_id: int, target_id: int, follow_id: int) -> None:
    await notify(
        uow,
        recipient_id=target_id,
        from_account_id=actor_id,
        type=NotificationType.FOLLOW,
        activity_id=follow_id,
    )


async def unfollow(uow: UnitOfWork, actor_id: int, target_id: int) -> None:
    await target_account(uow, actor_id, target_id)
    await _drop_follow(uow, actor_id, target_id)
    await repository.delete_edge(uow.session, FollowRequest, actor_id, target_id)


async def _drop_follow(uow: UnitOfWork, follower_id: int, target_id: int) -> None:
    if await repository.delete_edge(uow.session, Follow, follower_id, target_id):
        await repository.bump_follow_counts(uow.session, follower_id, target_id, -1)


async def authorize_request(uow: UnitOfWork, owner_id: int, requester_id: int) -> None:
    request = await repository.edge(uow.session, FollowRequest, requester_id, owner_id)
    if request is None:
        raise NotFound("No follow request from this account")
    options = {"show_reblogs": request.show_reblogs, "notify": request.notify}
    await uow.session.delete(request)
    await uow.session.flush()
    await _create_follow(uow, requester_id, owner_id, **options)


async def reject_request(uow: UnitOfWork, owner_id: int, requester_id: int) -> None:
    if not await repository.delete_edge(uow.session, FollowRequest, requester_id, owner_id):
        raise NotFound("No follow request from this account")


async def block(uow: UnitOfWork, actor_id: int, target_id: int) -> None:
    """Block: also ends follows and follow requests in both directions."""
    await target_account(uow, actor_id, target_id)
    session = uow.session
    await repository.insert_edge(
        session, Block(id=new_id(), account_id=actor_id, target_account_id=target_id)
    )
    await _drop_follow(uow, actor_id, target_id)
    await _drop_follow(uow, target_id, actor_id)
    await repository.clear_requests_between(session, actor_id, target_id)


async def unblock(uow: UnitOfWork, actor_id: int, target_id: int) -> None:
    await target_account(uow, actor_id, target_id)
    await repository.delete_edge(uow.session, Block, actor_id, target_id)


async def mute(
    uow: UnitOfWork, actor_id: int, target_id: int, *, notifications: bool, duration: int
) -> None:
    """Mute, hiding notifications too unless told not to; `duration` 0 means forever."""
    await target_account(uow, actor_id, target_id)
    if duration < 0 or duration > MAX_MUTE_SECONDS:
        raise ValidationFailed("duration", f"must be between 0 and {MAX_MUTE_SECONDS} seconds")
    expires_at = utcnow() + timedelta(seconds=duration) if duration else None
    existing = await repository.edge(uow.session, Mute, actor_id, target_id)
    if existing is not None:
        existing.hide_notifications = notifications
        existing.expires_at = expires_at
        return
    await repository.insert_edge(
        uow.session,
        Mute(
            id=new_id(),
            account_id=actor_id,
            target_account_id=target_id,
            hide_notifications=notifications,
            expires_at=expires_at,
        ),
    )


async def unmute(uow: UnitOfWork, actor_id: int, target_id: int) -> None:
    await target_account(uow, actor_id, target_id)
    await repository.delete_edge(uow.session, Mute, actor_id, target_id)
