"""What one account does to another's status: favourite, boost, bookmark, pin, vote.
Each action is idempotent (doing it twice changes nothing) and keeps counters by atomic
UPDATEs in the same transaction."""

from __future__ import annotations

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from connecthub.errors import Forbidden, ValidationFailed
from connecthub.ids import new_id
from connecthub.infra.uow import UnitOfWork
from connecthub.instance.limits import MAX_PINNED_STATUSES
from connecthub.notifications.service import NotificationType, notify
from connecthub.statuses import repository
from connecthub.statuses.models import (
    Bookmark,
    Favourite,
    Poll,
    PollVote,
    Status,
    StatusPin,
    Visibility,
)
from connecthub.statuses.serializers import poll_expired
from connecthub.statuses.service import FAN_OUT_JOB, access_poll, access_status, remove_boost


async def _target(uow: UnitOfWork, account_id: int, status_id: int) -> Status:
    """Acting on a boost acts on the boosted status, as Mastodon does."""
    status = await access_status(uow, account_id, status_id)
    if status.reblog_of_id is not None:
        return await access_status(uow, account_id, status.reblog_of_id)
    return status


async def favourite(uow: UnitOfWork, account_id: int, status_id: int) -> Status:
    status = await _target(uow, account_id, status_id)
    mark = Favourite(id=new_id(), account_id=account_id, status_id=status.id)
    if await repository.add_unique(uow.session, mark):
        await repository.bump(uow.session, Status, status.id, Status.favourites_count)
        if status.account_id != account_id:
            await notify(
                uow,
                recipient_id=status.account_id,
                from_account_id=account_id,
                type=NotificationType.FAVOURITE,
                activity_id=mark.id,
                status_id=status.id,
            )
    await uow.session.refresh(status)
    return status


async def unfavourite(uow: UnitOfWork, account_id: int, status_id: int) -> Status:
    status = await _target(uow, account_id, status_id)
    removed = await repository.delete_row(
        uow.session, Favourite, account_id=account_id, status_id=status.id
    )
    if removed is not None:
        await repository.bump(uow.session, Status, status.id, Status.favourites_count, -1)
    await uow.session.refresh(status)
    return status


def _may_boost(status: Status, account_id: int) -> None:
    if status.visibility == Visibility.DIRECT or (
        status.visibility == Visibility.PRIVATE and status.account_id != account_id
    ):
        raise Forbidden("This action is not allowed")


async def reblog(
    uow: UnitOfWork, account_id: int, status_id: int, visibility: Visibility | None
) -> Status:
    """Boost a status (again: the existing boost). Returns the boost row."""
    status = await _target(uow, account_id, status_id)
    _may_boost(status, account_id)
    existing = await repository.boost_of(uow.session, account_id, status.id)
    if existing is not None:
        return existing
    chosen = visibility if visibility is not None else Visibility.PUBLIC
    if status.visibility == Visibility.PRIVATE:  # an author's own followers-only boost
        chosen = Visibility.PRIVATE
    if chosen == Visibility.DIRECT:
        raise ValidationFailed("visibility", "must be public, unlisted or private")
    now = utcnow()
    boost = Status(
        id=new_id(),
        account_id=account_id,
        reblog_of_id=status.id,
        visibility=int(max(chosen, Visibility(status.visibility))),
        created_at=now,
    )
    uow.session.add(boost)
    await uow.session.flush()
    await repository.bump(uow.session, Status, status.id, Status.reblogs_count)
    await repository.count_status_posted(uow.session, account_id, now)
    if status.account_id != account_id:
        await notify(
            uow,
            recipient_id=status.account_id,
            from_account_id=account_id,
            type=NotificationType.REBLOG,
            activity_id=boost.id,
            status_id=status.id,
        )
    uow.enqueue(FAN_OUT_JOB, {"status_id": boost.id}, job_id=f"fan-out:{boost.id}")
    return boost


async def unreblog(uow: UnitOfWork, account_id: int, status_id: int) -> Status:
    status = await _target(uow, account_id, status_id)
    boost = await repository.boost_of(uow.session, account_id, status.id)
    if boost is not None:
        await remove_boost(uow, boost)
    await uow.session.refresh(status)
    return status


async def bookmark(uow: UnitOfWork, account_id: int, status_id: int) -> Status:
    status = await _target(uow, account_id, status_id)
    await repository.add_unique(
        uow.session, Bookmark(id=new_id(), account_id=account_id, status_id=status.id)
    )
    return status


async def unbookmark(uow: UnitOfWork, account_id: int, status_id: int) -> Status:
    status = await _target(uow, account_id, status_id)
    await repository.delete_row(uow.session, Bookmark, account_id=account_id, status_id=status.id)
    return status


async def _thread_of(uow: UnitOfWork, account_id: int, status_id: int) -> tuple[Status, int]:
    status = await _target(uow, account_id, status_id)
    if status.conversation_id is None:
        raise ValidationFailed("status", "is not part of a thread")
    return status, status.conversation_id


async def mute_thread(uow: UnitOfWork, account_id: int, status_id: int) -> Status:
    """No more notifications about any status of this one's thread (Mastodon mutes the
    conversation); `notifications.repository` checks it where every notification is made."""
    status, thread = await _thread_of(uow, account_id, status_id)
    await repository.mute_thread(uow.session, account_id, thread)
    return status


async def unmute_thread(uow: UnitOfWork, account_id: int, status_id: int) -> Status:
    status, thread = await _thread_of(uow, account_id, status_id)
    await repository.unmute_thread(uow.session, account_id, thread)
    return status


async def pin(uow: UnitOfWork, account_id: int, status_id: int) -> Status:
    status = await access_status(uow, account_id, status_id)
    if status.account_id != account_id or status.reblog_of_id is not None:
        raise ValidationFailed("status", "only your own statuses can be pinned")
    if status.visibility == Visibility.DIRECT:
        raise ValidationFailed("status", "direct statuses cannot be pinned")
    if await repository.pin_count(uow.session, account_id) >= MAX_PINNED_STATUSES:
        raise ValidationFailed("status", f"cannot pin more than {MAX_PINNED_STATUSES} statuses")
    await repository.add_unique(
        uow.session, StatusPin(id=new_id(), account_id=account_id, status_id=status.id)
    )
    return status


async def unpin(uow: UnitOfWork, account_id: int, status_id: int) -> Status:
    status = await access_status(uow, account_id, status_id)
    await repository.delete_row(uow.session, StatusPin, account_id=account_id, status_id=status.id)
    return status


async def vote(uow: UnitOfWork, account_id: int, poll_id: int, choices: list[int]) -> Poll:
    """One vote per account; several choices only in a `multiple` poll."""
    poll = await access_poll(uow, account_id, poll_id)
    if poll_expired(poll):
        raise ValidationFailed("poll", "has already ended")
    if not choices:
        raise ValidationFailed("choices", "can't be blank")
    if len(set(choices)) != len(choices) or any(c < 0 or c >= len(poll.options) for c in choices):
        raise ValidationFailed("choices", "must be distinct indexes of the poll's options")
    if len(choices) > 1 and not poll.multiple:
        raise ValidationFailed("choices", "this poll allows only one choice")
    if await repository.has_voted(uow.session, poll.id, account_id):
        raise ValidationFailed("poll", "you have already voted on this poll")
    for choice in choices:
        if not await repository.add_unique(
            uow.session, PollVote(poll_id=poll.id, account_id=account_id, choice=choice)
        ):
            raise ValidationFailed("poll", "you have already voted on this poll")
    await repository.bump(uow.session, Poll, poll.id, Poll.votes_count, len(choices))
    await repository.bump(uow.session, Poll, poll.id, Poll.voters_count)
    await uow.session.refresh(poll)
    return poll


async def notify_poll_ended(uow: UnitOfWork, poll_id: int) -> None:
    """The poll's voters and its author learn that it ended (once each). The poll records
    that they were told, so the sweeper never queues this again (a notification a
    recipient dismissed stays dismissed)."""
    poll = await uow.session.get(Poll, poll_id)
    if poll is None or not poll_expired(poll) or poll.ended_notified_at is not None:
        return
    poll.ended_notified_at = utcnow()
    author = await uow.session.get(Account, poll.account_id)
    if author is None:
        return
    recipients = {*await repository.poll_voter_ids(uow.session, poll.id), poll.account_id}
    for recipient in recipients:
        await notify(
            uow,
            recipient_id=recipient,
            from_account_id=poll.account_id,
            type=NotificationType.POLL,
            activity_id=poll.id,
            status_id=poll.status_id,
        )
