"""Announcement rules: what readers see (published ones, their own dismissals left out unless
asked), dismissals, reactions (a unicode emoji or a custom emoji's shortcode, at most
`REACTION_LIMIT` different ones per announcement, as Mastodon), and the admin's writes
(the Manage Announcements permission: admins).

Every local account hears of a change on its `user` stream (`announcement`,
`announcement.reaction`, `announcement.delete`, as Mastodon sends them): the request queues
one `BROADCAST_JOB` carrying the event, and the job walks the accounts in chunks, so a write
costs the same whatever the number of accounts.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import channels, entities
from connecthub.accounts.roles import Permission, has_permission
from connecthub.announcements import repository
from connecthub.announcements.models import Announcement
from connecthub.announcements.serializers import announcement_entity
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.emojis import service as emojis
from connecthub.errors import Forbidden, NotFound, ValidationFailed
from connecthub.ids import new_id
from connecthub.infra.uow import UnitOfWork

BROADCAST_JOB = "announcements.broadcast"
REACTION_LIMIT = 8
TEXT_LIMIT = 10_000
_NAME_LIMIT = 64


# -- readers -----------------------------------------------------------------------------


async def _entities(
    session: AsyncSession,
    settings: Settings,
    rows: list[Announcement],
    viewer_id: int | None,
    dismissed: set[int] | None = None,
) -> list[entities.Announcement]:
    ids = [row.id for row in rows]
    reactions = await repository.reactions_of(session, ids, viewer_id)
    found = await emojis.used_in(session, settings, [row.text for row in rows])
    return [
        announcement_entity(
            settings,
            row,
            reactions.get(row.id, []),
            found,
            read=None if dismissed is None else row.id in dismissed,
        )
        for row in rows
    ]


async def for_reader(
    session: AsyncSession, settings: Settings, viewer_id: int, *, with_dismissed: bool
) -> list[entities.Announcement]:
    rows = list(
        await repository.published(
            session, utcnow(), hide_dismissed_by=None if with_dismissed else viewer_id
        )
    )
    dismissed = await repository.dismissed_among(session, viewer_id, [row.id for row in rows])
    return await _entities(session, settings, rows, viewer_id, dismissed)


async def _published(session: AsyncSession, announcement_id: int) -> Announcement:
    row = await repository.get(session, announcement_id)
    if row is None or row.published_at is None or _aware(row.published_at) > utcnow():
        raise NotFound()
    return row


async def dismiss(uow: UnitOfWork, viewer_id: int, announcement_id: int) -> None:
    await _published(uow.session, announcement_id)
    await repository.dismiss(uow.session, viewer_id, announcement_id)


def is_unicode_emoji(name: str) -> bool:
    """One emoji as typed: pictographs with their modifiers, joiners, variation selectors,
    keycaps and tag sequences (flags); no letters, digits alone or spaces."""
    if not name or len(name) > 16:
        return False
    pictographic = False
    for char in name:
        point = ord(char)
        if point in (0x200D, 0xFE0F, 0xFE0E, 0x20E3) or 0xE0020 <= point <= 0xE007F:
            continue
        if 0x1F3FB <= point <= 0x1F3FF:  # skin tones
            continue
        if char in "#*0123456789" and "\u20e3" in name:  # keycaps
            pictographic = True
            continue
        category = unicodedata.category(char)
        if category == "So" or 0x1F000 <= point <= 0x1FAFF or 0x1F1E6 <= point <= 0x1F1FF:
            pictographic = True
            continue
        if point in (0x203C, 0x2049, 0x2122, 0x2139, 0x00A9, 0x00AE, 0x3030, 0x303D):
            pictographic = True
            continue
        return False
    return pictographic


async def react(
    uow: UnitOfWork, settings: Settings, viewer_id: int, announcement_id: int, name: str
) -> None:
    """Idempotent: a second identical reaction changes nothing."""
    await _published(uow.session, announcement_id)
    name = name.strip()
    custom = None if is_unicode_emoji(name) else await emojis.named(uow.session, name)
    if custom is None and not is_unicode_emoji(name):
        raise ValidationFailed("name", "is not a recognized emoji")
    existing = await repository.reaction_names(uow.session, announcement_id)
    if name not in existing and len(existing) >= REACTION_LIMIT:
        raise ValidationFailed(
            "name", f"cannot be added: an announcement has at most {REACTION_LIMIT} reactions"
        )
    added = await repository.add_reaction(
        uow.session, announcement_id, viewer_id, name, custom.id if custom else None
    )
    if added:
        await _reaction_changed(uow, announcement_id, name)


async def unreact(uow: UnitOfWork, viewer_id: int, announcement_id: int, name: str) -> None:
    """Idempotent, as Mastodon: removing a reaction one never gave answers 200 too."""
    await _published(uow.session, announcement_id)
    if len(name) > _NAME_LIMIT:
        raise ValidationFailed("name", "is not a recognized emoji")
    if await repository.remove_reaction(uow.session, announcement_id, viewer_id, name.strip()):
        await _reaction_changed(uow, announcement_id, name.strip())


async def _reaction_changed(uow: UnitOfWork, announcement_id: int, name: str) -> None:
    count = await repository.reaction_count(uow.session, announcement_id, name)
    _broadcast(
        uow,
        channels.envelope(
            channels.ANNOUNCEMENT_REACTION,
            {"name": name, "count": count, "announcement_id": str(announcement_id)},
        ),
    )


# -- the admin's writes ------------------------------------------------------------------


def require_manager(role: str | None) -> None:
    if not has_permission(role, Permission.MANAGE_ANNOUNCEMENTS):
        raise Forbidden("This action is not allowed")


@dataclass
class Draft:
    """What the admin API sends; None: not sent (an update keeps the value)."""

    text: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    all_day: bool | None = None
    published: bool | None = None
    clear_starts_at: bool = False
    clear_ends_at: bool = False


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_time(field: str, value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationFailed(field, "must be an ISO 8601 date and time")
    try:
        return _aware(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise ValidationFailed(field, "must be an ISO 8601 date and time") from None


async def every_announcement(
    session: AsyncSession, settings: Settings, role: str | None
) -> list[entities.Announcement]:
    require_manager(role)
    rows = list(await repository.every_announcement(session))
    return await _entities(session, settings, rows, None)


async def _access(uow: UnitOfWork, role: str | None, announcement_id: int) -> Announcement:
    require_manager(role)
    row = await repository.get(uow.session, announcement_id, for_update=True)
    if row is None:
        raise NotFound()
    return row


def _apply(row: Announcement, draft: Draft) -> bool:
    """The draft's fields onto the row; whether it was published before."""
    was_published = row.published_at is not None
    if draft.text is not None:
        text = draft.text.strip()
        if not text:
            raise ValidationFailed("text", "can't be blank")
        if len(text) > TEXT_LIMIT:
            raise ValidationFailed("text", f"is too long (maximum is {TEXT_LIMIT} characters)")
        row.text = text
    if draft.starts_at is not None or draft.clear_starts_at:
        row.starts_at = draft.starts_at
    if draft.ends_at is not None or draft.clear_ends_at:
        row.ends_at = draft.ends_at
    if draft.all_day is not None:
        row.all_day = draft.all_day
    if row.starts_at is not None and row.ends_at is not None:
        if _aware(row.ends_at) < _aware(row.starts_at):
            raise ValidationFailed("ends_at", "must not be before starts_at")
    elif row.all_day:
        raise ValidationFailed("all_day", "needs starts_at and ends_at")
    if draft.published is True and not was_published:
        row.published_at = utcnow()
    elif draft.published is False:
        row.published_at = None
    row.updated_at = utcnow()
    return was_published


async def _announce(
    uow: UnitOfWork, settings: Settings, row: Announcement
) -> entities.Announcement:
    await uow.session.flush()
    entity = (await _entities(uow.session, settings, [row], None))[0]
    if row.published_at is not None:
        _broadcast(uow, channels.envelope(channels.ANNOUNCEMENT, entity))
    return entity


async def create(
    uow: UnitOfWork, settings: Settings, role: str | None, draft: Draft
) -> entities.Announcement:
    require_manager(role)
    if draft.text is None:
        raise ValidationFailed("text", "can't be blank")
    row = Announcement(id=new_id(), text="", all_day=False)
    _apply(row, Draft(**{**draft.__dict__, "published": draft.published is not False}))
    uow.session.add(row)
    return await _announce(uow, settings, row)


async def update(
    uow: UnitOfWork, settings: Settings, role: str | None, announcement_id: int, draft: Draft
) -> entities.Announcement:
    row = await _access(uow, role, announcement_id)
    was_published = _apply(row, draft)
    if was_published and row.published_at is None:
        _broadcast(uow, channels.envelope(channels.ANNOUNCEMENT_DELETE, str(row.id)))
    return await _announce(uow, settings, row)


async def delete(uow: UnitOfWork, role: str | None, announcement_id: int) -> None:
    row = await _access(uow, role, announcement_id)
    if row.published_at is not None:
        _broadcast(uow, channels.envelope(channels.ANNOUNCEMENT_DELETE, str(row.id)))
    await uow.session.delete(row)
    await uow.session.flush()


# -- delivery ------------------------------------------------------------------------------


def _broadcast(uow: UnitOfWork, event: channels.Event) -> None:
    uow.enqueue(BROADCAST_JOB, {"event": event, "after": 0}, job_id=f"announce:{new_id()}")


async def broadcast_chunk(
    session: AsyncSession, after: int, size: int
) -> tuple[list[str], int | None]:
    """One chunk of a broadcast's audience: its channels and the id to carry on after (None:
    the last chunk)."""
    ids = await repository.local_account_ids(session, after, size)
    return channels.to_accounts(ids), (ids[-1] if len(ids) == size else None)
