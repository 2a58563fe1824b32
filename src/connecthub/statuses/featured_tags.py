"""Featured hashtags (Mastodon's FeaturedTag): the tags an account shows on its profile, at
most MAX_FEATURED of them, each with how many of the account's public and unlisted
statuses carry it. The counts are read from the statuses when shown, in the query that
lists the tags (ADR 0018), so no status write has to keep them."""

from __future__ import annotations

from connecthub import entities
from connecthub.config import Settings
from connecthub.errors import NotFound, ValidationFailed
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses import repository, serializers, text
from connecthub.statuses import tags as tags_service

MAX_FEATURED = 10  # Mastodon's FeaturedTag::LIMIT
SUGGESTIONS = 10  # suggestions answered, from the latest RECENT_STATUSES statuses
RECENT_STATUSES = 1000


def _name(raw: str) -> str:
    name = raw.strip().removeprefix("#")
    if not name:
        raise ValidationFailed("name", "is required")
    if not text.is_hashtag_name(name):
        raise ValidationFailed(
            "name", "is not a valid hashtag (letters, digits and underscores, not only digits)"
        )
    return name


async def featured(
    uow: UnitOfWork, settings: Settings, account_id: int, username: str
) -> list[entities.FeaturedTag]:
    """The account's featured tags, most used first."""
    rows = await repository.featured_tags_of(uow.session, account_id)
    return [
        serializers.featured_tag_entity(settings, username, row, count, last)
        for row, count, last in rows
    ]


async def feature(
    uow: UnitOfWork, settings: Settings, account_id: int, username: str, raw_name: str
) -> entities.FeaturedTag:
    """Feature a tag (made when no status used it yet). 422 naming `name` for an invalid
    name, a tag featured already, or an eleventh one."""
    name = _name(raw_name)
    session = uow.session
    if await repository.count_featured_tags(session, account_id) >= MAX_FEATURED:
        raise ValidationFailed("name", f"cannot be featured: at most {MAX_FEATURED} tags")
    [tag] = await repository.tags_by_name(session, [name])
    row_id = await repository.insert_featured_tag(session, account_id, tag.id, name)
    if row_id is None:
        raise ValidationFailed("name", "is already featured")
    [shown] = await repository.featured_tags_of(session, account_id, only_id=row_id)
    return serializers.featured_tag_entity(settings, username, *shown)


async def unfeature(uow: UnitOfWork, account_id: int, row_id: int) -> None:
    """404 for another account's featured tag, as for a missing one."""
    row = await repository.featured_tag(uow.session, account_id, row_id)
    if row is None:
        raise NotFound()
    await uow.session.delete(row)


async def suggestions(
    uow: UnitOfWork, settings: Settings, account_id: int
) -> list[entities.TagDetails]:
    """The tags the account used most in its latest statuses that it does not feature."""
    tags = await repository.most_used_tags(
        uow.session, account_id, recent=RECENT_STATUSES, limit=SUGGESTIONS
    )
    return await tags_service.tag_entities(uow, tags, account_id, featured=frozenset())
