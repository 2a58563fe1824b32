"""All SQL of conversations: each participant's view of a direct-message thread."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sqlalchemy import Select, and_, bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account, User
from connecthub.clock import utcnow
from connecthub.conversations.models import AccountConversation, Conversation
from connecthub.core.pagination import Page, bounded
from connecthub.ids import new_id
from connecthub.infra.db import IdType, dialect_of, in_id_list, insert_once
from connecthub.relationships.models import Block
from connecthub.statuses.access import VIEWER, readable_by
from connecthub.statuses.models import Status, Visibility


async def blocked_by_or_blocking(
    session: AsyncSession, author_id: int, account_ids: Iterable[int]
) -> set[int]:
    """Which of `account_ids` have a block with the author, in either direction."""
    ids = list(set(account_ids))
    if not ids:
        return set()
    params = {"author_id": author_id, "ids": ids}
    rows = (await session.execute(_blocks_statement(dialect_of(session)), params)).all()
    return {target if source == author_id else source for source, target in rows}


@functools.cache
def _blocks_statement(dialect: str) -> Select[int, int]:
    # Built once per engine: every direct message runs it.
    author = bindparam("author_id", type_=IdType)
    return select(Block.account_id, Block.target_account_id).where(
        or_(
            and_(Block.account_id == author, in_id_list(Block.target_account_id, "ids", dialect)),
            and_(Block.target_account_id == author, in_id_list(Block.account_id, "ids", dialect)),
        )
    )


async def _find(
    session: AsyncSession, account_id: int, conversation_id: int
) -> AccountConversation | None:
    query = select(AccountConversation).where(
        AccountConversation.account_id == account_id,
        AccountConversation.conversation_id == conversation_id,
    )
    return (await session.execute(query)).scalar_one_or_none()


async def add_conversation(session: AsyncSession, conversation_id: int, *, new: bool) -> None:
    """The conversations row the participants' views refer to. `new`: the thread began in
    this transaction (a plain insert); else it may exist already (inserted unless it does:
    a thread that began as a public post has no row until its first direct message)."""
    values = {"id": conversation_id, "created_at": utcnow()}
    if new:
        session.add(Conversation(**values))
        await session.flush()
    else:
        await insert_once(session, Conversation, values)


async def upsert(
    session: AsyncSession,
    *,
    account_id: int,
    conversation_id: int,
    participant_ids: list[int],
    status_id: int,
    unread: bool,
    new_thread: bool = False,
) -> AccountConversation:
    """Create the participant's view of the conversation, or move it to `status_id`.
    Participants accumulate: whoever was ever addressed stays listed. `new_thread`: the
    conversation began in this transaction, so there is no view to look up first."""
    row = None if new_thread else await _find(session, account_id, conversation_id)
    if row is None:
        values = {
            "id": new_id(),
            "account_id": account_id,
            "conversation_id": conversation_id,
            "participant_account_ids": sorted(set(participant_ids)),
            "last_status_id": status_id,
            "unread": unread,
            "updated_at": utcnow(),
        }
        if await insert_once(session, AccountConversation, values):
            return AccountConversation(**values)
        row = await _find(session, account_id, conversation_id)  # a concurrent message won
        if row is None:
            raise LookupError("conversation view vanished after a conflicting insert")
    row.participant_account_ids = sorted({*row.participant_account_ids, *participant_ids})
    if status_id >= row.last_status_id:
        row.last_status_id = status_id
        row.unread = unread or row.unread
    row.updated_at = utcnow()
    await session.flush()
    return row


async def page_of(
    session: AsyncSession, viewer_id: int, page: Page
) -> list[tuple[AccountConversation, Status]]:
    """The viewer's conversations by last status, newest first, each with that status;
    a conversation whose last status the viewer may not read (deleted, blocked) is left
    out."""
    statement = _page_statement(page.ascending)
    rows = (await session.execute(statement, {"viewer_id": viewer_id, **page.bound})).all()
    return page.newest_first([(row, status) for row, status in rows])


@functools.cache
def _page_statement(ascending: bool) -> Select[AccountConversation, Status]:
    """Built once per direction (THE visibility rule's tree and its cache key cost more than
    the query), the viewer and the cursor (the last status' id) bound."""
    cursor = AccountConversation.last_status_id
    statement = (
        select(AccountConversation, Status)
        .join(Status, Status.id == cursor)
        .where(AccountConversation.account_id == VIEWER, readable_by(VIEWER, Status))
    )
    return bounded(statement, cursor, ascending=ascending)


async def own(
    session: AsyncSession, viewer_id: int, row_id: int
) -> tuple[AccountConversation, Status | None] | None:
    query = (
        select(AccountConversation, Status)
        .outerjoin(
            Status,
            and_(
                Status.id == AccountConversation.last_status_id,
                readable_by(viewer_id, Status),
            ),
        )
        .where(AccountConversation.account_id == viewer_id, AccountConversation.id == row_id)
    )
    found = (await session.execute(query)).first()
    return (found[0], found[1]) if found else None


async def remove(session: AsyncSession, viewer_id: int, row_id: int) -> bool:
    result = await session.execute(
        delete(AccountConversation).where(
            AccountConversation.account_id == viewer_id, AccountConversation.id == row_id
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def accounts_by_id(
    session: AsyncSession, account_ids: Iterable[int]
) -> dict[int, tuple[Account, str | None]]:
    ids = set(account_ids)
    if not ids:
        return {}
    rows = await session.execute(_accounts_statement(dialect_of(session)), {"ids": list(ids)})
    return {account.id: (account, role) for account, role in rows.all()}


@functools.cache
def _accounts_statement(dialect: str) -> Select[Account, str]:
    # Built once per engine: every conversation entity (two per direct message) runs it.
    return (
        select(Account, User.role)
        .outerjoin(User, User.account_id == Account.id)
        .where(in_id_list(Account.id, "ids", dialect), Account.suspended_at.is_(None))
    )


async def views_ending_at(session: AsyncSession, status: Status) -> list[AccountConversation]:
    """Participants' views whose last status is `status`."""
    if status.conversation_id is None:
        return []
    query = select(AccountConversation).where(
        AccountConversation.conversation_id == status.conversation_id,
        AccountConversation.last_status_id == status.id,
    )
    return list((await session.scalars(query)).all())


async def previous_direct_status_id(session: AsyncSession, status: Status) -> int | None:
    """The newest other direct status of the same conversation, older than `status`."""
    query = (
        select(Status.id)
        .where(
            Status.conversation_id == status.conversation_id,
            Status.visibility == Visibility.DIRECT,
            Status.id < status.id,
        )
        .order_by(Status.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()
