"""Home pages answered in the process that last answered them (ADR 0052).

A home page is the feed's ids (a Redis round trip) kept to those home may show with the
viewer's flags on them (a PostgreSQL round trip, `home_among`), then rendered from the entity
cache's near copies. In distributed mode a process keeps what the two round trips answered
for each page a viewer asked for, as an entry of the `home` kind held near (never in Redis),
and answers the same page again from it with no round trip at all, while:

- nothing the answer depends on has changed: every row that decides what the viewer's home
  shows or the flags on it is tracked for the viewer's `home` entry (timelines/models.py:
  their follows, blocks either way, mutes, favourites, boosts and posts, bookmarks, pins,
  thread mutes, tag follows, lists), the feed store drops the entry of every feed it
  writes, and the list service drops the owner's when members change; each drop reaches
  every process with the entity cache's invalidations (ADR 0042), and a page made from
  reads that raced one is not kept;
- every status and author on the page (and every boosted status and its author) is still
  held near: a deletion, an edit, a hold for review or a suspension drops their copies, so
  the page is asked for again and the visibility rule (statuses/access.py) decides afresh;
- it is younger than `NEAR_CACHE_SECONDS` (30 s), which also bounds how long a mute that
  ran out keeps hiding posts.

Embedded mode keeps them the same way: its near copies and their invalidations travel on
the in-process bus.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from connecthub.config import Settings
from connecthub.core.pagination import Page
from connecthub.filters.models import RULES_KIND
from connecthub.infra import entity_cache
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses.entity_bytes import joined_page, status_bytes
from connecthub.statuses.serializers import ACCOUNT, STATUS, StatusRef
from connecthub.timelines.feeds import feed_store
from connecthub.timelines.models import HOME_KIND

PAGES_PER_VIEWER = 4  # the first page, a poll for newer, and a step or two back


class _Kept(NamedTuple):
    generation: bytes  # the `home` kind's, when the page was read
    statuses: tuple[StatusRef, ...]
    # The entries the page was written from: its statuses and those they boost, their
    # authors, the viewer's filter rules (`EntityCache.held_near`).
    wanted: dict[str, list[int]]
    held: tuple[Any, ...]  # their near copies when the body was written
    body: bytes


def _page_key(page: Page) -> tuple[int | None, ...]:
    return (page.max_id, page.since_id, page.min_id, page.limit)


async def render_home(
    uow: UnitOfWork, viewer_id: int, page: Page, settings: Settings
) -> tuple[bytes, Sequence[StatusRef]] | None:
    """One page of the viewer's home as JSON bytes, with the statuses it names (for the
    `Link` header). None when the session holds uncommitted changes."""
    # No session is opened for a page answered from what this process keeps.
    cache = uow.engines.db.entity_cache if uow.opened is None else entity_cache.of(uow.session)
    if cache is None:
        return None
    key = _page_key(page)
    pages: dict[tuple[int | None, ...], _Kept] | None = cache.held(HOME_KIND, viewer_id)
    kept = pages.get(key) if pages else None
    if (
        kept is not None
        and await cache.generation_near(HOME_KIND) == kept.generation
        and _same(cache.held_near(kept.wanted), kept.held)
    ):
        return kept.body, kept.statuses

    ticket = cache.ticket()
    generation = await cache.generation_near(HOME_KIND)
    session = uow.session
    statuses = tuple(await feed_store(uow.engines).home(session, viewer_id, page))
    written = await status_bytes(session, statuses, viewer_id, settings, context="home")
    if written is None:
        return None
    body = joined_page(statuses, written.statuses)
    if generation is not None and not written.read_live:
        everything = [*statuses, *written.boosted.values()]
        wanted = {
            STATUS: sorted({s.id for s in everything}),
            ACCOUNT: sorted({s.account_id for s in everything}),
            RULES_KIND: [viewer_id],
        }
        held = cache.held_near(wanted)
        if held is not None:
            others = [(k, v) for k, v in (pages or {}).items() if k != key]
            kept_pages = dict(others[-(PAGES_PER_VIEWER - 1) :])
            kept_pages[key] = _Kept(generation, statuses, wanted, held, body)
            cache.keep_near(HOME_KIND, viewer_id, kept_pages, ticket)
    return body, statuses


def _same(now: tuple[Any, ...] | None, then: tuple[Any, ...]) -> bool:
    """The very copies the page was written from, all still held: a copy dropped and read
    again is another object even when its bytes are equal (a status held for review renders
    as before, yet must not be shown)."""
    if now is None or len(now) != len(then):
        return False
    return all(a is b for a, b in zip(now, then, strict=True))


def drop_on_commit(uow: UnitOfWork, viewer_ids: Sequence[int]) -> None:
    """These viewers' kept pages go when the unit of work commits (a change the tracked
    rows do not name, such as an exclusive list's members)."""
    entity_cache.drop_on_commit(uow.session, HOME_KIND, viewer_ids)
