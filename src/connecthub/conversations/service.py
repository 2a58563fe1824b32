"""Direct-message conversations: each participant has their own view of a thread (last
status, unread flag), removable by them alone and revived by the next message. The
statuses service calls `record_direct_status` when a direct status is created."""

from __future__ import annotations

from connecthub import channels, entities
from connecthub.conversations import repository
from connecthub.conversations.models import AccountConversation
from connecthub.conversations.serializers import conversation_entities
from connecthub.core.pagination import Page
from connecthub.errors import NotFound
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses.models import Status


async def record_direct_status(
    uow: UnitOfWork,
    *,
    status_id: int,
    author_id: int,
    recipient_ids: list[int],
    conversation_id: int,
    new_thread: bool = False,
) -> None:
    """Update every participant's view of the conversation: last status, unread for the
    recipients, and publish a `conversation` event to each after commit. A recipient with
    a block between them and the author is left untouched (they cannot read it anyway).
    `new_thread`: the conversation began with this status (no views exist yet).

    Only direct messages need the `conversations` row (the views refer to it); a thread
    that is not direct has its id on its statuses and no row, so a post costs no insert
    for it."""
    session = uow.session
    recipients = [r for r in dict.fromkeys(recipient_ids) if r != author_id]
    blocked = await repository.blocked_by_or_blocking(session, author_id, recipients)
    everyone = [author_id, *recipients]
    status = await session.get(Status, status_id)
    if status is None:
        return
    await repository.add_conversation(session, conversation_id, new=new_thread)
    for account_id in [author_id, *(r for r in recipients if r not in blocked)]:
        row = await repository.upsert(
            session,
            account_id=account_id,
            conversation_id=conversation_id,
            participant_ids=[p for p in everyone if p != account_id],
            status_id=status_id,
            unread=account_id != author_id,
            new_thread=new_thread,
        )
        await _publish(uow, row, status)


async def remove_direct_status(uow: UnitOfWork, status: Status) -> None:
    """Before a direct status is deleted: views that ended on it fall back to the previous
    message of the thread, or go when there is none (as Mastodon does)."""
    views = await repository.views_ending_at(uow.session, status)
    if not views:
        return
    previous = await repository.previous_direct_status_id(uow.session, status)
    for view in views:
        if previous is None:
            await uow.session.delete(view)
        else:
            view.last_status_id = previous
    await uow.session.flush()


async def _publish(uow: UnitOfWork, row: AccountConversation, status: Status) -> None:
    entity = (
        await conversation_entities(
            uow.session, [(row, status)], row.account_id, uow.engines.settings
        )
    )[0]
    event = channels.envelope(channels.CONVERSATION, entity)
    channels.send_on_commit(uow, event, channels.to_accounts([row.account_id]))


async def page(
    uow: UnitOfWork, viewer_id: int, page: Page
) -> tuple[list[AccountConversation], list[entities.Conversation]]:
    rows = await repository.page_of(uow.session, viewer_id, page)
    entities = await conversation_entities(
        uow.session, [(row, status) for row, status in rows], viewer_id, uow.engines.settings
    )
    return [row for row, _ in rows], entities


async def mark_read(uow: UnitOfWork, viewer_id: int, row_id: int) -> entities.Conversation:
    found = await repository.own(uow.session, viewer_id, row_id)
    if found is None:
        raise NotFound()
    row, _status = found
    row.unread = False
    await uow.session.flush()
    return (await conversation_entities(uow.session, [found], viewer_id, uow.engines.settings))[0]


async def remove(uow: UnitOfWork, viewer_id: int, row_id: int) -> None:
    """Only the caller's view goes; the others keep theirs, and a new message revives it."""
    if not await repository.remove(uow.session, viewer_id, row_id):
        raise NotFound()
