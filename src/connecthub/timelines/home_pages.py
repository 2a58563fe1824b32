"""Home pages answered in the process that last answered them (ADR 0052).

A home page is the feed's ids (a Redis round trip) kept to those home may show with the
viewer's flags on them (a PostgreSQL round trip, `home_among`), then rendered from the entity
cache's near copies. In distributed mode a process keeps what the two round trips answered
for each page a viewer asked for, as an entry of the `home` kind held near (never in Redis),
and answers the same page again from it with no round trip at all, while:

- nothing the answer depends on has changed: every row that decides what the viewer's home
  shows or the flags on it is tracked for the viewer's `home` entry (timelines/models.py:
  their follows, blocks either way, mutes, favourites, boosts and deletions, bookmarks,
  pins, thread mutes, tag follows, lists), the feed store drops (or, adding, marks: below)
  the entry of every feed it writes, and the list service drops the owner's when members
  change; each drop reaches
  every process with the entity cache's invalidations (ADR 0042), and a page made from
  reads that raced one is not kept;
- every status and author on the page (and every boosted status and its author) is still
  held near: a deletion, an edit, a hold for review or a suspension drops their copies, so
  the page is asked for again and the visibility rule (statuses/access.py) decides afresh;
- it is younger than `NEAR_CACHE_SECONDS` (30 s), which also bounds how long a mute that
  ran out keeps hiding posts.

Pages only behind. A status reaching a home (the fan-out's feed write) only adds to it, and
a counter moving (a post counted on its author, a favourite, a boost or a reply counted on
a status) only makes a page behind by a count: such changes mark the viewer's entry, and
the near copies the page was made from, stale rather than dropping them
(`EntityCache.stale_near`, `entity_cache.COUNTS_ONLY`); a page that expired is set aside
too (time alone made it behind). A stale page is never answered as a kept one. But while
the page is being rendered, or while the process is busy rendering `BUSY_RENDERINGS` pages,
a read of a page nothing else changed for is answered that page at once, and its rendering
again is left to the background (`BACKGROUND_RENDERINGS` at a time):
after a burst of posts every follower's page went at once, and every read waited for a
rendering, each waiting for PostgreSQL on cores busy with the answers given at once (home's
p99 at 64 connections 100-160 ms in the rounds after posts, ~25 ms otherwise; ADR 0052,
docs/benchmarks.md "Pages only behind"). Any other change of an entry the page depends on
(a follow, block, mute, deletion, edit, suspension) still drops it, and such a page is never
answered. A process that is not busy answers every read as before: afresh once anything
changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, NamedTuple

import structlog

from connecthub.config import Settings
from connecthub.core.pagination import Page
from connecthub.filters.models import RULES_KIND
from connecthub.infra import entity_cache
from connecthub.infra.engines import Engines
from connecthub.infra.entity_cache import EntityCache
from connecthub.infra.near_cache import Held
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses.entity_bytes import joined_page, status_bytes
from connecthub.statuses.serializers import ACCOUNT, STATUS, StatusRef
from connecthub.timelines.feeds import feed_store
from connecthub.timelines.models import HOME_KIND

PAGES_PER_VIEWER = 4  # the first page, a poll for newer, and a step or two back
# Renderings of home pages in flight in a process from which a read of a page that is only
# behind answers it and leaves its rendering to the background, at most
# BACKGROUND_RENDERINGS at a time (see the module's docstring).
BUSY_RENDERINGS = 2
BACKGROUND_RENDERINGS = 2

log = structlog.get_logger(__name__)
_background: set[asyncio.Task[None]] = set()


class _Kept(NamedTuple):
    generation: bytes  # the `home` kind's, when the page was read
    statuses: tuple[StatusRef, ...]
    # The near keys of the entries the page was written from: its statuses and those they
    # boost, their authors, the viewer's filter rules (`EntityCache.near_keys`).
    keys: tuple[str, ...]
    held: Held  # their near copies when the body was written
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
    if (answer := await _kept_answer(cache, viewer_id, key)) is not None:
        return answer
    if (answer := _behind_while_busy(uow.engines, cache, viewer_id, page)) is not None:
        return answer
    # One rendering of a page at a time in a process: a read that finds the same page being
    # made waits for it, then answers from the page it kept, if it did and nothing changed
    # since (as any kept page; else it renders the page itself). After a burst of posts
    # dropped every page, concurrent reads of one viewer's page made it once each.
    making = (HOME_KIND, viewer_id, key)
    if (made := cache.making.get(making)) is not None:
        await made.wait()
        if (answer := await _kept_answer(cache, viewer_id, key)) is not None:
            return answer
        return await _render(uow, cache, viewer_id, page, key, settings)
    done = cache.making[making] = asyncio.Event()
    try:
        return await _render(uow, cache, viewer_id, page, key, settings)
    finally:
        del cache.making[making]
        done.set()


async def _kept_answer(
    cache: EntityCache, viewer_id: int, key: tuple[int | None, ...]
) -> tuple[bytes, Sequence[StatusRef]] | None:
    pages: dict[tuple[int | None, ...], _Kept] | None = cache.held(HOME_KIND, viewer_id)
    kept = pages.get(key) if pages else None
    if kept is not None and _still_good(cache, pages, key, await cache.generation_near(HOME_KIND)):
        return kept.body, kept.statuses
    return None


def _behind_while_busy(
    engines: Engines, cache: EntityCache, viewer_id: int, page: Page
) -> tuple[bytes, Sequence[StatusRef]] | None:
    """While this page is being rendered, or `BUSY_RENDERINGS` pages are in the process, the
    page as it was before statuses reached the home or counters moved (`_behind`), its
    rendering again left to the background; None otherwise (the read renders it)."""
    key = _page_key(page)
    making = (HOME_KIND, viewer_id, key)
    if making not in cache.making and len(cache.making) < BUSY_RENDERINGS:
        return None
    answer = _behind(cache, viewer_id, key)
    if (
        answer is not None
        and making not in cache.making
        and len(cache.refreshing) < BACKGROUND_RENDERINGS
    ):
        _render_later(engines, cache, viewer_id, page)
    return answer


def _render_later(engines: Engines, cache: EntityCache, viewer_id: int, page: Page) -> None:
    """Render the page again in the background (a unit of work of its own), as one read
    would; reads of it meanwhile are answered what `_behind` finds."""
    key = _page_key(page)
    making = (HOME_KIND, viewer_id, key)
    done = cache.making[making] = asyncio.Event()
    cache.refreshing.add(making)

    async def render() -> None:
        uow = UnitOfWork(engines, readonly=True)
        try:
            await _render(uow, cache, viewer_id, page, key, engines.settings)
        except Exception as exc:  # the next read renders it the usual way
            log.warning("home_pages.render_failed", error=str(exc))
        finally:
            await uow.close()
            del cache.making[making]
            cache.refreshing.discard(making)
            done.set()

    task = asyncio.get_running_loop().create_task(render())
    _background.add(task)
    task.add_done_callback(_background.discard)


def _behind(
    cache: EntityCache, viewer_id: int, key: tuple[int | None, ...]
) -> tuple[bytes, Sequence[StatusRef]] | None:
    """The page kept, or set aside (a status reached the home, or it expired), while the
    `home` kind's generation is the one it was read under and nothing it was made from
    changed since but counters: behind, not wrong."""
    generation = cache.generation_held(HOME_KIND)
    for pages in (cache.held(HOME_KIND, viewer_id), cache.held_stale(HOME_KIND, viewer_id)):
        kept: _Kept | None = pages.get(key) if pages else None
        if (
            kept is not None
            and kept.generation == generation
            and cache.unchanged_near(kept.keys, kept.held)
        ):
            return kept.body, kept.statuses
    return None


async def _render(
    uow: UnitOfWork,
    cache: EntityCache,
    viewer_id: int,
    page: Page,
    key: tuple[int | None, ...],
    settings: Settings,
) -> tuple[bytes, Sequence[StatusRef]] | None:
    pages: dict[tuple[int | None, ...], _Kept] | None = cache.held(HOME_KIND, viewer_id)
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
        keys = cache.near_keys(wanted)
        held = cache.held_near(keys)
        if held is not None:
            others = [(k, v) for k, v in (pages or {}).items() if k != key]
            kept_pages = dict(others[-(PAGES_PER_VIEWER - 1) :])
            kept_pages[key] = _Kept(generation, statuses, keys, held, body)
            cache.keep_near(
                HOME_KIND, viewer_id, kept_pages, ticket, depends=keys, stale_if_marked=True
            )
    return body, statuses


def held_page(
    engines: Engines, viewer_id: int, page: Page
) -> tuple[bytes, Sequence[StatusRef]] | None:
    """`render_home`'s answer when this process keeps the page and holds everything it is
    checked against (no await, no session: the edge answers it at once), or the page set
    aside as stale while a read renders it again; None otherwise."""
    cache = engines.db.entity_cache
    if cache is None:
        return None
    key = _page_key(page)
    pages: dict[tuple[int | None, ...], _Kept] | None = cache.held(HOME_KIND, viewer_id)
    kept = pages.get(key) if pages else None
    if kept is not None and _still_good(cache, pages, key, cache.generation_held(HOME_KIND)):
        return kept.body, kept.statuses
    return _behind_while_busy(engines, cache, viewer_id, page)


def _still_good(
    cache: EntityCache, pages: Any, key: tuple[int | None, ...], generation: bytes | None
) -> bool:
    """Nothing the kept page `pages[key]` depends on changed: the `home` kind's generation
    (`generation` as held now) and the very copies it was written from (a status held for
    review renders as before, yet must not be shown). Checked again key by key after any
    invalidation in the process, the page then keeps the copies as of now, so that the
    next check is a quick one again."""
    kept: _Kept = pages[key]
    if generation != kept.generation:
        return False
    held = cache.still_held(kept.keys, kept.held)
    if held is None:
        return False
    if held is not kept.held:
        pages[key] = kept._replace(held=held)
    return True


def drop_on_commit(uow: UnitOfWork, viewer_ids: Sequence[int]) -> None:
    """These viewers' kept pages go when the unit of work commits (a change the tracked
    rows do not name, such as an exclusive list's members)."""
    entity_cache.drop_on_commit(uow.session, HOME_KIND, viewer_ids)
