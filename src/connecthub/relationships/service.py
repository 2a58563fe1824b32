"""Follow-graph rules: following (and requesting to follow a locked account), blocking,
muting. Every change keeps the account counters in the same transaction, and tells the
home-feed store (when one is registered) which accounts' posts to merge or drop."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from connecthub.core.pagination import Page
from connecthub.detection import service as detection_service
from connecthub.errors import Forbidden, NotFound, ValidationFailed
from connecthub.ids import new_id
from connecthub.infra.jobs import HANDLERS
from connecthub.infra.uow import UnitOfWork
from connecthub.notifications.service import NotificationType, notify
from connecthub.relationships import repository
from connecthub.relationships.models import (
    AccountNote,
    AccountPin,
    Block,
    Follow,
    FollowRequest,
    Mute,
)

MAX_MUTE_SECONDS = 10 * 365 * 86400
MAX_NOTE_LENGTH = 2000  # Mastodon's limit on a private note
# Home-feed hooks (payload {"account_id": whose feed, "target_account_id": whose posts}).
MERGE_ACCOUNT_JOB = "timelines.merge_account"
UNMERGE_ACCOUNT_JOB = "timelines.unmerge_account"


@dataclass(frozen=True)
class FollowOptions:
    """What the follower asked for; None leaves an existing follow's value unchanged."""

    reblogs: bool | None = None
    notify: bool | None = None
    # [] (or None on a new follow) means every language.
    languages: list[str] | None = None


async def target_account(uow: UnitOfWork, actor_id: int, target_id: int) -> Account:
    """The other account of a relationship change: it exists, is active and is not us."""
    account = await repository.live_account(uow.session, target_id)
    if account is None:
        raise NotFound()
    if target_id == actor_id:
        raise ValidationFailed("id", "you cannot do this to your own account")
    return account


def _feed_hook(uow: UnitOfWork, name: str, account_id: int, target_id: int) -> None:
    """Queue a home-feed change after commit. The home timeline is a query today, so no
    handler is registered and nothing is queued (an unhandled job would be dead-lettered);
    a fan-out feed store registers these names and starts receiving them."""
    if name in HANDLERS:
        payload = {"account_id": account_id, "target_account_id": target_id}
        uow.enqueue(name, payload)


def _apply(row: Follow | FollowRequest, options: FollowOptions) -> None:
    if options.reblogs is not None:
        row.show_reblogs = options.reblogs
    if options.notify is not None:
        row.notify = options.notify
    if options.languages is not None:
        row.languages = options.languages or None


async def follow(uow: UnitOfWork, actor_id: int, target_id: int, options: FollowOptions) -> None:
    """Follow, or ask to follow a locked account (or ask for any follow, when moderators
    limited the actor, as Mastodon). Repeating it only updates the options."""
    target = await target_account(uow, actor_id, target_id)
    session = uow.session
    blocked, actor_limited = await repository.follow_checks(session, actor_id, target_id)
    if blocked:
        raise Forbidden("This action is not allowed")
    as_request = target.locked or actor_limited
    existing = await repository.edge(session, Follow, actor_id, target_id)
    if existing is None and as_request:
        existing = await repository.edge(session, FollowRequest, actor_id, target_id)
    if existing is not None:
        _apply(existing, options)
        return
    model = FollowRequest if as_request else Follow
    row = model(
        id=new_id(),
        account_id=actor_id,
        target_account_id=target_id,
        show_reblogs=options.reblogs is not False,
        notify=bool(options.notify),
        languages=options.languages or None,
    )
    if not await repository.insert_edge(session, row):
        return  # a concurrent request won the race: already following (or requested)
    if isinstance(row, FollowRequest):
        await notify(
            uow,
            recipient_id=target_id,
            from_account_id=actor_id,
            type=NotificationType.FOLLOW_REQUEST,
            activity_id=row.id,
        )
        return
    await _followed(uow, row)
    detection_service.note_follow(uow, actor_id)
    await notify(
        uow,
        recipient_id=target_id,
        from_account_id=actor_id,
        type=NotificationType.FOLLOW,
        activity_id=row.id,
    )


async def _followed(uow: UnitOfWork, row: Follow) -> None:
    """Bookkeeping of a follow that was just inserted."""
    await repository.bump_follow_counts(uow.session, row.account_id, row.target_account_id, +1)
    _feed_hook(uow, MERGE_ACCOUNT_JOB, row.account_id, row.target_account_id)


async def unfollow(uow: UnitOfWork, actor_id: int, target_id: int) -> None:
    """Stop following (or withdraw a pending request)."""
    await target_account(uow, actor_id, target_id)
    await _drop_follow(uow, actor_id, target_id)
    await repository.delete_edge(uow.session, FollowRequest, actor_id, target_id)


async def _drop_follow(uow: UnitOfWork, follower_id: int, target_id: int) -> None:
    if await repository.delete_edge(uow.session, Follow, follower_id, target_id):
        await repository.bump_follow_counts(uow.session, follower_id, target_id, -1)
        _feed_hook(uow, UNMERGE_ACCOUNT_JOB, follower_id, target_id)


async def authorize_request(uow: UnitOfWork, owner_id: int, requester_id: int) -> None:
    """Turn the request into a follow. No `follow` notification: the owner just chose it."""
    request = await repository.edge(uow.session, FollowRequest, requester_id, owner_id)
    if request is None:
        raise NotFound("No follow request from this account")
    row = Follow(
        id=new_id(),
        account_id=requester_id,
        target_account_id=owner_id,
        show_reblogs=request.show_reblogs,
        notify=request.notify,
        languages=request.languages,
    )
    await uow.session.delete(request)
    await uow.session.flush()
    if await repository.insert_edge(uow.session, row):
        await _followed(uow, row)


async def reject_request(uow: UnitOfWork, owner_id: int, requester_id: int) -> None:
    if not await repository.delete_edge(uow.session, FollowRequest, requester_id, owner_id):
        raise NotFound("No follow request from this account")


async def block(uow: UnitOfWork, actor_id: int, target_id: int) -> None:
    """Block: also ends follows and follow requests in both directions."""
    await target_account(uow, actor_id, target_id)
    session = uow.session
    inserted = await repository.insert_edge(
        session, Block(id=new_id(), account_id=actor_id, target_account_id=target_id)
    )
    await _drop_follow(uow, actor_id, target_id)
    await _drop_follow(uow, target_id, actor_id)
    await repository.clear_requests_between(session, actor_id, target_id)
    if inserted:  # their boosts may sit in our feed even when we did not follow them
        _feed_hook(uow, UNMERGE_ACCOUNT_JOB, actor_id, target_id)


async def unblock(uow: UnitOfWork, actor_id: int, target_id: int) -> None:
    await target_account(uow, actor_id, target_id)
    await repository.delete_edge(uow.session, Block, actor_id, target_id)


async def mute(
    uow: UnitOfWork, actor_id: int, target_id: int, *, notifications: bool, duration: int
) -> None:
    """Mute, hiding notifications too unless told not to; `duration` 0 means forever.
    Muting again replaces the options and the expiry."""
    await target_account(uow, actor_id, target_id)
    if duration < 0 or duration > MAX_MUTE_SECONDS:
        raise ValidationFailed("duration", f"must be between 0 and {MAX_MUTE_SECONDS} seconds")
    expires_at = utcnow() + timedelta(seconds=duration) if duration else None
    existing = await repository.edge(uow.session, Mute, actor_id, target_id)
    if existing is not None:
        existing.hide_notifications = notifications
        existing.expires_at = expires_at
    else:
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
    _feed_hook(uow, UNMERGE_ACCOUNT_JOB, actor_id, target_id)


async def unmute(uow: UnitOfWork, actor_id: int, target_id: int) -> None:
    await target_account(uow, actor_id, target_id)
    await repository.delete_edge(uow.session, Mute, actor_id, target_id)


async def remove_from_followers(uow: UnitOfWork, actor_id: int, follower_id: int) -> None:
    """Make `follower_id` stop following the actor (Mastodon's remove_from_followers); a
    pending request of theirs stays, as in Mastodon."""
    await target_account(uow, actor_id, follower_id)
    await _drop_follow(uow, follower_id, actor_id)


async def set_note(uow: UnitOfWork, actor_id: int, target_id: int, comment: str) -> None:
    """The actor's private note about another account (or themselves, as Mastodon allows);
    an empty comment removes it."""
    if len(comment) > MAX_NOTE_LENGTH:
        raise ValidationFailed("comment", f"is too long (maximum is {MAX_NOTE_LENGTH} characters)")
    if await repository.live_account(uow.session, target_id) is None:
        raise NotFound()
    if comment.strip():
        await repository.set_note(uow.session, actor_id, target_id, comment)
    else:
        await repository.delete_edge(uow.session, AccountNote, actor_id, target_id)


async def endorse(uow: UnitOfWork, actor_id: int, target_id: int) -> None:
    """Feature an account on the actor's profile: only one the actor follows (Mastodon's
    rule). Endorsing again changes nothing."""
    await target_account(uow, actor_id, target_id)
    if await repository.edge(uow.session, Follow, actor_id, target_id) is None:
        raise ValidationFailed("id", "you must follow an account to endorse it")
    await repository.add_pin(uow.session, actor_id, target_id)


async def unendorse(uow: UnitOfWork, actor_id: int, target_id: int) -> None:
    await target_account(uow, actor_id, target_id)
    await repository.delete_edge(uow.session, AccountPin, actor_id, target_id)


async def drop_follows_of(
    session: AsyncSession, account_id: int, limit: int
) -> tuple[int, list[int]]:
    """Account erasure: up to `limit` of the account's follows, both ways, counters kept
    right. Returns how many went, and which of them were its followers."""
    return await repository.drop_follows_of(session, account_id, limit)


# Reads for the endpoints (handlers call the service, never the repository).


async def existing_account_ids(
    uow: UnitOfWork, account_ids: Sequence[int], *, with_suspended: bool
) -> set[int]:
    return await repository.existing_account_ids(
        uow.session, account_ids, with_suspended=with_suspended
    )


async def familiar_followers(
    uow: UnitOfWork, viewer_id: int, account_ids: Sequence[int]
) -> dict[int, list[Account]]:
    """For each of `account_ids`, accounts the viewer follows that follow it."""
    return await repository.familiar_followers(uow.session, viewer_id, account_ids)


async def accounts_page(
    uow: UnitOfWork,
    model: Any,
    page: Page,
    *,
    owner_column: Any,
    listed_column: Any,
    owner_id: int,
) -> list[tuple[int, Account]]:
    """(edge id, account) pairs of one page of `model` edges owned by `owner_id`."""
    return await repository.accounts_page(
        uow.session,
        model,
        page,
        owner_column=owner_column,
        listed_column=listed_column,
        owner_id=owner_id,
    )


async def connections_visible(uow: UnitOfWork, account_id: int, viewer_id: int | None) -> bool:
    """Whether the viewer may see an active account's followers and follows: not when that
    account blocks the viewer, nor when it hides them (`hide_collections`, as Mastodon:
    only the account itself still sees them; counts stay on the Account). NotFound when
    the account is missing or suspended."""
    account = await repository.live_account(uow.session, account_id)
    if account is None:
        raise NotFound()
    if account.hide_collections and viewer_id != account_id:
        return False
    if viewer_id is None:
        return True
    return not await repository.edge(uow.session, Block, account_id, viewer_id)


async def mutes_page(uow: UnitOfWork, account_id: int, page: Page) -> list[tuple[Mute, Account]]:
    """One page of live (unexpired) mutes with the muted accounts, newest mute first."""
    return await repository.mutes_page(uow.session, account_id, page, utcnow())
