"""Hashtags as things one looks at and follows: `/api/v1/tags/:name` (with seven days of
use), follow and unfollow, the followed list. Following a hashtag brings the public posts
that carry it into one's home (timelines: `home_filters` and the tag followers' fan-out)."""

from __future__ import annotations

from collections.abc import Sequence, Set
from datetime import UTC, datetime, timedelta

from connecthub import entities
from connecthub.clock import utcnow
from connecthub.core.pagination import Page
from connecthub.errors import NotFound
from connecthub.ids import id_for_time
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses import repository
from connecthub.statuses.models import Tag
from connecthub.statuses.serializers import tag_details_entity
from connecthub.statuses.text import is_hashtag_name

# Home-feed hooks (timelines/tasks.py), payload {"account_id", "tag_id"}.
MERGE_TAG_JOB = "timelines.merge_tag"
UNMERGE_TAG_JOB = "timelines.unmerge_tag"
HISTORY_DAYS = 7
FOLLOWED_DEFAULT_LIMIT = 100
FOLLOWED_MAX_LIMIT = 200


def _checked(name: str) -> str:
    """A hashtag name from a path: a name no post could tag is not found (as Mastodon)."""
    name = name.removeprefix("#")
    if not is_hashtag_name(name):
        raise NotFound()
    return name


def _day_starts(now: datetime) -> list[datetime]:
    """Midnight (UTC) of today and the six days before it, newest first."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return [today - timedelta(days=days) for days in range(HISTORY_DAYS)]


async def tag_entities(
    uow: UnitOfWork,
    tags: Sequence[Tag],
    viewer_id: int | None,
    following: bool | None = None,
    *,
    featured: Set[int] | None = None,
) -> list[entities.TagDetails]:
    """Each tag with its history (one query for all) and, for a signed-in viewer, whether
    they follow it (one more, unless the caller knows: `following`, the same for all) and,
    given `featured` (the ids the viewer features), whether they feature it."""
    days = _day_starts(utcnow())
    starts = [id_for_time(int(day.timestamp() * 1000)) for day in days]
    ids = [tag.id for tag in tags if tag.id is not None]
    uses = await repository.tag_uses(uow.session, ids, starts)
    if following is not None:
        followed = set(ids) if following else set()
    elif viewer_id is not None:
        followed = await repository.followed_tag_ids(uow.session, viewer_id, ids)
    else:
        followed = set()
    settings = uow.engines.settings
    result = []
    for tag in tags:
        history: list[entities.TagHistory] = []
        for index, day in enumerate(days):
            count, accounts = uses.get((tag.id, index), (0, 0))
            history.append(
                {"day": str(int(day.timestamp())), "uses": str(count), "accounts": str(accounts)}
            )
        entity = tag_details_entity(
            settings, tag.id, tag.name, history, None if viewer_id is None else tag.id in followed
        )
        if featured is not None:
            entity["featuring"] = tag.id in featured
        result.append(entity)
    return result


async def show(uow: UnitOfWork, viewer_id: int | None, name: str) -> entities.TagDetails:
    """One hashtag, used or not: an unused one is answered with no id and no uses."""
    name = _checked(name)
    tag = await repository.tag_by_name(uow.session, name)
    if tag is None:
        tag = Tag(id=None, name=name, name_key=name.lower())
    [entity] = await tag_entities(uow, [tag], viewer_id)
    return entity


async def follow(uow: UnitOfWork, account_id: int, name: str) -> entities.TagDetails:
    """Idempotent (as Mastodon since 4.1); the hashtag is made if nobody has used it yet."""
    [tag] = await repository.tags_by_name(uow.session, [_checked(name)])
    if await repository.follow_tag(uow.session, account_id, tag.id):
        uow.enqueue(MERGE_TAG_JOB, {"account_id": account_id, "tag_id": tag.id})
    [entity] = await tag_entities(uow, [tag], account_id, following=True)
    return entity


async def unfollow(uow: UnitOfWork, account_id: int, name: str) -> entities.TagDetails:
    """Idempotent; new posts with it stop coming into home at once (reads check the follow)."""
    name = _checked(name)
    tag = await repository.tag_by_name(uow.session, name)
    if tag is None:
        tag = Tag(id=None, name=name, name_key=name.lower())
    elif await repository.unfollow_tag(uow.session, account_id, tag.id):
        uow.enqueue(UNMERGE_TAG_JOB, {"account_id": account_id, "tag_id": tag.id})
    [entity] = await tag_entities(uow, [tag], account_id, following=False)
    return entity


async def followed(
    uow: UnitOfWork, account_id: int, page: Page
) -> tuple[list[int], list[entities.TagDetails]]:
    """A page of the hashtags the account follows: (the follows' ids, the cursor of the Link
    header; the tags)."""
    rows = await repository.followed_tags(uow.session, account_id, page)
    found = await tag_entities(uow, [tag for _, tag in rows], account_id, following=True)
    return [follow_id for follow_id, _ in rows], found
