"""Home feeds: the one module of timelines where the two modes differ
(docs/adr/0005-home-feed-fan-out.md; the rule: docs/adr/0002-engines-and-modes.md).

- `DatabaseFeedStore` (embedded): home is one indexed query; pushes are no-ops.
- `RedisFeedStore` (distributed): fan-out on write. Each account's home is a sorted set of
  status ids (score = id) capped at `HOME_FEED_MAX_ITEMS`. A read takes a page of ids from it
  and loads them in ONE query that applies the visibility rules again, so an entry is only a
  hint. A feed nobody reads expires after `HOME_FEED_TTL_DAYS`; fan-out skips missing feeds,
  and the next read rebuilds the feed from the database.

A feed carries a sentinel member, always its lowest-ranked, whose score says its state:
building, complete (the feed holds the account's whole home) or truncated (older posts exist
only in the database). The sentinel's name is its stamp, `0:{run_id}:{claim}`: the Redis
instance that built the feed (INFO's `run_id`, new at every start) and the build that claimed
it. A feed stamped by another instance is dropped on its next read and rebuilt from the
database: a Redis restarted from a snapshot or an AOF, or a promoted replica, brings feeds
back without the pushes its predecessor applied last, and no push will ever bring those
(docs/adr/0008-home-feed-repair.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.config import Settings
from connecthub.core.pagination import Page
from connecthub.infra.engines import Engines
from connecthub.infra.entity_cache import EntityCache
from connecthub.infra.redis import KeySpace
from connecthub.statuses.serializers import StatusRef
from connecthub.timelines import repository
from connecthub.timelines.models import HOME_KIND

BUILDING = -2
COMPLETE = -1
TRUNCATED = -3
BUILD_LEASE_SECONDS = 60
MAX_READ_ROUNDS = 3
# Members added per ZADD when a build finishes (Lua's unpack has a stack limit).
_FINISH_CHUNK = 500

# A sentinel is named `0:{run_id}:{claim token}`. INFO's `run_id` is random at every start
# of Redis, so a restart (with or without persistence) or a failover to a replica gives a
# new one. A server that reports none stamps `none`, and its feeds are trusted as before.
_STAMP = """
local function run_id()
  return string.match(redis.call('INFO', 'server'), 'run_id:(%w+)') or 'none'
end
local function built_here(sentinel)
  local run = string.match(sentinel, '^0:(%w+):')
  if run == nil then return false end
  if run == 'none' then return true end
  return string.find(redis.call('INFO', 'server'), 'run_id:' .. run .. '\\r\\n', 1, true) ~= nil
end
"""

# Add one id to every existing feed of KEYS and trim each to its cap (rank 0 is the sentinel,
# whose score is below every id); a missing feed belongs to an inactive account and is
# skipped. A complete feed that loses its oldest entry becomes truncated; a feed being built
# keeps its state (the build decides it). One call for a whole chunk of followers: a call per
# feed cost the worker ~20 µs of client CPU each (docs/benchmarks.md, "Eighth round").
# Returns how many feeds took the id.
_PUSH = f"""
local id = ARGV[1]
local cap = tonumber(ARGV[2])
local pushed = 0
for i = 1, #KEYS do
  local key = KEYS[i]
  if redis.call('EXISTS', key) == 1 then
    redis.call('ZADD', key, id, id)
    if redis.call('ZCARD', key) > cap + 1 then
      redis.call('ZREMRANGEBYRANK', key, 1, -(cap + 1))
      local head = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      if tonumber(head[2]) == {COMPLETE} then
        redis.call('ZADD', key, {TRUNCATED}, head[1])
      end
    end
    pushed = pushed + 1
  end
end
return pushed
"""

# One page of ids with the feed's state and its oldest id; reading keeps a finished feed
# alive (never a half-built one, whose short lease must run out if its builder died). A feed
# this Redis instance did not build (or one without its sentinel) is deleted and reported
# missing, so the reader rebuilds it.
_READ = (
    _STAMP
    + """
local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #head == 0 then return {} end
if not built_here(head[1]) then
  redis.call('DEL', KEYS[1])
  return {}
end
local state = head[2]
if ARGV[5] == '1' and tonumber(state) ~= tonumber(ARGV[6]) then
  redis.call('EXPIRE', KEYS[1], ARGV[7])
end
local oldest = redis.call('ZRANGE', KEYS[1], 1, 1)
local ids
if ARGV[1] == 'asc' then
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[3], 'LIMIT', 0, ARGV[4])
else
  ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[3], ARGV[2], 'LIMIT', 0, ARGV[4])
end
return {state, oldest[1] or '', ids}
"""
)

# Claim a cold feed for rebuilding: a building sentinel stamped with this instance and the
# builder's token, under a short lease that frees it if the builder dies. Returns the
# sentinel's name (the claim), or nothing when the feed exists.
_CLAIM = (
    _STAMP
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local claim = '0:' .. run_id() .. ':' .. ARGV[1]
redis.call('ZADD', KEYS[1], ARGV[2], claim)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return claim
"""
)

# Finish a build: only while its claim still holds on the instance that granted it. A lease
# that ran out, a Redis that restarted meanwhile (empty, or from a snapshot taken during the
# build) means pushes may have been missed since the claim: the feed is left to a new build.
# ARGV: claim, cap, truncated ('1' when the database had more), ttl, then the ids.
_FINISH = (
    _STAMP
    + f"""
local claim = ARGV[1]
if not redis.call('ZSCORE', KEYS[1], claim) or not built_here(claim) then return 0 end
local members = {{}}
for i = 5, #ARGV do
  members[#members + 1] = ARGV[i]
  members[#members + 1] = ARGV[i]
  if #members >= {2 * _FINISH_CHUNK} then
    redis.call('ZADD', KEYS[1], unpack(members))
    members = {{}}
  end
end
if #members > 0 then redis.call('ZADD', KEYS[1], unpack(members)) end
local trimmed = redis.call('ZREMRANGEBYRANK', KEYS[1], 1, -(tonumber(ARGV[2]) + 1))
local state = {COMPLETE}
if ARGV[3] == '1' or trimmed > 0 then state = {TRUNCATED} end
redis.call('ZADD', KEYS[1], state, claim)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""
)


class FeedStore(Protocol):
    distributed: bool

    async def home(self, session: AsyncSession, viewer_id: int, page: Page) -> Sequence[StatusRef]:
        """One page of the viewer's home, newest first, every row visibility-checked."""
        ...

    async def push(self, account_ids: Sequence[int], status_id: int) -> None:
        """Put a new status into these accounts' feeds (idempotent)."""
        ...

    async def remove(self, account_ids: Sequence[int], status_ids: Sequence[int]) -> None: ...

    async def merge(self, session: AsyncSession, account_id: int, target_id: int) -> None:
        """A new follow: bring the target's recent posts into the account's feed."""
        ...

    async def unmerge(self, session: AsyncSession, account_id: int, target_id: int) -> None:
        """A follow ended, or a block or mute: drop the target's posts and boosts of them."""
        ...

    async def merge_tag(self, session: AsyncSession, account_id: int, tag_id: int) -> None:
        """A new hashtag follow: bring its recent public posts into the account's feed."""
        ...

    async def unmerge_tag(self, session: AsyncSession, account_id: int, tag_id: int) -> None:
        """A hashtag follow ended: drop its posts that home no longer shows."""
        ...

    async def prune(self, session: AsyncSession, account_ids: Sequence[int]) -> None:
        """Drop from these accounts' feeds the ids of statuses that no longer exist."""
        ...

    async def forget(self, account_id: int) -> None:
        """The account is erased: its own feed goes."""
        ...


class DatabaseFeedStore:
    """Embedded mode: home is read from the database; there is nothing to push.

    A page is found as a Redis feed's is, in two statements: the newest ids by the viewer and
    the accounts they follow, or with a hashtag the viewer follows (`home_candidates`, no
    other rule), then `home_among`, which keeps those home may show. As one statement, SQLite
    gathers every followed account's statuses, checks each against every rule and only then
    sorts: ~40 ms a page on the dense community (50 accounts following each other, 5,000
    statuses) against well under one here (docs/benchmarks.md, "Embedded mode")."""

    distributed = False

    def __init__(self, entities: EntityCache | None = None) -> None:
        # Nothing to write, but the pages of home each process keeps (timelines/
        # home_pages.py) go with every status that reaches or leaves these homes.
        self.entities = entities

    async def home(self, session: AsyncSession, viewer_id: int, page: Page) -> list[StatusRef]:
        fetch = page.limit * 2 + 10  # room for rows the rules drop
        found: list[StatusRef] = []
        current = page
        for _round in range(MAX_READ_ROUNDS):
            ids = await repository.home_candidates(session, viewer_id, current, fetch)
            found += await repository.home_among(
                session, viewer_id, ids, page.limit - len(found), ascending=page.ascending
            )
            if len(found) >= page.limit or len(ids) < fetch:
                return page.newest_first(found)
            current = _after(current, ids)
        # The rules dropped most of what was looked at (a viewer who muted most of those
        # they follow, say): the rest in one statement, past the rows already seen.
        rest = await repository.home(
            session, viewer_id, replace(current, limit=page.limit - len(found))
        )
        if page.ascending:
            rest.reverse()  # `home` answers newest first
        return page.newest_first(found + rest)

    async def push(self, account_ids: Sequence[int], status_id: int) -> None:
        await _grew(self.entities, account_ids)

    async def remove(self, account_ids: Sequence[int], status_ids: Sequence[int]) -> None:
        if status_ids:
            await _changed(self.entities, account_ids)

    async def merge(self, session: AsyncSession, account_id: int, target_id: int) -> None:
        return None

    async def unmerge(self, session: AsyncSession, account_id: int, target_id: int) -> None:
        return None

    async def merge_tag(self, session: AsyncSession, account_id: int, tag_id: int) -> None:
        return None

    async def unmerge_tag(self, session: AsyncSession, account_id: int, tag_id: int) -> None:
        return None

    async def prune(self, session: AsyncSession, account_ids: Sequence[int]) -> None:
        return None  # home is read from the statuses themselves

    async def forget(self, account_id: int) -> None:
        return None


def _bound(value: int | None, default: str) -> str:
    # Scores are doubles, so ids above 2^53 round: bounds are inclusive here and the exact
    # comparison happens on the integer members afterwards.
    return default if value is None else str(value)


class RedisFeedStore:
    distributed = True

    def __init__(
        self, redis: Redis, settings: Settings, entities: EntityCache | None = None
    ) -> None:
        self.redis = redis
        # Pages of home kept in each process (timelines/home_pages.py) are dropped with
        # every write to the feeds they were read from.
        self.entities = entities
        self.keys = KeySpace(settings.redis_key_prefix)
        self.cap = settings.home_feed_max_items
        self.ttl = settings.home_feed_ttl_days * 86400
        self._push = redis.register_script(_PUSH)
        self._claim = redis.register_script(_CLAIM)
        self._finish = redis.register_script(_FINISH)
        self._read_script = redis.register_script(_READ)

    def key(self, account_id: int) -> str:
        return self.keys("feed", "home", account_id)

    # Reading

    async def home(self, session: AsyncSession, viewer_id: int, page: Page) -> Sequence[StatusRef]:
        key = self.key(viewer_id)
        fetch = page.limit * 2 + 10  # room for entries the visibility check drops
        state, oldest, raw = await self._read(key, page, fetch, refresh=True)
        if state is None and await self.rebuild(session, viewer_id):
            # The page from the feed just built: the one-statement page query would walk
            # `statuses` backwards past everyone the viewer does not follow.
            state, oldest, raw = await self._read(key, page, fetch, refresh=False)
        if state is None or state == BUILDING:
            return await _database_page(session, viewer_id, page)
        floor = oldest if state == TRUNCATED else None
        if floor is not None and page.min_id is not None and page.min_id < floor:
            return await repository.home(session, viewer_id, page)  # below what the feed holds
        found: list[StatusRef] = []
        current = page
        for _round in range(MAX_READ_ROUNDS):
            found += await repository.home_among(
                session,
                viewer_id,
                _within(raw, current),
                page.limit - len(found),
                ascending=page.ascending,
            )
            if len(found) >= page.limit or len(raw) < fetch:
                break
            current = _after(current, raw)
            _, _, raw = await self._read(key, current, fetch, refresh=False)
        if page.ascending:
            found.sort(key=lambda status: status.id)
            return page.newest_first(found[: page.limit])
        found = found[: page.limit]
        if len(found) < page.limit and len(raw) < fetch and floor is not None:
            below = floor if page.max_id is None else min(floor, page.max_id)
            rest = Page(max_id=below, since_id=page.since_id, limit=page.limit - len(found))
            found += await _database_page(session, viewer_id, rest)
        return found

    async def _read(
        self, key: str, page: Page, fetch: int, *, refresh: bool
    ) -> tuple[float | None, int | None, list[int]]:
        """(feed state or None when cold, oldest id held, a run of ids) in one round trip.
        A feed another Redis instance built counts as cold (and is gone after this call)."""
        if page.ascending:
            args = ["asc", _bound(page.min_id, "(0"), _bound(page.max_id, "+inf")]
        else:
            args = ["desc", _bound(page.since_id, "(0"), _bound(page.max_id, "+inf")]
        reply = await self._read_script(
            keys=[key], args=[*args, fetch, int(refresh), BUILDING, self.ttl]
        )
        if not reply:
            return None, None, []
        state, oldest, members = reply
        # The sentinel's score is below every bound, so `members` are all status ids.
        return float(state), int(oldest) if oldest else None, [int(m) for m in members]

    async def rebuild(self, session: AsyncSession, account_id: int) -> bool:
        """Fill a cold feed from the database. The feed is claimed (and so receives fan-out
        pushes) before the query runs, so a post committed meanwhile is in one or the other.
        True when the build landed (see `finish`)."""
        claim = await self.claim(account_id)
        if claim is None:
            return False
        ids = await repository.home_ids(session, account_id, self.cap)
        return await self.finish(account_id, claim, ids)

    async def claim(self, account_id: int) -> str | None:
        """Take a missing feed for building: its sentinel (returned) says building, stamped
        with this Redis instance and a token of this build. None when the feed exists."""
        claim = await self._claim(
            keys=[self.key(account_id)], args=[secrets.token_hex(6), BUILDING, BUILD_LEASE_SECONDS]
        )
        return bytes(claim).decode() if claim else None

    async def finish(self, account_id: int, claim: str, ids: Sequence[int]) -> bool:
        """Put a build's `ids` (the newest of the home, up to the cap) in the feed and mark it
        complete or truncated, only if `claim` still holds on the instance that granted it: a
        lease that ran out or a Redis that restarted since (empty, or from a snapshot taken
        during the build) may have let pushes pass the feed by. False: nothing written."""
        truncated = int(len(ids) >= self.cap)
        landed = await self._finish(
            keys=[self.key(account_id)], args=[claim, self.cap, truncated, self.ttl, *ids]
        )
        return bool(landed)

    async def state(self, account_id: int) -> tuple[str, float] | None:
        """(the sentinel's name, the feed's state), or None when the feed does not exist."""
        head: list[Any] = await self.redis.zrange(self.key(account_id), 0, 0, withscores=True)
        if not head:
            return None
        name, score = head[0]
        return bytes(name).decode(), float(score)

    async def is_warm(self, account_id: int) -> bool:
        state = await self.state(account_id)
        return state is not None and state[1] != BUILDING

    # Writing

    async def push(self, account_ids: Sequence[int], status_id: int) -> None:
        if not account_ids:
            return
        await self._push(keys=[self.key(a) for a in account_ids], args=[status_id, self.cap])
        await _grew(self.entities, account_ids)

    async def remove(self, account_ids: Sequence[int], status_ids: Sequence[int]) -> None:
        if not status_ids:
            return
        members = [str(status_id) for status_id in status_ids]
        pipe = self.redis.pipeline(transaction=False)
        for account_id in account_ids:
            pipe.zrem(self.key(account_id), *members)
        await pipe.execute()
        await self._changed(account_ids)

    async def merge(self, session: AsyncSession, account_id: int, target_id: int) -> None:
        if not await self.is_warm(account_id):
            return  # a cold feed gets everything when it is rebuilt
        ids = await repository.home_ids_by(session, account_id, target_id, self.cap // 4)
        for status_id in sorted(ids):
            await self.push([account_id], status_id)

    async def unmerge(self, session: AsyncSession, account_id: int, target_id: int) -> None:
        held = await self._held(account_id)
        await self.remove([account_id], await repository.involving(session, held, target_id))

    async def merge_tag(self, session: AsyncSession, account_id: int, tag_id: int) -> None:
        if not await self.is_warm(account_id):
            return  # a cold feed gets them when it is rebuilt
        ids = await repository.home_ids_tagged(session, account_id, tag_id, self.cap // 4)
        for status_id in sorted(ids):
            await self.push([account_id], status_id)

    async def unmerge_tag(self, session: AsyncSession, account_id: int, tag_id: int) -> None:
        held = await self._held(account_id)
        gone = await repository.tagged_not_shown(session, account_id, held, tag_id)
        await self.remove([account_id], gone)

    async def prune(self, session: AsyncSession, account_ids: Sequence[int]) -> None:
        for account_id in account_ids:
            held = await self._held(account_id)
            if held:
                alive = set(await repository.existing_statuses(session, held))
                await self.remove([account_id], [i for i in held if i not in alive])

    async def forget(self, account_id: int) -> None:
        await self.redis.delete(self.key(account_id))
        await self._changed([account_id])

    async def _changed(self, account_ids: Sequence[int]) -> None:
        await _changed(self.entities, account_ids)

    async def _held(self, account_id: int) -> list[int]:
        members: list[Any] = await self.redis.zrangebyscore(self.key(account_id), "(0", "+inf")
        return [int(member) for member in members]


async def _database_page(session: AsyncSession, viewer_id: int, page: Page) -> Sequence[StatusRef]:
    """A page the feed cannot answer: newest-first ones found as a rebuild finds its ids
    (bounded by the viewer's follows, ADR 0016); oldest-first ones (`min_id`) in one
    statement."""
    if page.ascending:
        return await repository.home(session, viewer_id, page)
    return await repository.home_page(session, viewer_id, page)


def _within(ids: list[int], page: Page) -> list[int]:
    """The exact cursor check the rounded scores could not make."""
    return [
        status_id
        for status_id in ids
        if (page.max_id is None or status_id < page.max_id)
        and (page.since_id is None or status_id > page.since_id)
        and (page.min_id is None or status_id > page.min_id)
    ]


def _after(page: Page, seen: list[int]) -> Page:
    """The same page moved past the ids already looked at."""
    if page.ascending:
        return Page(max_id=page.max_id, min_id=max(seen), limit=page.limit)
    return Page(max_id=min(seen), since_id=page.since_id, limit=page.limit)


async def _changed(entities: EntityCache | None, account_ids: Sequence[int]) -> None:
    """These homes changed: the pages of them kept in every process go."""
    if entities is not None:
        await entities.drop_near(HOME_KIND, account_ids)


async def _grew(entities: EntityCache | None, account_ids: Sequence[int]) -> None:
    """A status reached these homes: the pages of them kept in every process are set aside
    as stale, answered while one read per process renders each again (home_pages.py)."""
    if entities is not None:
        await entities.stale_near(HOME_KIND, account_ids)


def feed_store(engines: Engines) -> FeedStore:
    """The feed store for these engines: the one place in timelines that looks at
    `engines.redis` (ADR 0002 lists the others)."""
    cached: Any = getattr(engines, "_home_feed_store", None)
    if cached is None:
        if engines.redis is None:
            cached = DatabaseFeedStore(engines.db.entity_cache)
        else:
            cached = RedisFeedStore(engines.redis, engines.settings, engines.db.entity_cache)
        engines._home_feed_store = cached  # type: ignore[attr-defined]
    store: FeedStore = cached
    return store
