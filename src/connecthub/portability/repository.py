"""All SQL of data portability: the export and import records, and the batched reads an
archive is built from. Every read of an account's data is keyset-paged by id (`after`,
`limit`), so an archive of any size is read a batch at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account, OAuthApplication, OAuthToken, User, WebSession
from connecthub.filters.models import Filter, FilterKeyword, FilterStatus
from connecthub.media.models import MediaAttachment, MediaState
from connecthub.notifications.models import Notification
from connecthub.portability.models import (
    PENDING,
    READY,
    DataExport,
    DataImport,
    DataImportRow,
)
from connecthub.privacy.models import Consent
from connecthub.relationships.models import Block, Follow, Mute
from connecthub.statuses.models import (
    Bookmark,
    Favourite,
    Mention,
    Poll,
    PollVote,
    Status,
    StatusEdit,
    StatusTag,
    Tag,
    Visibility,
)
from connecthub.timelines.models import List, ListAccount, Marker

# --- export records -----------------------------------------------------------------------


async def latest_export_since(
    session: AsyncSession, account_id: int, since: datetime
) -> DataExport | None:
    query = (
        select(DataExport)
        .where(DataExport.account_id == account_id, DataExport.created_at >= since)
        .order_by(DataExport.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def exports_of(session: AsyncSession, account_id: int, limit: int) -> list[DataExport]:
    query = (
        select(DataExport)
        .where(DataExport.account_id == account_id)
        .order_by(DataExport.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))


async def export_of(session: AsyncSession, account_id: int, export_id: int) -> DataExport | None:
    return await session.scalar(
        select(DataExport).where(DataExport.id == export_id, DataExport.account_id == account_id)
    )


async def expired_exports(session: AsyncSession, now: datetime, limit: int) -> list[DataExport]:
    query = (
        select(DataExport)
        .where(DataExport.state == READY, DataExport.expires_at <= now)
        .order_by(DataExport.expires_at)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def stalled_exports(session: AsyncSession, cutoff: datetime, limit: int) -> list[int]:
    """Pending exports whose build has not started a run since `cutoff`."""
    last_seen = func.coalesce(DataExport.started_at, DataExport.created_at)
    query = (
        select(DataExport.id)
        .where(DataExport.state == PENDING, last_seen < cutoff)
        .order_by(DataExport.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


# --- import records -----------------------------------------------------------------------


async def import_of(session: AsyncSession, account_id: int, import_id: int) -> DataImport | None:
    return await session.scalar(
        select(DataImport).where(DataImport.id == import_id, DataImport.account_id == account_id)
    )


async def imports_of(session: AsyncSession, account_id: int, limit: int) -> list[DataImport]:
    query = (
        select(DataImport)
        .where(DataImport.account_id == account_id)
        .order_by(DataImport.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))


async def pending_rows(session: AsyncSession, import_id: int, limit: int) -> list[DataImportRow]:
    query = (
        select(DataImportRow)
        .where(DataImportRow.import_id == import_id, DataImportRow.outcome.is_(None))
        .order_by(DataImportRow.line)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def failed_rows(session: AsyncSession, import_id: int, limit: int) -> list[DataImportRow]:
    query = (
        select(DataImportRow)
        .where(DataImportRow.import_id == import_id, DataImportRow.outcome == "failed")
        .order_by(DataImportRow.line)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def import_rows_data(session: AsyncSession, import_id: int) -> list[dict[str, Any]]:
    query = select(DataImportRow.data).where(DataImportRow.import_id == import_id)
    return list(await session.scalars(query))


async def unfinished_imports(session: AsyncSession, cutoff: datetime, limit: int) -> list[int]:
    query = (
        select(DataImport.id)
        .where(DataImport.finished_at.is_(None), DataImport.created_at < cutoff)
        .order_by(DataImport.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


# --- what an archive is built from ----------------------------------------------------------


async def account_and_user(session: AsyncSession, account_id: int) -> tuple[Account, User] | None:
    row = (
        await session.execute(
            select(Account, User)
            .join(User, User.account_id == Account.id)
            .where(Account.id == account_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def count_statuses(session: AsyncSession, account_id: int) -> int:
    query = select(func.count()).select_from(Status).where(Status.account_id == account_id)
    return int((await session.execute(query)).scalar_one())


async def statuses_after(
    session: AsyncSession, account_id: int, after: int, limit: int
) -> list[Status]:
    query = (
        select(Status)
        .where(Status.account_id == account_id, Status.id > after)
        .order_by(Status.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


def _received_direct(account_id: int) -> Any:
    mentioned = exists().where(Mention.status_id == Status.id, Mention.account_id == account_id)
    return and_(Status.visibility == Visibility.DIRECT, Status.account_id != account_id, mentioned)


async def received_direct_after(
    session: AsyncSession, account_id: int, after: int, limit: int
) -> list[Status]:
    """Direct messages others sent to the account (those it sent are in its outbox)."""
    query = (
        select(Status)
        .where(_received_direct(account_id), Status.id > after)
        .order_by(Status.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def usernames(session: AsyncSession, account_ids: Sequence[int]) -> dict[int, str]:
    if not account_ids:
        return {}
    query = select(Account.id, Account.username).where(Account.id.in_(set(account_ids)))
    return {row.id: row.username for row in await session.execute(query)}


async def statuses_by_id(session: AsyncSession, status_ids: Sequence[int]) -> dict[int, Status]:
    if not status_ids:
        return {}
    query = select(Status).where(Status.id.in_(set(status_ids)))
    return {status.id: status for status in await session.scalars(query)}


async def attachments_of(session: AsyncSession, status_ids: Sequence[int]) -> list[MediaAttachment]:
    if not status_ids:
        return []
    query = (
        select(MediaAttachment)
        .where(MediaAttachment.status_id.in_(status_ids))
        .order_by(MediaAttachment.status_id, MediaAttachment.position)
    )
    return list(await session.scalars(query))


async def polls_of(session: AsyncSession, status_ids: Sequence[int]) -> dict[int, Poll]:
    if not status_ids:
        return {}
    query = select(Poll).where(Poll.status_id.in_(status_ids))
    return {poll.status_id: poll for poll in await session.scalars(query)}


async def poll_option_votes(
    session: AsyncSession, poll_ids: Sequence[int]
) -> dict[int, dict[int, int]]:
    if not poll_ids:
        return {}
    query = (
        select(PollVote.poll_id, PollVote.choice, func.count())
        .where(PollVote.poll_id.in_(poll_ids))
        .group_by(PollVote.poll_id, PollVote.choice)
    )
    votes: dict[int, dict[int, int]] = {}
    for poll_id, choice, count in await session.execute(query):
        votes.setdefault(poll_id, {})[choice] = int(count)
    return votes


async def tags_of(session: AsyncSession, status_ids: Sequence[int]) -> dict[int, list[str]]:
    if not status_ids:
        return {}
    query = (
        select(StatusTag.status_id, Tag.name)
        .join(Tag, Tag.id == StatusTag.tag_id)
        .where(StatusTag.status_id.in_(status_ids))
    )
    tags: dict[int, list[str]] = {}
    for status_id, name in await session.execute(query):
        tags.setdefault(status_id, []).append(name)
    return tags


async def mentions_of(session: AsyncSession, status_ids: Sequence[int]) -> dict[int, list[str]]:
    """The usernames each status mentions."""
    if not status_ids:
        return {}
    query = (
        select(Mention.status_id, Account.username)
        .join(Account, Account.id == Mention.account_id)
        .where(Mention.status_id.in_(status_ids))
    )
    mentions: dict[int, list[str]] = {}
    for status_id, username in await session.execute(query):
        mentions.setdefault(status_id, []).append(username)
    return mentions


async def edits_after(
    session: AsyncSession, account_id: int, after: int, limit: int
) -> list[StatusEdit]:
    query = (
        select(StatusEdit)
        .where(StatusEdit.account_id == account_id, StatusEdit.id > after)
        .order_by(StatusEdit.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def own_media_after(
    session: AsyncSession, account_id: int, after: str, limit: int
) -> list[str]:
    """Distinct original-file keys of the account's attached media, in key order (a key
    is content-addressed: one file however many posts show it)."""
    query = (
        select(MediaAttachment.file_key)
        .where(
            MediaAttachment.account_id == account_id,
            MediaAttachment.status_id.is_not(None),
            MediaAttachment.state == MediaState.READY,
            MediaAttachment.file_key > after,
        )
        .group_by(MediaAttachment.file_key)
        .order_by(MediaAttachment.file_key)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def marked_status_uris_before(
    session: AsyncSession,
    model: type[Favourite] | type[Bookmark],
    account_id: int,
    before: int,
    limit: int,
) -> list[tuple[int, int, str]]:
    """(mark id, status id, author username) of the account's favourites or bookmarks,
    newest first (Mastodon's bookmarks.csv order)."""
    query = (
        select(model.id, Status.id, Account.username)
        .join(Status, Status.id == model.status_id)
        .join(Account, Account.id == Status.account_id)
        .where(model.account_id == account_id, model.id < before)
        .order_by(model.id.desc())
        .limit(limit)
    )
    return [(row[0], row[1], row[2]) for row in await session.execute(query)]


async def follows_before(
    session: AsyncSession, account_id: int, before: int, limit: int
) -> list[tuple[Follow, str]]:
    """Newest first, as Mastodon's following_accounts.csv."""
    query = (
        select(Follow, Account.username)
        .join(Account, Account.id == Follow.target_account_id)
        .where(Follow.account_id == account_id, Follow.id < before)
        .order_by(Follow.id.desc())
        .limit(limit)
    )
    return [(row[0], row[1]) for row in await session.execute(query)]


async def followers_after(
    session: AsyncSession, account_id: int, after: int, limit: int
) -> list[tuple[int, str]]:
    query = (
        select(Follow.id, Account.username)
        .join(Account, Account.id == Follow.account_id)
        .where(Follow.target_account_id == account_id, Follow.id > after)
        .order_by(Follow.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in await session.execute(query)]


async def blocks_after(
    session: AsyncSession, account_id: int, after: int, limit: int
) -> list[tuple[int, str]]:
    query = (
        select(Block.id, Account.username)
        .join(Account, Account.id == Block.target_account_id)
        .where(Block.account_id == account_id, Block.id > after)
        .order_by(Block.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in await session.execute(query)]


async def mutes_before(
    session: AsyncSession, account_id: int, before: int, limit: int
) -> list[tuple[Mute, str]]:
    """Newest first, as Mastodon's muted_accounts.csv."""
    query = (
        select(Mute, Account.username)
        .join(Account, Account.id == Mute.target_account_id)
        .where(Mute.account_id == account_id, Mute.id < before)
        .order_by(Mute.id.desc())
        .limit(limit)
    )
    return [(row[0], row[1]) for row in await session.execute(query)]


async def lists_of(session: AsyncSession, account_id: int) -> list[List]:
    query = select(List).where(List.account_id == account_id).order_by(List.id)
    return list(await session.scalars(query))


async def list_members_after(
    session: AsyncSession, list_id: int, after: int, limit: int
) -> list[tuple[int, str]]:
    query = (
        select(ListAccount.id, Account.username)
        .join(Account, Account.id == ListAccount.account_id)
        .where(ListAccount.list_id == list_id, ListAccount.id > after)
        .order_by(ListAccount.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in await session.execute(query)]


async def filters_of(session: AsyncSession, account_id: int) -> list[Filter]:
    query = select(Filter).where(Filter.account_id == account_id).order_by(Filter.title)
    return list(await session.scalars(query))


async def filter_parts(
    session: AsyncSession, filter_ids: Sequence[int]
) -> tuple[list[FilterKeyword], list[tuple[int, int, str]]]:
    """The keywords, and (filter id, status id, author username) of the statuses."""
    if not filter_ids:
        return [], []
    keywords = await session.scalars(
        select(FilterKeyword)
        .where(FilterKeyword.filter_id.in_(filter_ids))
        .order_by(FilterKeyword.id)
    )
    statuses = await session.execute(
        select(FilterStatus.filter_id, Status.id, Account.username)
        .join(Status, Status.id == FilterStatus.status_id)
        .join(Account, Account.id == Status.account_id)
        .where(FilterStatus.filter_id.in_(filter_ids))
    )
    return list(keywords), [(row[0], row[1], row[2]) for row in statuses]


async def markers_of(session: AsyncSession, account_id: int) -> list[Marker]:
    query = select(Marker).where(Marker.account_id == account_id).order_by(Marker.timeline)
    return list(await session.scalars(query))


async def notifications_after(
    session: AsyncSession, account_id: int, after: int, limit: int
) -> list[tuple[Notification, str]]:
    query = (
        select(Notification, Account.username)
        .join(Account, Account.id == Notification.from_account_id)
        .where(Notification.account_id == account_id, Notification.id > after)
        .order_by(Notification.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in await session.execute(query)]


async def poll_votes_after(
    session: AsyncSession, account_id: int, after: int, limit: int
) -> list[PollVote]:
    query = (
        select(PollVote)
        .where(PollVote.account_id == account_id, PollVote.id > after)
        .order_by(PollVote.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def poll_status_ids(session: AsyncSession, poll_ids: Sequence[int]) -> dict[int, int]:
    if not poll_ids:
        return {}
    query = select(Poll.id, Poll.status_id).where(Poll.id.in_(set(poll_ids)))
    return {row[0]: row[1] for row in await session.execute(query)}


async def tokens_of(session: AsyncSession, account_id: int) -> list[tuple[OAuthToken, str | None]]:
    """Every token the account was given (revoked ones too: they are sign-in history),
    with its application's name."""
    query = (
        select(OAuthToken, OAuthApplication.name)
        .outerjoin(OAuthApplication, OAuthApplication.id == OAuthToken.application_id)
        .where(OAuthToken.account_id == account_id)
        .order_by(OAuthToken.id)
    )
    return [(row[0], row[1]) for row in await session.execute(query)]


async def web_sessions_of(session: AsyncSession, user_id: int) -> list[WebSession]:
    query = select(WebSession).where(WebSession.user_id == user_id).order_by(WebSession.id)
    return list(await session.scalars(query))


async def consents_of(session: AsyncSession, account_id: int) -> list[Consent]:
    query = select(Consent).where(Consent.account_id == account_id).order_by(Consent.id)
    return list(await session.scalars(query))


# --- import helpers ---------------------------------------------------------------------------


async def account_ids_by_username(
    session: AsyncSession, username_keys: Sequence[str]
) -> dict[str, int]:
    if not username_keys:
        return {}
    query = select(Account.username_key, Account.id).where(
        Account.username_key.in_(set(username_keys)), Account.suspended_at.is_(None)
    )
    return {row[0]: row[1] for row in await session.execute(query)}


async def edge_targets(session: AsyncSession, model: Any, account_id: int) -> list[int]:
    query = select(model.target_account_id).where(model.account_id == account_id)
    return list(await session.scalars(query))


async def bookmarked_status_ids(session: AsyncSession, account_id: int) -> list[int]:
    query = select(Bookmark.status_id).where(Bookmark.account_id == account_id)
    return list(await session.scalars(query))


async def count_processed(session: AsyncSession, import_id: int) -> tuple[int, int]:
    """(rows handled, rows imported) of an import."""
    query = select(
        func.count(DataImportRow.outcome), func.count().filter(DataImportRow.outcome == "imported")
    ).where(DataImportRow.import_id == import_id)
    handled, imported = (await session.execute(query)).one()
    return int(handled), int(imported)


async def set_import_counts(
    session: AsyncSession, import_id: int, processed: int, imported: int
) -> None:
    await session.execute(
        update(DataImport)
        .where(DataImport.id == import_id)
        .values(processed_items=processed, imported_items=imported)
    )
