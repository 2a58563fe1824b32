"""Applying an import's rows, through the owning domains' rules (following notifies and
asks a locked account, blocking ends follows, list members must be followed).

Each row is one transaction that applies it and records its outcome together, so a run
killed half-way redoes nothing: the next run starts at the first row without an outcome.
A row that fails is recorded with the error a client would have been given. Overwrite mode
first removes what the file does not list (once: `cleared`), as Mastodon's overwrite does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.errors import ConnectHubError, NotFound, ValidationFailed
from connecthub.ids import parse_id
from connecthub.infra.engines import Engines
from connecthub.infra.uow import UnitOfWork
from connecthub.portability import csv_files, repository
from connecthub.portability.models import FINISHED, DataImport, DataImportRow
from connecthub.relationships import service as relationships
from connecthub.relationships.models import Block, Follow, Mute
from connecthub.statuses import interactions
from connecthub.timelines import service as timelines

ROWS_PER_RUN = 200
_STATUS_PATHS = (
    re.compile(r"/@(?P<username>[A-Za-z0-9_]{1,30})/(?P<id>[0-9]{1,19})/?"),
    re.compile(r"/users/(?P<username>[A-Za-z0-9_]{1,30})/statuses/(?P<id>[0-9]{1,19})/?"),
)

Apply = Callable[[UnitOfWork, DataImport, dict[str, Any]], Awaitable[None]]


def username_key(settings: Settings, acct: str) -> str:
    """The local username an address names; remote addresses are refused (no federation)."""
    username, _, domain = acct.strip().removeprefix("@").partition("@")
    if domain and domain.lower() != settings.local_domain.lower():
        raise ValidationFailed("acct", f"{acct} is on another server (federation is not supported)")
    if not username:
        raise ValidationFailed("acct", "is empty")
    return username.lower()


async def _account_id(uow: UnitOfWork, acct: Any) -> int:
    key = username_key(uow.engines.settings, str(acct or ""))
    found = await repository.account_ids_by_username(uow.session, [key])
    if key not in found:
        raise NotFound(f"{acct}: no such account")
    return found[key]


def status_id_of(settings: Settings, uri: str) -> int:
    parts, origin = urlsplit(uri.strip()), urlsplit(settings.base_url)
    if parts.netloc.lower() != origin.netloc.lower():
        raise ValidationFailed("uri", f"{uri} is on another server (federation is not supported)")
    for pattern in _STATUS_PATHS:
        found = pattern.fullmatch(parts.path)
        if found is not None and (status_id := parse_id(found["id"])) is not None:
            return status_id
    raise ValidationFailed("uri", f"{uri} is not the address of a post")


async def _follow(uow: UnitOfWork, record: DataImport, data: dict[str, Any]) -> None:
    target = await _account_id(uow, data.get("acct"))
    options = relationships.FollowOptions(
        reblogs=data.get("show_reblogs"),
        notify=data.get("notify"),
        languages=data.get("languages") or ([] if record.overwrite else None),
    )
    await relationships.follow(uow, record.account_id, target, options)


async def _block(uow: UnitOfWork, record: DataImport, data: dict[str, Any]) -> None:
    await relationships.block(uow, record.account_id, await _account_id(uow, data.get("acct")))


async def _mute(uow: UnitOfWork, record: DataImport, data: dict[str, Any]) -> None:
    hide = data.get("hide_notifications")
    await relationships.mute(
        uow,
        record.account_id,
        await _account_id(uow, data.get("acct")),
        notifications=True if hide is None else bool(hide),
        duration=0,
    )


async def _bookmark(uow: UnitOfWork, record: DataImport, data: dict[str, Any]) -> None:
    status_id = status_id_of(uow.engines.settings, str(data.get("uri") or ""))
    await interactions.bookmark(uow, record.account_id, status_id)


async def _list_member(uow: UnitOfWork, record: DataImport, data: dict[str, Any]) -> None:
    title = str(data.get("list_name") or "").strip()
    if not title:
        raise ValidationFailed("list_name", "is empty")
    target = await _account_id(uow, data.get("acct"))
    owned = {lst.title: lst for lst in await timelines.lists_of(uow, record.account_id)}
    lst = owned.get(title) or await timelines.create_list(
        uow, record.account_id, title=title, replies_policy=None, exclusive=False
    )
    # Mastodon's import follows a list member not yet followed, then adds them.
    await relationships.follow(uow, record.account_id, target, relationships.FollowOptions())
    await timelines.add_members(uow, lst, [target])


APPLY: dict[str, Apply] = {
    csv_files.FOLLOWING: _follow,
    csv_files.BLOCKING: _block,
    csv_files.MUTING: _mute,
    csv_files.BOOKMARKS: _bookmark,
    csv_files.LISTS: _list_member,
}


async def _listed_accounts(uow: UnitOfWork, record: DataImport) -> set[int]:
    rows = await repository.import_rows_data(uow.session, record.id)
    keys = []
    for data in rows:
        try:
            keys.append(username_key(uow.engines.settings, str(data.get("acct") or "")))
        except ValidationFailed:
            continue
    return set((await repository.account_ids_by_username(uow.session, keys)).values())


async def _clear(uow: UnitOfWork, record: DataImport) -> None:
    """Overwrite mode: what the file does not list goes first."""
    owner = record.account_id
    if record.type in (csv_files.FOLLOWING, csv_files.BLOCKING, csv_files.MUTING):
        listed = await _listed_accounts(uow, record)
        model, drop = {
            csv_files.FOLLOWING: (Follow, relationships.unfollow),
            csv_files.BLOCKING: (Block, relationships.unblock),
            csv_files.MUTING: (Mute, relationships.unmute),
        }[record.type]
        for target in await repository.edge_targets(uow.session, model, owner):
            if target not in listed:
                await drop(uow, owner, target)
    elif record.type == csv_files.BOOKMARKS:
        listed_ids = set()
        for data in await repository.import_rows_data(uow.session, record.id):
            try:
                listed_ids.add(status_id_of(uow.engines.settings, str(data.get("uri") or "")))
            except ValidationFailed:
                continue
        for status_id in await repository.bookmarked_status_ids(uow.session, owner):
            if status_id not in listed_ids:
                await interactions.unbookmark(uow, owner, status_id)
    elif record.type == csv_files.LISTS:
        titles = {
            str(data.get("list_name") or "").strip()
            for data in await repository.import_rows_data(uow.session, record.id)
        }
        for lst in await timelines.lists_of(uow, owner):
            if lst.title not in titles:
                await timelines.delete_list(uow, lst)


async def _in_unit(engines: Engines, work: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        try:
            result = await work(uow)
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()
        return result


async def _record(uow: UnitOfWork, import_id: int) -> DataImport | None:
    return await uow.session.get(DataImport, import_id, with_for_update=True)


async def run(engines: Engines, import_id: int, *, max_rows: int = ROWS_PER_RUN) -> bool:
    """Handle up to `max_rows` rows of the import; True once it is finished (or gone)."""

    async def prepare(uow: UnitOfWork) -> DataImport | None:
        record = await _record(uow, import_id)
        if record is None or record.finished_at is not None:
            return None
        if record.overwrite and not record.cleared:
            await _clear(uow, record)
            record.cleared = True
        return record

    record = await _in_unit(engines, prepare)
    if record is None:
        return True
    apply = APPLY[record.type]
    handled = 0
    while handled < max_rows:
        async with engines.db.session(readonly=True) as session:
            batch = await repository.pending_rows(session, import_id, min(50, max_rows - handled))
        if not batch:
            break
        for row in batch:
            await _handle(engines, record, row.id, apply)
            handled += 1
        await _in_unit(engines, lambda uow: _count(uow, import_id))
    return bool(await _in_unit(engines, lambda uow: _finish_if_done(uow, import_id)))


async def _handle(engines: Engines, record: DataImport, row_id: int, apply: Apply) -> None:
    async def imported(uow: UnitOfWork) -> None:
        row = await uow.session.get(DataImportRow, row_id, with_for_update=True)
        if row is None or row.outcome is not None:
            return  # another run took it
        await apply(uow, record, dict(row.data))
        row.outcome = "imported"

    try:
        await _in_unit(engines, imported)
    except ConnectHubError as refused:
        message = refused.message

        async def failed(uow: UnitOfWork) -> None:
            row = await uow.session.get(DataImportRow, row_id)
            if row is not None and row.outcome is None:
                row.outcome, row.error = "failed", message

        await _in_unit(engines, failed)


async def _count(uow: UnitOfWork, import_id: int) -> None:
    processed, imported = await repository.count_processed(uow.session, import_id)
    await repository.set_import_counts(uow.session, import_id, processed, imported)


async def _finish_if_done(uow: UnitOfWork, import_id: int) -> bool:
    record = await _record(uow, import_id)
    if record is None or record.finished_at is not None:
        return True
    if await repository.pending_rows(uow.session, import_id, 1):
        return False
    processed, imported = await repository.count_processed(uow.session, import_id)
    record.processed_items, record.imported_items = processed, imported
    record.state, record.finished_at = FINISHED, utcnow()
    return True
