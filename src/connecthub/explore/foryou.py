"""The "For you" timeline's rules: which posts are candidates, what the ranker reads of each
(explore/ranker.py), how the ranking is diversified, kept and paged, and how the ranker is
trained on this server's own engagement by a job.

Candidates (each through `foryou_repository.eligible`, THE visibility rule and mutes):
the newest posts of the accounts one follows, of the accounts they follow, trending posts,
and recent public posts that read like what one engaged with (embeddings, as for follow
suggestions). Each post is scored by the latest fitted model (the prior before there is
one), then picked greedily so an author's next post weighs less each time they appear and
never follows their own post when another author is left.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from connecthub.config import Settings
from connecthub.core.pagination import Page
from connecthub.explore import embeddings, ranker
from connecthub.explore import foryou_repository as repository
from connecthub.explore import repository as explore_repository
from connecthub.explore.foryou_repository import Engagement, Post
from connecthub.explore.models import RankerModel
from connecthub.ids import id_for_time
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses.models import Status

if TYPE_CHECKING:
    from numpy.typing import NDArray

FLAG = "for_you"
TRAIN_JOB = "explore.train_ranker"
FOLLOWED, FOLLOWS_OF_FOLLOWS, FOLLOWED_TAGS, TRENDING, SIMILAR = (
    "followed",
    "follows_of_follows",
    "followed_tags",
    "trending",
    "similar_to_engaged",
)
# Candidates are posts of the last three days; each source is read this deep.
WINDOW = timedelta(days=3)
SOURCE_LIMIT = 200
TRENDING_LIMIT = 40
# Similar: the newest public posts compared with what one engaged with; the best kept.
SIMILAR_POOL = 1000
SIMILAR_KEEP = 100
# What one engaged with: the last two weeks, the latest 50 posts for one's interest.
ENGAGEMENT_WINDOW = timedelta(days=14)
ENGAGEMENTS_READ = 500
INTEREST_POSTS = 50
# The ranking kept per viewer for paging with max_id, and how long.
RANKED_MAX = 200
KEEP_SECONDS = 900
# Each further post of an author already picked weighs this much less again.
AUTHOR_DECAY = 0.7
# Training: engagements of the last two weeks (the newest this many), negatives per
# positive, the pool they are drawn from, and how many fitted models are kept.
TRAIN_POSITIVES = 20_000
TRAIN_MIN_POSITIVES = 50
NEGATIVES_PER_POSITIVE = 4
NEGATIVE_POOL = 20_000
MODELS_KEPT = 5
REASONS_SHOWN = 3


@dataclass(frozen=True)
class Ranked:
    """A post's place in a viewer's ranking, and why it is there."""

    status_id: int
    score: float
    sources: tuple[str, ...]
    signals: tuple[tuple[str, float, float], ...]  # (feature, value, contribution)

    def explanation(self) -> dict[str, Any]:
        """The `for_you` extension field of a status (entities.ForYouExplanation)."""
        lifting = sorted((s for s in self.signals if s[2] > 0), key=lambda s: -s[2])
        return {
            "score": round(self.score, 4),
            "sources": list(self.sources),
            "reasons": [name for name, _value, _part in lifting[:REASONS_SHOWN]],
            "signals": [
                {"name": name, "value": round(value, 4), "contribution": round(part, 4)}
                for name, value, part in self.signals
            ],
        }


def _since(now: datetime, back: timedelta) -> int:
    return id_for_time(int((now - back).timestamp() * 1000))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _hours(later: datetime, earlier: datetime) -> float:
    return (_aware(later) - _aware(earlier)).total_seconds() / 3600


# --- features -----------------------------------------------------------------------------


@dataclass
class Viewer:
    """What the features need of the viewer, as of one moment."""

    follows: set[int]
    follows_of_follows: Counter[int]  # author -> the viewer's follows following them
    # post -> the viewer's engagements with the post's author, that post's own left out
    affinity: Callable[[Post], int]
    engaged: Counter[int]  # post -> the viewer's engagements with it
    interest: NDArray[np.float32] | None  # sum of the engaged posts' vectors
    interest_members: dict[int, NDArray[np.float32]]  # post -> its vector, if in the sum


def features(
    viewer: Viewer, post: Post, vector: NDArray[np.float32], trend: float, now: datetime
) -> list[float]:
    """One row of the ranker's features (ranker.FEATURES' order). The post itself never
    counts towards its own affinity, engagement or similarity."""
    own = viewer.engaged.get(post.id, 0)
    similarity = 0.0
    if viewer.interest is not None:
        interest = viewer.interest - viewer.interest_members.get(post.id, 0.0)
        norm = float(np.linalg.norm(interest))
        if norm > 1e-6:
            similarity = float(vector @ interest) / norm
    return [
        math.log1p(viewer.affinity(post)),
        1.0 if post.account_id in viewer.follows else 0.0,
        math.log1p(viewer.follows_of_follows.get(post.account_id, 0)),
        ranker.recency(_hours(now, post.created_at)),
        math.log1p(max(post.interactions - own, 0)),
        similarity,
        math.log1p(max(trend, 0.0)),
    ]


def _affinity(engaged: Sequence[Engagement]) -> Callable[[Post], int]:
    by_author = Counter(e.author_id for e in engaged)
    by_post = Counter(e.status_id for e in engaged)
    return lambda post: max(by_author[post.account_id] - by_post[post.id], 0)


async def _embed(texts: list[str]) -> NDArray[np.float32]:
    return await asyncio.to_thread(embeddings.embed, texts)


async def current_model(uow: UnitOfWork) -> ranker.Model:
    row = await repository.latest_model(uow.session)
    model = ranker.Model.from_json(row.model) if row is not None else None
    return model or ranker.PRIOR


# --- ranking ------------------------------------------------------------------------------


async def rank(
    uow: UnitOfWork,
    settings: Settings,
    viewer_id: int,
    now: datetime,
    *,
    model: ranker.Model | None = None,
    newer_than: int | None = None,
) -> list[Ranked]:
    """The viewer's ranked candidates (at most RANKED_MAX), diversified; `newer_than`:
    only posts with a greater id (a refresh above what one has seen)."""
    session = uow.session
    since = max(_since(now, WINDOW), (newer_than or 0) + 1)
    candidates: dict[int, Post] = {}
    sources: dict[int, list[str]] = defaultdict(list)

    def add(name: str, found: Sequence[Post]) -> None:
        for post in found:
            candidates[post.id] = post
            sources[post.id].append(name)

    add(FOLLOWED, await repository.from_followed(session, viewer_id, now, since, SOURCE_LIMIT))
    add(
        FOLLOWS_OF_FOLLOWS,
        await repository.from_follows_of_follows(session, viewer_id, now, since, SOURCE_LIMIT),
    )
    add(
        FOLLOWED_TAGS,
        await repository.from_followed_tags(session, viewer_id, now, since, SOURCE_LIMIT),
    )
    if settings.trends_enabled:
        trending = await explore_repository.trending(
            session,
            "status",
            allowed_only=True,
            require_review=settings.trends_require_review,
            offset=0,
            limit=TRENDING_LIMIT,
        )
        ids = [item for item, _score, _approved in trending if item >= since]
        add(TRENDING, await repository.eligible_posts(session, viewer_id, now, ids))
    engaged = await repository.engagements(
        session, _since(now, ENGAGEMENT_WINDOW), viewer_id, ENGAGEMENTS_READ
    )
    interest_ids = list(dict.fromkeys(e.status_id for e in engaged))[:INTEREST_POSTS]
    interest_posts = await repository.posts(session, interest_ids)
    pool = await repository.recent_public(session, viewer_id, now, since, SIMILAR_POOL)
    pool = [post for post in pool if post.id not in candidates] if interest_posts else []
    order = list(candidates.values()) + pool + list(interest_posts.values())
    vectors = await _embed([post.text for post in order])
    by_id = {post.id: vectors[index] for index, post in enumerate(order)}
    interest_members = {pid: by_id[pid] for pid in interest_posts}
    interest = np.sum(list(interest_members.values()), axis=0) if interest_members else None
    if interest is not None and pool:
        unit = embeddings.normalized(interest)
        similarity = np.stack([by_id[post.id] for post in pool]) @ unit
        best = np.argsort(-similarity)[:SIMILAR_KEEP]
        add(SIMILAR, [pool[index] for index in best if similarity[index] > 0])
    if not candidates:
        return []
    posts = list(candidates.values())
    authors = list({post.account_id for post in posts})
    viewer = Viewer(
        follows=await repository.followed(session, viewer_id),
        follows_of_follows=Counter(
            await repository.follows_of_follows_counts(session, viewer_id, authors)
        ),
        affinity=_affinity(engaged),
        engaged=Counter(e.status_id for e in engaged),
        interest=interest,
        interest_members=interest_members,
    )
    trends = await repository.trend_scores(session, [post.id for post in posts])
    rows = np.array(
        [features(viewer, post, by_id[post.id], trends.get(post.id, 0.0), now) for post in posts]
    )
    model = model or await current_model(uow)
    scores = model.probabilities(rows)
    ranked = [
        Ranked(
            status_id=post.id,
            score=float(scores[index]),
            sources=tuple(sources[post.id]),
            signals=tuple(
                (name, float(rows[index][column]), part)
                for column, (name, part) in enumerate(model.contributions(rows[index]).items())
            ),
        )
        for index, post in enumerate(posts)
    ]
    return diversify(ranked, {post.id: post.account_id for post in posts}, RANKED_MAX)


def diversify(ranked: list[Ranked], author_of: dict[int, int], limit: int) -> list[Ranked]:
    """Greedy picks by score, each further post of an author weighing AUTHOR_DECAY times
    less again, and never an author twice in a row while another is left."""
    left = sorted(ranked, key=lambda item: (-item.score, -item.status_id))
    remaining = Counter(author_of[item.status_id] for item in left)
    shown: Counter[int] = Counter()
    picked: list[Ranked] = []
    previous: int | None = None
    while left and len(picked) < limit:
        best_index = -1
        best_value = -1.0
        others_left = previous is None or remaining[previous] < len(left)
        for index, item in enumerate(left):
            author = author_of[item.status_id]
            if author == previous and others_left:
                continue
            value = item.score * AUTHOR_DECAY ** shown[author]
            if value > best_value:
                best_index, best_value = index, value
        item = left.pop(best_index)
        previous = author_of[item.status_id]
        remaining[previous] -= 1
        shown[previous] += 1
        picked.append(item)
    return picked


# --- serving pages ------------------------------------------------------------------------


def _key(viewer_id: int) -> str:
    return f"explore:for_you:{viewer_id}"


def _encode(ranked: list[Ranked]) -> bytes:
    return orjson.dumps(
        [[r.status_id, r.score, list(r.sources), [list(s) for s in r.signals]] for r in ranked]
    )


def _decode(raw: bytes) -> list[Ranked]:
    return [
        Ranked(
            int(sid),
            float(score),
            tuple(srcs),
            tuple((str(n), float(v), float(c)) for n, v, c in sig),
        )
        for sid, score, srcs, sig in orjson.loads(raw)
    ]


@dataclass(frozen=True)
class ForYouPage:
    statuses: list[Status]
    ranked: dict[int, Ranked]  # by status id, for the explanations
    # For the Link header: the newest id on the page (a refresh asks above it) and the last
    # ranked id read (the next page starts after it), filtered or not.
    newest_id: int | None
    last_id: int | None


async def page(
    uow: UnitOfWork, settings: Settings, viewer_id: int, page: Page, now: datetime
) -> ForYouPage:
    """A page of the viewer's ranking, Mastodon's cursors read this way:

    - none: a fresh ranking, kept KEEP_SECONDS for the pages after it;
    - `max_id`: the posts ranked after it in the kept ranking (once that is gone, a fresh
      ranking of the posts older than it);
    - `min_id` / `since_id`: a fresh ranking of the posts newer than it.

    Every post is read again through the visibility rule when served."""
    cache = uow.engines.cache
    ranked: list[Ranked]
    if page.min_id is not None or page.since_id is not None:
        newer = max(page.min_id or 0, page.since_id or 0)
        ranked = await rank(uow, settings, viewer_id, now, newer_than=newer)
    elif page.max_id is not None:
        kept = await cache.get(_key(viewer_id))
        ranked = _decode(kept) if kept else []
        positions = [index for index, item in enumerate(ranked) if item.status_id == page.max_id]
        if positions:
            ranked = ranked[positions[0] + 1 :]
        else:
            fresh = await rank(uow, settings, viewer_id, now)
            ranked = [item for item in fresh if item.status_id < page.max_id]
    else:
        ranked = await rank(uow, settings, viewer_id, now)
        await cache.set(_key(viewer_id), _encode(ranked), KEEP_SECONDS)
    chosen = ranked[: page.limit]
    rows = await repository.eligible_statuses(
        uow.session, viewer_id, now, [item.status_id for item in chosen]
    )
    statuses = [rows[item.status_id] for item in chosen if item.status_id in rows]
    return ForYouPage(
        statuses=statuses,
        ranked={item.status_id: item for item in chosen},
        newest_id=max((s.id for s in statuses), default=None),
        last_id=chosen[-1].status_id if chosen else None,
    )


# --- training -----------------------------------------------------------------------------


class _Counts:
    """Each post's engagement as of a moment, from the engagements read: the counters on
    the statuses row include what came after, which a ranker serving now cannot know."""

    def __init__(self, acts: Sequence[Engagement]) -> None:
        times: dict[int, list[datetime]] = defaultdict(list)
        for act in acts:
            times[act.status_id].append(_aware(act.at))
        self.times = {post_id: sorted(moments) for post_id, moments in times.items()}

    def as_of(self, post: Post, moment: datetime) -> Post:
        engaged = bisect.bisect_left(self.times.get(post.id, []), moment)
        return dataclasses.replace(post, interactions=engaged)


class _Pools:
    """Public posts by time, overall and per author, to draw negatives from."""

    def __init__(self, pool: list[Post]) -> None:
        self.posts = pool  # oldest first
        self.times = [_aware(post.created_at) for post in pool]
        self.by_author: dict[int, list[Post]] = defaultdict(list)
        for post in pool:
            self.by_author[post.account_id].append(post)
        self.author_times = {
            author: [_aware(p.created_at) for p in posts]
            for author, posts in self.by_author.items()
        }

    def draw(
        self, posts: list[Post], times: list[datetime], moment: datetime, rng: random.Random
    ) -> Post | None:
        low = bisect.bisect_left(times, moment - WINDOW)
        high = bisect.bisect_left(times, moment)
        return posts[rng.randrange(low, high)] if high > low else None


def _negatives(pools: _Pools, near: list[int], moment: datetime, rng: random.Random) -> list[Post]:
    """NEGATIVES_PER_POSITIVE posts of the WINDOW before `moment`: half by authors the
    account follows or reaches through its follows (what its feed offered it: the
    ranker must tell those apart, not only them from strangers), half by anyone."""
    drawn = []
    for index in range(NEGATIVES_PER_POSITIVE):
        if index % 2 == 0 and near:
            author = near[rng.randrange(len(near))]
            post = pools.draw(pools.by_author[author], pools.author_times[author], moment, rng)
        else:
            post = pools.draw(pools.posts, pools.times, moment, rng)
        if post is not None:
            drawn.append(post)
    return drawn


@dataclass(frozen=True)
class Trained:
    model: ranker.Model
    examples: int
    positives: int


class _History:
    """One account's engagements, oldest first, to ask what it had done before a moment."""

    def __init__(self, acts: list[Engagement], vectors: dict[int, NDArray[np.float32]]):
        self.acts = sorted(acts, key=lambda e: _aware(e.at))
        self.times = [_aware(e.at) for e in self.acts]
        self.by_author: dict[int, list[datetime]] = defaultdict(list)
        for act, at in zip(self.acts, self.times, strict=True):
            self.by_author[act.author_id].append(at)
        self.engaged = Counter(e.status_id for e in self.acts)
        self.vectors = vectors

    def before(self, moment: datetime, follows: set[int], reached: Counter[int]) -> Viewer:
        end = bisect.bisect_left(self.times, moment)
        recent = self.acts[max(0, end - INTEREST_POSTS) : end]
        members = {
            e.status_id: self.vectors[e.status_id] for e in recent if e.status_id in self.vectors
        }
        return Viewer(
            follows=follows,
            follows_of_follows=reached,
            # Only what came before: the engagement being learned from is not in it.
            affinity=lambda post: bisect.bisect_left(
                self.by_author.get(post.account_id, []), moment
            ),
            engaged=Counter(),  # counts are as of the moment already (`_Counts`)
            interest=np.sum(list(members.values()), axis=0) if members else None,
            interest_members={},  # only what came before: the post itself is never in it
        )


async def training_rows(
    uow: UnitOfWork, now: datetime, seed: int = 0
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Rows and labels from the engagement of the last ENGAGEMENT_WINDOW: each favourite,
    boost or reply is a positive, with NEGATIVES_PER_POSITIVE public posts of the same
    WINDOW before it that the account did not engage with as negatives (`_negatives`:
    half from authors its sources reach, half from anyone); every feature as
    of the moment of the engagement (what the account had engaged with before it, the
    post's age then). None when there are fewer than TRAIN_MIN_POSITIVES."""
    session = uow.session
    since = _since(now, ENGAGEMENT_WINDOW)
    acts = await repository.engagements(session, since, None, TRAIN_POSITIVES)
    if len(acts) < TRAIN_MIN_POSITIVES:
        return None
    engaged_posts = await repository.posts(session, list({e.status_id for e in acts}))
    pool = sorted(
        await repository.public_since(
            session, _since(now, ENGAGEMENT_WINDOW + WINDOW), NEGATIVE_POOL
        ),
        key=lambda post: _aware(post.created_at),
    )
    pools = _Pools(pool)
    texts = {**{p.id: p.text for p in pool}, **{p.id: p.text for p in engaged_posts.values()}}
    ids = list(texts)
    matrix = await _embed([texts[i] for i in ids])
    vectors = {post_id: matrix[index] for index, post_id in enumerate(ids)}
    by_account: dict[int, list[Engagement]] = defaultdict(list)
    for act in acts:
        by_account[act.account_id].append(act)
    follows = await repository.follows_of(session, list(by_account))
    second = await repository.follows_of(session, list({t for ts in follows.values() for t in ts}))
    counts = _Counts(acts)
    rng = random.Random(seed)
    rows: list[list[float]] = []
    labels: list[float] = []
    for account_id, mine in by_account.items():
        history = _History(mine, vectors)
        followed = follows.get(account_id, set())
        reached = Counter(t for f in followed for t in second.get(f, ()))
        near = sorted((followed | set(reached)) & set(pools.by_author))
        for act in history.acts:
            post = engaged_posts.get(act.status_id)
            if post is None:
                continue
            moment = _aware(act.at)
            viewer = history.before(moment, followed, reached)
            rows.append(features(viewer, counts.as_of(post, moment), vectors[post.id], 0.0, moment))
            labels.append(1.0)
            for other in _negatives(pools, near, moment, rng):
                if other.account_id == account_id or other.id in history.engaged:
                    continue
                rows.append(
                    features(viewer, counts.as_of(other, moment), vectors[other.id], 0.0, moment)
                )
                labels.append(0.0)
    if sum(labels) < TRAIN_MIN_POSITIVES:
        return None
    return np.array(rows, dtype=np.float64), np.array(labels, dtype=np.float64)


async def train(uow: UnitOfWork, now: datetime) -> Trained | None:
    """Fits the ranker on this server's engagement and stores it (None: too little yet,
    the previous model or the prior keeps serving)."""
    data = await training_rows(uow, now)
    if data is None:
        return None
    rows, labels = data
    model = await asyncio.to_thread(ranker.fit, rows, labels)
    positives = int(labels.sum())
    await repository.save_model(
        uow.session,
        RankerModel(
            model=model.to_json(), examples=len(labels), positives=positives, trained_at=now
        ),
        MODELS_KEPT,
    )
    return Trained(model, len(labels), positives)
