"""Custom emoji rules: who may manage them (the Manage Custom Emojis permission: admins),
shortcodes unique and well formed, images through the media pipeline (media/service), and
what a change does to cached renderings.

A status' and an account's cached entities carry the `emojis` their texts use, worked out
when they are rendered (`used_in`). Emojis change rarely and by hand, so a change retires
every cached status and account rendering at once (a new generation of those kinds) rather
than finding the texts that name the shortcode: the next read of each renders it again, with
the emoji (added) or without it (deleted, its shortcode left as text).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import entities
from connecthub.accounts.models import Account
from connecthub.accounts.roles import Permission, has_permission
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.emojis import repository
from connecthub.emojis.models import CustomEmoji
from connecthub.emojis.serializers import SHORTCODE, by_shortcode, shortcodes_in
from connecthub.errors import Forbidden, NotFound, ValidationFailed
from connecthub.infra import entity_cache
from connecthub.infra.uow import UnitOfWork
from connecthub.media import service as media
from connecthub.ops import audit

AUDIT_EVENT = "admin.custom_emoji"
CATEGORY_LIMIT = 64
# The cached kinds whose renderings show emojis (statuses/serializers, accounts/service).
RENDERED_KINDS = ("status", "account", "credential_account", "profile")


def require_manager(role: str | None) -> None:
    if not has_permission(role, Permission.MANAGE_CUSTOM_EMOJIS):
        raise Forbidden("This action is not allowed")


def shortcode(value: str) -> str:
    value = value.strip().strip(":")
    if not SHORTCODE.fullmatch(value):
        raise ValidationFailed(
            "shortcode", "must be 2 to 64 letters, digits or underscores (A-Z, a-z, 0-9, _)"
        )
    return value


def category(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > CATEGORY_LIMIT:
        raise ValidationFailed("category", f"is too long (maximum is {CATEGORY_LIMIT} characters)")
    return value or None


async def used_in(
    session: AsyncSession, settings: Settings, texts: Iterable[str | None]
) -> dict[str, entities.CustomEmoji]:
    """The emojis the shortcodes in `texts` name, by shortcode: one query, none when no text
    holds a `:shortcode:`."""
    codes = shortcodes_in(*texts)
    if not codes:
        return {}
    return by_shortcode(settings, await repository.with_shortcodes(session, codes))


async def of_profiles(
    session: AsyncSession, settings: Settings, accounts: Iterable[Account]
) -> dict[str, entities.CustomEmoji]:
    """The emojis the display names and bios of `accounts` may name (`used_in`)."""
    return await used_in(session, settings, [t for a in accounts for t in (a.display_name, a.note)])


async def listed(session: AsyncSession) -> list[CustomEmoji]:
    """Mastodon's `/api/v1/custom_emojis`: the emojis shown in pickers."""
    return list(await repository.everything(session, listed_only=True))


async def every_emoji(session: AsyncSession, role: str | None) -> list[CustomEmoji]:
    require_manager(role)
    return list(await repository.everything(session, listed_only=False))


async def access_emoji(
    session: AsyncSession, role: str | None, emoji_id: int, *, for_update: bool = False
) -> CustomEmoji:
    require_manager(role)
    emoji = await repository.get(session, emoji_id, for_update=for_update)
    if emoji is None:
        raise NotFound()
    return emoji


def _changed(uow: UnitOfWork, actor: int | None, action: str, emoji: CustomEmoji) -> None:
    entity_cache.retire_on_commit(uow.session, *RENDERED_KINDS)
    audit.record(
        AUDIT_EVENT,
        actor=audit.account_actor(actor) if actor is not None else audit.CLI_ACTOR,
        action=action,
        outcome=audit.Outcome.DONE,
        shortcode=emoji.shortcode,
    )


async def create(
    uow: UnitOfWork,
    settings: Settings,
    actor: int | None,
    role: str | None,
    *,
    code: str,
    image: media.Incoming,
    category_name: str | None = None,
    visible_in_picker: bool = True,
) -> CustomEmoji:
    """`actor` None: the `connecthub emoji add` command (an operator)."""
    if actor is not None:
        require_manager(role)
    code = shortcode(code)
    if await repository.with_shortcodes(uow.session, [code]):
        raise ValidationFailed("shortcode", "has already been taken")
    image_key, static_key = await media.store_emoji(uow, settings, image)
    emoji = CustomEmoji(
        shortcode=code,
        image_key=image_key,
        static_key=static_key,
        visible_in_picker=visible_in_picker,
        category=category(category_name),
    )
    uow.session.add(emoji)
    await uow.session.flush()
    _changed(uow, actor, "create", emoji)
    return emoji


async def update(
    uow: UnitOfWork,
    settings: Settings,
    actor: int,
    role: str | None,
    emoji_id: int,
    *,
    image: media.Incoming | None,
    category_name: str | None,
    visible_in_picker: bool | None,
) -> CustomEmoji:
    """PATCH: only the fields sent change (`category_name` "" clears the category)."""
    emoji = await access_emoji(uow.session, role, emoji_id, for_update=True)
    old_keys = [emoji.image_key, emoji.static_key]
    if image is not None:
        emoji.image_key, emoji.static_key = await media.store_emoji(uow, settings, image)
    if category_name is not None:
        emoji.category = category(category_name)
    if visible_in_picker is not None:
        emoji.visible_in_picker = visible_in_picker
    emoji.updated_at = utcnow()
    await uow.session.flush()
    replaced = [key for key in old_keys if key not in (emoji.image_key, emoji.static_key)]
    await media.purge_after_commit(uow, replaced)
    _changed(uow, actor, "update", emoji)
    return emoji


async def delete(uow: UnitOfWork, actor: int, role: str | None, emoji_id: int) -> None:
    """Its files go after commit (unless another emoji has the same image), reactions
    with it go with the row; texts keep the shortcode as plain text."""
    emoji = await access_emoji(uow.session, role, emoji_id, for_update=True)
    keys = [emoji.image_key, emoji.static_key]
    await uow.session.delete(emoji)
    await uow.session.flush()
    await media.purge_after_commit(uow, keys)
    _changed(uow, actor, "delete", emoji)


async def named(session: AsyncSession, code: str) -> CustomEmoji | None:
    """The custom emoji with this exact shortcode, if any (a reaction's name)."""
    found = await repository.with_shortcodes(session, [code]) if SHORTCODE.fullmatch(code) else []
    return found[0] if found else None
