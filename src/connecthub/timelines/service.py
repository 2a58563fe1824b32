"""Timeline rules: which feed answers home, list ownership and membership, markers."""

from __future__ import annotations

from collections.abc import Sequence

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.core.pagination import Page
from connecthub.errors import NotFound, ValidationFailed
from connecthub.ids import new_id
from connecthub.infra.engines import Engines
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses.entity_bytes import Ref
from connecthub.statuses.models import Status
from connecthub.statuses.serializers import StatusRef
from connecthub.timelines import home_pages, repository
from connecthub.timelines.feeds import feed_store
from connecthub.timelines.models import List, ListAccount, Marker, MarkerView

REPLIES_POLICIES = ("followed", "list", "none")
MARKER_TIMELINES = ("home", "notifications")
MAX_TITLE = 255


async def home(uow: UnitOfWork, viewer_id: int, page: Page) -> Sequence[StatusRef]:
    return await feed_store(uow.engines).home(uow.session, viewer_id, page)


async def home_page(
    uow: UnitOfWork, viewer_id: int, page: Page, settings: Settings
) -> tuple[bytes, Sequence[StatusRef]] | None:
    """One page of home as JSON bytes and the statuses it names (None: the session holds
    uncommitted changes, render it from its own rows)."""
    return await home_pages.render_home(uow, viewer_id, page, settings)


def held_home_page(
    engines: Engines, viewer_id: int, page: Page
) -> tuple[bytes, Sequence[StatusRef]] | None:
    """`home_page` when this process keeps the page and nothing it depends on changed (no
    await: the edge answers it at once); None otherwise."""
    return home_pages.held_page(engines, viewer_id, page)


async def public(
    uow: UnitOfWork, viewer_id: int | None, page: Page, *, only_media: bool
) -> list[Ref]:
    return await repository.public(uow.session, viewer_id, page, only_media=only_media)


async def hashtag(
    uow: UnitOfWork,
    viewer_id: int | None,
    page: Page,
    *,
    any_of: Sequence[str],
    all_of: Sequence[str],
    none_of: Sequence[str],
    only_media: bool,
) -> list[Status]:
    """Public posts tagged with any of `any_of`, all of `all_of` and none of `none_of`."""
    return await repository.hashtag(
        uow.session,
        viewer_id,
        page,
        any_of=any_of,
        all_of=all_of,
        none_of=none_of,
        only_media=only_media,
    )


async def list_timeline(uow: UnitOfWork, lst: List, page: Page) -> list[Status]:
    return await repository.list_timeline(uow.session, lst, page)


async def lists_of(uow: UnitOfWork, owner_id: int) -> list[List]:
    return await repository.lists_of(uow.session, owner_id)


async def lists_containing(uow: UnitOfWork, owner_id: int, member_id: int) -> list[List]:
    """The owner's lists that hold `member_id`."""
    return await repository.lists_containing(uow.session, owner_id, member_id)


async def members(uow: UnitOfWork, lst: List, page: Page) -> list[tuple[int, Account]]:
    """A page of (membership id, account) for a list; suspended accounts are left out."""
    return await repository.members(uow.session, lst.id, page)


async def markers(uow: UnitOfWork, account_id: int, timelines: Sequence[str]) -> list[MarkerView]:
    if not timelines:
        return []
    return await repository.marker_views(uow.session, account_id, timelines)


async def access_list(
    uow: UnitOfWork, owner_id: int, list_id: int, *, for_update: bool = False
) -> List:
    """The caller's own list; anyone else's is as good as missing (404, as Mastodon).
    The one ownership check for lists: REST and the list stream alike."""
    lst = await repository.list_of(uow.session, owner_id, list_id, for_update=for_update)
    if lst is None:
        raise NotFound()
    return lst


def _check(title: str | None, replies_policy: str | None) -> None:
    if title is not None and not title.strip():
        raise ValidationFailed("title", "can't be blank")
    if title is not None and len(title) > MAX_TITLE:
        raise ValidationFailed("title", f"is too long (at most {MAX_TITLE} characters)")
    if replies_policy is not None and replies_policy not in REPLIES_POLICIES:
        raise ValidationFailed("replies_policy", "must be one of followed, list, none")


async def create_list(
    uow: UnitOfWork, owner_id: int, *, title: str, replies_policy: str | None, exclusive: bool
) -> List:
    _check(title, replies_policy)
    lst = List(
        id=new_id(),
        account_id=owner_id,
        title=title.strip(),
        replies_policy=replies_policy or "list",
        exclusive=exclusive,
    )
    uow.session.add(lst)
    await uow.session.flush()
    return lst


async def update_list(
    uow: UnitOfWork,
    lst: List,
    *,
    title: str | None,
    replies_policy: str | None,
    exclusive: bool | None,
) -> List:
    _check(title, replies_policy)
    if title is not None:
        lst.title = title.strip()
    if replies_policy is not None:
        lst.replies_policy = replies_policy
    if exclusive is not None:
        lst.exclusive = exclusive
    await uow.session.flush()
    return lst


async def delete_list(uow: UnitOfWork, lst: List) -> None:
    await repository.clear_list(uow.session, lst.id)
    await uow.session.delete(lst)
    await uow.session.flush()


async def add_members(uow: UnitOfWork, lst: List, account_ids: Sequence[int]) -> None:
    """Only followed accounts may join a list (as Mastodon); adding one twice is a no-op."""
    wanted = list(dict.fromkeys(account_ids))
    followed = await repository.followed_among(uow.session, lst.account_id, wanted)
    if missing := [account_id for account_id in wanted if account_id not in followed]:
        raise ValidationFailed("account_ids", f"not followed: {', '.join(map(str, missing))}")
    present = await repository.existing_members(uow.session, lst.id, wanted)
    for account_id in wanted:
        if account_id not in present:
            uow.session.add(ListAccount(id=new_id(), list_id=lst.id, account_id=account_id))
    await uow.session.flush()
    home_pages.drop_on_commit(uow, [lst.account_id])  # an exclusive list hides them from home


async def remove_members(uow: UnitOfWork, lst: List, account_ids: Sequence[int]) -> None:
    await repository.remove_members(uow.session, lst.id, account_ids)
    home_pages.drop_on_commit(uow, [lst.account_id])


async def save_markers(uow: UnitOfWork, account_id: int, updates: dict[str, int]) -> list[Marker]:
    """Each save moves the marker and bumps its version (clients compare versions)."""
    existing = {
        marker.timeline: marker
        for marker in await repository.markers(uow.session, account_id, list(updates))
    }
    saved = []
    for name, last_read_id in updates.items():
        marker = existing.get(name)
        if marker is None:
            marker = Marker(id=new_id(), account_id=account_id, timeline=name, version=0)
            uow.session.add(marker)
        marker.last_read_id = last_read_id
        marker.version = (marker.version or 0) + 1
        marker.updated_at = utcnow()
        saved.append(marker)
    await uow.session.flush()
    return saved


async def forget_erased(uow: UnitOfWork, account_id: int, follower_ids: Sequence[int]) -> None:
    """Account erasure: its deleted statuses leave these (former) followers' home feeds
    (the removal jobs of its statuses may run after the follows are gone), and, with no
    followers given, its own feed goes."""
    store = feed_store(uow.engines)
    if follower_ids:
        await store.prune(uow.session, follower_ids)
    else:
        await store.forget(account_id)
