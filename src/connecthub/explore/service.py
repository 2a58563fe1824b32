"""Explore's rules: how trends are computed and who sees which, the directory, and follow
suggestions (explore/scoring.py holds the arithmetic).

Trends are computed by a job (`explore.refresh_trends`, queued by the sweeper once every
TRENDS_REFRESH_SECONDS) and read from the scores it leaves, never computed on a request.
What the public sees is limited to reviewed items: with TRENDS_REQUIRE_REVIEW (the default,
as Mastodon's) only items a moderator approved; without it, every item not rejected.
Posts and accounts a viewer blocked, muted or was blocked by are left out for them.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from connecthub import entities
from connecthub.accounts.models import Account
from connecthub.accounts.roles import Permission, has_permission
from connecthub.cards import service as cards_service
from connecthub.cards.serializers import card_entity
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.errors import Forbidden, NotFound, ValidationFailed
from connecthub.explore import embeddings, repository, scoring
from connecthub.explore.models import AccountVector, TrendReview, TrendScore
from connecthub.ids import id_for_time
from connecthub.infra.uow import UnitOfWork
from connecthub.ops import audit
from connecthub.statuses import tags as tags_service
from connecthub.statuses.models import Status

REFRESH_JOB = "explore.refresh_trends"
TAG, STATUS, LINK = "tag", "status", "link"
HISTORY_DAYS = 7
# Suggestions: accounts that posted within this long count as active for "most followed".
ACTIVE_DAYS = 30
# Each suggestion list is read this deep before fusing; reciprocal rank fusion's constant.
SUGGESTION_POOL = 100
RRF_K = 60
# Popularity is the fallback for someone the other lists know little about: at equal rank
# an account one's own follows point to comes first.
POPULARITY_WEIGHT = 0.5
# "Similar": the viewer's interest is the mean vector of their latest follows; the
# candidates compared are the most recently active ones.
INTEREST_FOLLOWS = 20
SIMILAR_POOL = 5000
# An account's vector: the mean of its latest public posts' embeddings.
POSTS_PER_VECTOR = 20
EMBED_JOB = "explore.embed_accounts"
EMBED_BATCH = 500
NOT_ALLOWED = "This action is not allowed"
# The admin trend lists: every item trending now, pending or not (Mastodon lists them all).
ADMIN_LIMIT = 100


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- computing trends ---------------------------------------------------------------------


@dataclass(frozen=True)
class TrendRules:
    tag_threshold: int
    link_threshold: int
    status_threshold: int
    half_life: timedelta
    status_half_life: timedelta
    status_max_age: timedelta
    cooldown: timedelta

    @classmethod
    def of(cls, settings: Settings) -> TrendRules:
        return cls(
            tag_threshold=settings.trends_tag_threshold,
            link_threshold=settings.trends_link_threshold,
            status_threshold=settings.trends_status_threshold,
            half_life=timedelta(seconds=settings.trends_half_life_seconds),
            status_half_life=timedelta(seconds=settings.trends_status_half_life_seconds),
            status_max_age=timedelta(seconds=settings.trends_status_max_age_seconds),
            cooldown=timedelta(seconds=settings.trends_cooldown_seconds),
        )


async def refresh_trends(uow: UnitOfWork, rules: TrendRules, now: datetime) -> dict[str, int]:
    """Scores every kind again as of `now`; returns how many items of each trend."""
    windows = [now - timedelta(days=days + 1) for days in range(scoring.BASELINE_DAYS + 1)]
    starts = [id_for_time(_ms(start)) for start in windows]
    counted = {}
    for kind, threshold in ((TAG, rules.tag_threshold), (LINK, rules.link_threshold)):
        counts = await repository.accounts_per_window(uow.session, kind, starts)
        rows = await _rising(uow, kind, counts, threshold, rules, now)
        await repository.replace_scores(uow.session, kind, rows)
        counted[kind] = len(rows)
    since = id_for_time(_ms(now - rules.status_max_age))
    rows = []
    for status_id, created_at, accounts in await repository.status_interactions(uow.session, since):
        age = now - _aware(created_at)
        score = scoring.status_score(accounts, age, rules.status_threshold, rules.status_half_life)
        if score >= scoring.FORGOTTEN_SCORE:
            rows.append(_row(STATUS, status_id, score, scoring.Peak(score, now), now))
    await repository.replace_scores(uow.session, STATUS, rows)
    counted[STATUS] = len(rows)
    return counted


async def _rising(
    uow: UnitOfWork,
    kind: str,
    counts: dict[tuple[int, int], int],
    threshold: int,
    rules: TrendRules,
    now: datetime,
) -> list[TrendScore]:
    per_item: dict[int, list[int]] = defaultdict(lambda: [0] * (scoring.BASELINE_DAYS + 1))
    for (item_id, window), accounts in counts.items():
        per_item[item_id][window] = accounts
    previous = await repository.scores(uow.session, kind)
    rows = []
    for item_id in set(per_item) | set(previous):
        days = per_item.get(item_id) or [0] * (scoring.BASELINE_DAYS + 1)
        raw = scoring.rising_score(days[0], days[1:], threshold)
        before = previous.get(item_id)
        peak = scoring.next_peak(
            scoring.Peak(before.max_score, _aware(before.max_score_at)) if before else None,
            raw,
            now,
            rules.cooldown,
        )
        if peak is None:
            continue
        score = peak.decayed(now, rules.half_life)
        if score >= scoring.FORGOTTEN_SCORE:
            rows.append(_row(kind, item_id, score, peak, now))
    return rows


def _row(kind: str, item_id: int, score: float, peak: scoring.Peak, now: datetime) -> TrendScore:
    return TrendScore(
        kind=kind,
        item_id=item_id,
        score=score,
        max_score=peak.max_score,
        max_score_at=peak.max_score_at,
        computed_at=now,
    )


# --- reading trends -----------------------------------------------------------------------


async def _trending(
    uow: UnitOfWork, settings: Settings, kind: str, offset: int, limit: int, *, public: bool
) -> list[tuple[int, bool | None]]:
    if public and not settings.trends_enabled:
        return []
    rows = await repository.trending(
        uow.session,
        kind,
        allowed_only=public,
        require_review=settings.trends_require_review,
        offset=offset,
        limit=limit,
    )
    return [(item_id, approved) for item_id, _score, approved in rows]


async def trending_tags(
    uow: UnitOfWork, settings: Settings, viewer_id: int | None, offset: int, limit: int
) -> list[entities.TagDetails]:
    rows = await _trending(uow, settings, TAG, offset, limit, public=True)
    tags = await repository.tags_in_order(uow.session, [item_id for item_id, _ in rows])
    return await tags_service.tag_entities(uow, tags, viewer_id)


async def trending_statuses(
    uow: UnitOfWork, settings: Settings, viewer_id: int | None, offset: int, limit: int
) -> list[Status]:
    rows = await _trending(uow, settings, STATUS, offset, limit, public=True)
    ids = [item_id for item_id, _ in rows]
    return await repository.statuses_in_order(uow.session, ids, viewer_id, utcnow())


async def trending_links(
    uow: UnitOfWork, settings: Settings, offset: int, limit: int
) -> list[entities.TrendsLink]:
    rows = await _trending(uow, settings, LINK, offset, limit, public=True)
    return [link for _id, link in await _links(uow, settings, [item for item, _ in rows])]


async def _links(
    uow: UnitOfWork, settings: Settings, card_ids: Sequence[int]
) -> list[tuple[int, entities.TrendsLink]]:
    """(card id, Trends::Link) for each card still there, in the order given."""
    cards = await cards_service.cards_by_id(uow.session, card_ids)
    today = utcnow().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=days) for days in range(HISTORY_DAYS)]
    starts = [id_for_time(_ms(day)) for day in days]
    uses = await repository.card_uses(uow.session, list(cards), starts)
    links: list[tuple[int, entities.TrendsLink]] = []
    for card_id in card_ids:
        card = cards.get(card_id)
        if card is None:
            continue
        history: list[entities.TagHistory] = []
        for index, day in enumerate(days):
            count, accounts = uses.get((card_id, index), (0, 0))
            history.append(
                {"day": str(int(day.timestamp())), "uses": str(count), "accounts": str(accounts)}
            )
        links.append((card_id, {**card_entity(settings, card), "history": history}))
    return links


# --- the moderators' review ---------------------------------------------------------------


def require_reviewer(role: str | None) -> None:
    if not has_permission(role, Permission.MANAGE_TAXONOMIES):
        raise Forbidden(NOT_ALLOWED)


async def statuses_by_id(uow: UnitOfWork, ids: Sequence[int], viewer_id: int) -> list[Status]:
    return await repository.statuses_in_order(uow.session, ids, viewer_id, utcnow())


def _requires_review(settings: Settings, approved: bool | None) -> bool:
    return approved is None and settings.trends_require_review


def _trendable(settings: Settings, approved: bool | None) -> bool:
    return bool(approved) or (approved is None and not settings.trends_require_review)


async def admin_tags(
    uow: UnitOfWork, settings: Settings, viewer_id: int, ids: Sequence[int] | None = None
) -> list[entities.AdminTag]:
    """Trending hashtags as moderators see them (pending ones too), or the given ones."""
    if ids is None:
        rows = await _trending(uow, settings, TAG, 0, ADMIN_LIMIT, public=False)
    else:
        found = await repository.reviews(uow.session, TAG, ids)
        rows = [(item_id, found.get(item_id)) for item_id in ids]
    approved = dict(rows)
    tags = await repository.tags_in_order(uow.session, [item_id for item_id, _ in rows])
    shown = await tags_service.tag_entities(uow, tags, viewer_id)
    result: list[entities.AdminTag] = []
    for tag, entity in zip(tags, shown, strict=True):
        state = approved.get(tag.id)
        result.append(
            {
                **entity,
                "trendable": _trendable(settings, state),
                "usable": True,
                "requires_review": _requires_review(settings, state),
                "listable": True,
            }
        )
    return result


async def admin_statuses(uow: UnitOfWork, settings: Settings, viewer_id: int) -> list[Status]:
    rows = await _trending(uow, settings, STATUS, 0, ADMIN_LIMIT, public=False)
    return await repository.statuses_in_order(
        uow.session, [item_id for item_id, _ in rows], viewer_id, utcnow()
    )


async def admin_links(
    uow: UnitOfWork, settings: Settings, ids: Sequence[int] | None = None
) -> list[entities.AdminTrendsLink]:
    if ids is None:
        rows = await _trending(uow, settings, LINK, 0, ADMIN_LIMIT, public=False)
    else:
        found = await repository.reviews(uow.session, LINK, ids)
        rows = [(item_id, found.get(item_id)) for item_id in ids]
    approved = dict(rows)
    links = await _links(uow, settings, [item_id for item_id, _ in rows])
    return [
        {
            **link,
            "id": str(card_id),
            "requires_review": _requires_review(settings, approved.get(card_id)),
        }
        for card_id, link in links
    ]


async def review(
    uow: UnitOfWork, reviewer_id: int, role: str | None, kind: str, item_id: int, approve: bool
) -> None:
    """A moderator approves or rejects an item for trends (idempotent; audited)."""
    require_reviewer(role)
    if not await repository.item_exists(uow.session, kind, item_id):
        raise NotFound()
    existing = await repository.review(uow.session, kind, item_id)
    before = None if existing is None else existing.approved
    if existing is None:
        uow.session.add(
            TrendReview(
                kind=kind, item_id=item_id, approved=approve, reviewed_by_account_id=reviewer_id
            )
        )
    else:
        existing.approved = approve
        existing.reviewed_by_account_id = reviewer_id
        existing.reviewed_at = utcnow()
    audit.record(
        "admin.trend_review",
        actor=audit.account_actor(reviewer_id),
        action="approve" if approve else "reject",
        outcome=audit.Outcome.DONE,
        target_kind=kind,
        target_id=item_id,
        before=before,
        after=approve,
    )


# --- directory and suggestions ------------------------------------------------------------

DIRECTORY_ORDERS = ("active", "new")


async def directory(
    uow: UnitOfWork,
    settings: Settings,
    viewer_id: int | None,
    order: str | None,
    offset: int,
    limit: int,
) -> list[Account]:
    if not settings.directory_enabled:
        raise NotFound()
    order = order or "active"
    if order not in DIRECTORY_ORDERS:
        raise ValidationFailed("order", f"must be one of {', '.join(DIRECTORY_ORDERS)}")
    return await repository.directory(
        uow.session, viewer_id=viewer_id, order=order, offset=offset, limit=limit, now=utcnow()
    )


@dataclass(frozen=True)
class Suggested:
    account: Account
    sources: tuple[str, ...]

    @property
    def source(self) -> str:
        """Mastodon's deprecated single reason: `past_interactions` for what comes from the
        viewer's own follows, else `global`."""
        personal = {"friends_of_friends", "similar_to_recently_followed"}
        return "past_interactions" if personal & set(self.sources) else "global"


async def suggestions(uow: UnitOfWork, viewer_id: int, limit: int) -> list[Suggested]:
    """Three ranked lists fused by reciprocal rank (each account scores the sum of
    weight / (RRF_K + its rank) over the lists it is in, so no list's scale needs tuning;
    popularity weighs half):

    - friends of friends: accounts followed by the accounts one follows, the most shared
      first;
    - similar to recently followed: accounts whose posts read most like those of the
      accounts one followed last (cosine of embedding vectors, computed here in NumPy);
    - most followed: the most followed accounts that posted in the last 30 days.

    Never oneself, someone already followed or requested, blocked either way, muted,
    dismissed, not discoverable, suspended or not approved (the candidates' rule,
    explore/repository.py)."""
    now = utcnow()
    wide = max(limit, SUGGESTION_POOL)
    graph = [a for a, _ in await repository.friends_of_friends(uow.session, viewer_id, now, wide)]
    similar = await _similar_accounts(uow, viewer_id, now, wide)
    popular = await repository.most_followed(
        uow.session, viewer_id, now, now - timedelta(days=ACTIVE_DAYS), wide
    )
    scores: dict[int, float] = defaultdict(float)
    sources: dict[int, list[str]] = defaultdict(list)
    accounts: dict[int, Account] = {}
    for name, ranked, weight in (
        ("friends_of_friends", graph, 1.0),
        ("similar_to_recently_followed", similar, 1.0),
        ("most_followed", popular, POPULARITY_WEIGHT),
    ):
        for rank, account in enumerate(ranked):
            scores[account.id] += weight / (RRF_K + rank + 1)
            sources[account.id].append(name)
            accounts[account.id] = account
    order = sorted(scores, key=lambda account_id: (-scores[account_id], -account_id))
    return [Suggested(accounts[a], tuple(sources[a])) for a in order[:limit]]


async def _similar_accounts(
    uow: UnitOfWork, viewer_id: int, now: datetime, limit: int
) -> list[Account]:
    followed = await repository.followed_vectors(uow.session, viewer_id, INTEREST_FOLLOWS)
    own = await repository.own_vector(uow.session, viewer_id)
    if not followed and own is None:
        return []
    candidates = await repository.candidate_vectors(uow.session, viewer_id, now, SIMILAR_POOL)
    if not candidates:
        return []
    # What the viewer reads (their latest follows) and what they write, equally.
    parts = [embeddings.from_bytes(raw) for raw in ([own] if own is not None else [])]
    if followed:
        parts.append(
            embeddings.normalized(np.mean([embeddings.from_bytes(raw) for raw in followed], axis=0))
        )
    interest = embeddings.normalized(np.sum(parts, axis=0))
    matrix = np.stack([embeddings.from_bytes(raw) for _, raw in candidates])
    similarity = matrix @ interest
    best = np.argsort(-similarity)[:limit]
    return [candidates[index][0] for index in best if similarity[index] > 0]


async def embed_stale_accounts(uow: UnitOfWork, limit: int) -> int:
    """Embeds again the accounts that posted since their vector was made (up to `limit`):
    each account's vector is the mean of its latest public posts' embeddings. Returns how
    many accounts were looked at (0: none is stale)."""
    account_ids = await repository.stale_vector_accounts(uow.session, limit)
    if not account_ids:
        return 0
    texts = await repository.recent_public_texts(uow.session, account_ids, POSTS_PER_VECTOR)
    flat = [(account_id, text) for account_id, posts in texts.items() for text in posts]
    vectors = await asyncio.to_thread(embeddings.embed, [text for _, text in flat])
    by_account: dict[int, list[int]] = defaultdict(list)
    for row, (account_id, _text) in enumerate(flat):
        by_account[account_id].append(row)
    now = utcnow()
    rows = []
    for account_id in account_ids:
        indexes = by_account.get(account_id, [])
        # None of its latest posts public: an empty vector (statuses 0), so the account is
        # not stale again until it posts, and is never compared.
        mean = embeddings.normalized(vectors[indexes].mean(axis=0)) if indexes else None
        vector = b"" if mean is None else embeddings.to_bytes(mean)
        rows.append(
            AccountVector(
                account_id=account_id, vector=vector, statuses=len(indexes), updated_at=now
            )
        )
    await repository.replace_vectors(uow.session, account_ids, rows)
    return len(account_ids)


async def dismiss_suggestion(uow: UnitOfWork, viewer_id: int, account_id: int) -> None:
    """Never suggest the account again (idempotent; an unknown account is not an error, as
    Mastodon answers {} for it)."""
    if account_id != viewer_id and await uow.session.get(Account, account_id) is not None:
        await repository.dismiss(uow.session, viewer_id, account_id)
