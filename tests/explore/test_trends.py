"""Trends rise against each item's own baseline, count accounts not posts, decay after
their peak with a fake clock, and reach the public only once reviewed."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from connecthub.accounts.models import Role
from connecthub.cards.models import PreviewCard
from connecthub.clock import utcnow
from connecthub.explore.models import TrendScore
from connecthub.infra.sweeper import sweep_once
from connecthub.statuses.models import Status, Visibility
from tests.admin.support import ADMIN_SCOPES, staff
from tests.explore.support import post_at, refresh, tag_named
from tests.factories import create_token, create_user
from tests.social_factories import auth, post_status, user_with_token
from tests.timelines.support import settle


async def _accounts(app: FastAPI, count: int, prefix: str = "person") -> list[int]:
    return [(await create_user(app, f"{prefix}{n}"))[0].id for n in range(count)]


def _recent_accounts(history: list[dict[str, str]]) -> str:
    """Accounts in the history's newest bucket holding the test's posts: today's, or
    yesterday's when the test runs just after midnight UTC (they were posted minutes ago)."""
    return str(int(history[0]["accounts"]) + int(history[1]["accounts"]))


async def _scores(app: FastAPI, kind: str) -> dict[int, float]:
    async with app.state.engines.db.session() as session:
        rows = await session.scalars(select(TrendScore).where(TrendScore.kind == kind))
        return {row.item_id: row.score for row in rows}


@pytest.mark.slow
async def test_a_hashtag_rises_against_its_own_baseline_then_decays(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    now = utcnow()
    people = await _accounts(app, 10)
    fresh, busier, steady, shouted = [
        await tag_named(app, name) for name in ("fresh", "busier", "steady", "shouted")
    ]
    hour_ago = now - timedelta(hours=1)
    for n, account in enumerate(people[:6]):
        await post_at(app, account, hour_ago, tag_id=fresh, sequence=n)
    for n, account in enumerate(people):
        await post_at(app, account, hour_ago, tag_id=busier, sequence=100 + n)
    for day in range(8):  # six accounts a day, every day: popular, not rising
        for n, account in enumerate(people[:6]):
            await post_at(
                app, account, now - timedelta(days=day, hours=2), tag_id=steady, sequence=200 + n
            )
    for n in range(30):  # one account, thirty posts: counts once
        await post_at(app, people[0], hour_ago, tag_id=shouted, sequence=300 + n)

    assert (await refresh(app, now))["tag"] == 2
    scores = await _scores(app, "tag")
    assert set(scores) == {fresh, busier}
    assert scores[busier] > scores[fresh] > 0

    # Pending review: the public sees nothing, moderators see both.
    assert (await client.get("/api/v1/trends/tags")).json() == []
    _mod, mod_token = await staff(app, "moira")
    pending = (await client.get("/api/v1/admin/trends/tags", headers=auth(mod_token))).json()
    assert [(t["name"], t["requires_review"], t["trendable"]) for t in pending] == [
        ("busier", True, False),
        ("fresh", True, False),
    ]
    approved = await client.post(
        f"/api/v1/admin/trends/tags/{fresh}/approve", headers=auth(mod_token)
    )
    assert approved.status_code == 200, approved.text
    assert (approved.json()["trendable"], approved.json()["requires_review"]) == (True, False)
    rejected = await client.post(
        f"/api/v1/admin/trends/tags/{busier}/reject", headers=auth(mod_token)
    )
    assert rejected.json()["trendable"] is False

    public = (await client.get("/api/v1/trends/tags")).json()
    assert [tag["name"] for tag in public] == ["fresh"]
    assert _recent_accounts(public[0]["history"]) == "6"
    assert (await client.get("/api/v1/trends")).json() == public

    # Eight hours on: the same posts, no new peak, two half-lives of decay.
    peak = scores[fresh]
    await refresh(app, now + timedelta(hours=8))
    assert abs((await _scores(app, "tag"))[fresh] - peak / 4) < 1e-6
    # Three days on: nothing in the last day and the peak is past its cool-down.
    await refresh(app, now + timedelta(days=3))
    assert await _scores(app, "tag") == {}
    assert (await client.get("/api/v1/trends/tags")).json() == []


async def test_without_required_review_every_item_not_rejected_trends(
    app_factory: object,
) -> None:
    async with app_factory(TRENDS_REQUIRE_REVIEW=False) as (app, client):  # type: ignore[operator]
        now = utcnow()
        people = await _accounts(app, 5)
        tag = await tag_named(app, "open")
        for n, account in enumerate(people):
            await post_at(app, account, now - timedelta(minutes=5), tag_id=tag, sequence=n)
        await refresh(app, now)
        listed = (await client.get("/api/v1/trends/tags")).json()
        assert [t["name"] for t in listed] == ["open"]
        _mod, mod_token = await staff(app, "moira")
        await client.post(f"/api/v1/admin/trends/tags/{tag}/reject", headers=auth(mod_token))
        assert (await client.get("/api/v1/trends/tags")).json() == []


@pytest.mark.slow
async def test_posts_trend_by_distinct_accounts_interacting(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    author, author_token = await user_with_token(app, "author")
    hot = await post_status(client, author_token, "Everyone likes this")
    lukewarm = await post_status(client, author_token, "A few like this")
    hidden = await post_status(client, author_token, "Followers only", visibility="private")
    fans = []
    for n in range(5):
        account, token = await user_with_token(app, f"fan{n}")
        fans.append((account, token))
        await client.post(f"/api/v1/statuses/{hot['id']}/favourite", headers=auth(token))
        if n < 3:
            await client.post(f"/api/v1/statuses/{lukewarm['id']}/reblog", headers=auth(token))
            await client.post(f"/api/v1/statuses/{lukewarm['id']}/favourite", headers=auth(token))
    await client.post(f"/api/v1/statuses/{hot['id']}/reblog", headers=auth(fans[0][1]))
    await client.post(f"/api/v1/statuses/{hot['id']}/favourite", headers=auth(author_token))

    assert (await refresh(app))["status"] == 1
    assert set(await _scores(app, "status")) == {int(hot["id"])}
    _mod, mod_token = await staff(app, "moira")
    listed = (await client.get("/api/v1/admin/trends/statuses", headers=auth(mod_token))).json()
    assert [s["id"] for s in listed] == [hot["id"]]
    assert (await client.get("/api/v1/trends/statuses")).json() == []
    await client.post(f"/api/v1/admin/trends/statuses/{hot['id']}/approve", headers=auth(mod_token))
    assert [s["id"] for s in (await client.get("/api/v1/trends/statuses")).json()] == [hot["id"]]

    # Someone who blocked the author does not see it; nor does anyone once it is private.
    _blocker, blocker_token = fans[4]
    await client.post(f"/api/v1/accounts/{author.id}/block", headers=auth(blocker_token))
    mine = await client.get("/api/v1/trends/statuses", headers=auth(blocker_token))
    assert mine.json() == []
    assert hidden["id"] not in str(await _scores(app, "status"))


async def test_links_trend_by_accounts_sharing_them(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    now = utcnow()
    people = await _accounts(app, 5)
    async with app.state.engines.db.transaction() as session:
        card = PreviewCard(url="https://news.example/story", title="A story")
        session.add(card)
        await session.flush()
        card_id = card.id
    for n, account in enumerate(people):
        status_id = await post_at(app, account, now - timedelta(minutes=30), sequence=n)
        async with app.state.engines.db.transaction() as session:
            await session.execute(
                update(Status).where(Status.id == status_id).values(preview_card_id=card_id)
            )
    await refresh(app, now)
    _mod, mod_token = await staff(app, "moira")
    admin = (await client.get("/api/v1/admin/trends/links", headers=auth(mod_token))).json()
    assert [(link["id"], link["requires_review"]) for link in admin] == [(str(card_id), True)]
    await client.post(f"/api/v1/admin/trends/links/{card_id}/approve", headers=auth(mod_token))
    [link] = (await client.get("/api/v1/trends/links")).json()
    assert (link["url"], link["title"], _recent_accounts(link["history"])) == (
        "https://news.example/story",
        "A story",
        "5",
    )


async def test_private_posts_and_undiscoverable_accounts_make_nothing_trend(
    app: FastAPI,
) -> None:
    now = utcnow()
    people = await _accounts(app, 6)
    tag = await tag_named(app, "quiet")
    for n, account in enumerate(people):
        private = Visibility.PRIVATE if n % 2 else Visibility.UNLISTED
        await post_at(
            app, account, now - timedelta(minutes=5), tag_id=tag, visibility=private, sequence=n
        )
    assert (await refresh(app, now))["tag"] == 0


async def test_only_moderators_review_trends(app: FastAPI, client: httpx.AsyncClient) -> None:
    person, _ = await create_user(app, "person")
    token = await create_token(app, person.id, scopes=ADMIN_SCOPES)
    tag = await tag_named(app, "any")
    for path in ("/api/v1/admin/trends/tags", "/api/v1/admin/trends/statuses"):
        assert (await client.get(path, headers=auth(token))).status_code == 403
    refused = await client.post(f"/api/v1/admin/trends/tags/{tag}/approve", headers=auth(token))
    assert refused.status_code == 403
    _mod, mod_token = await staff(app, "ada", Role.ADMIN)
    missing = await client.post("/api/v1/admin/trends/tags/123/approve", headers=auth(mod_token))
    assert missing.status_code == 404
    reader = await create_token(app, _mod.id, scopes=frozenset({"admin:read"}))
    write_refused = await client.post(
        f"/api/v1/admin/trends/tags/{tag}/approve", headers=auth(reader)
    )
    assert write_refused.status_code == 403


async def test_the_sweeper_runs_the_trends_job_once_per_refresh_period(
    app_factory: object,
) -> None:
    settings = {"TRENDS_REQUIRE_REVIEW": False, "TRENDS_TAG_THRESHOLD": 2}
    async with app_factory(**settings) as (app, client):  # type: ignore[operator]
        now = utcnow()
        people = await _accounts(app, 2)
        first, second = await tag_named(app, "first"), await tag_named(app, "second")
        for n, account in enumerate(people):
            await post_at(app, account, now - timedelta(minutes=5), tag_id=first, sequence=n)
        await sweep_once(app.state.engines)
        await settle(app)
        assert [t["name"] for t in (await client.get("/api/v1/trends/tags")).json()] == ["first"]
        for n, account in enumerate(people):
            await post_at(app, account, now - timedelta(minutes=4), tag_id=second, sequence=n)
        await sweep_once(app.state.engines)  # within the refresh period: no new run
        await settle(app)
        assert [t["name"] for t in (await client.get("/api/v1/trends/tags")).json()] == ["first"]
