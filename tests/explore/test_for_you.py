"""`GET /api/v1/timelines/for_you` (behind the `for_you` flag): posts of follows, of their
follows, trending and similar to what one engaged with, through the visibility rule, mutes
and filters; ranked, diversified, paged with Mastodon's cursors, each saying why; and the
ranker fitted by its job on this server's engagement."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connecthub.clock import utcnow
from connecthub.explore import foryou, ranker
from connecthub.infra.uow import UnitOfWork
from tests.filters.support import create_filter
from tests.flags.support import admin_token, create_flag
from tests.relationships.support import act, next_link, set_account
from tests.social_factories import auth, follow, post_status, user_with_token

PATH = "/api/v1/timelines/for_you"


async def _flag_on(client: httpx.AsyncClient, app: FastAPI, percentage: float = 100) -> None:
    admin = await admin_token(app)
    await create_flag(
        client,
        admin,
        key=foryou.FLAG,
        kind="boolean",
        default_value=False,
        rules=[{"name": "rollout", "conditions": [], "value": True, "percentage": percentage}],
    )


async def _feed(client: httpx.AsyncClient, token: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(PATH, params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


async def _train(app: FastAPI) -> foryou.Trained | None:
    engines = app.state.engines
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        trained = await foryou.train(uow, utcnow())
        await uow.commit()
    return trained


async def test_the_flag_gates_the_timeline(app: FastAPI, client: httpx.AsyncClient) -> None:
    _viewer, token = await user_with_token(app, "viewer")
    response = await client.get(PATH, headers=auth(token))
    assert response.status_code == 404, response.text
    await _flag_on(client, app, percentage=0)
    assert (await client.get(PATH, headers=auth(token))).status_code == 404
    admin = await admin_token(app, "rollout_admin")
    rolled = await client.post(
        f"/api/v1/admin/flags/{foryou.FLAG}/rollout",
        json={"percentage": 100, "rule": "rollout"},
        headers=auth(admin),
    )
    assert rolled.status_code == 200, rolled.text
    assert await _feed(client, token) == []
    assert (await client.get(PATH)).status_code == 401


@pytest.mark.slow
async def test_candidates_respect_visibility_blocks_mutes_and_filters(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _flag_on(client, app)
    viewer, token = await user_with_token(app, "viewer")
    friend, friend_token = await user_with_token(app, "friend")
    reached, reached_token = await user_with_token(app, "reached")
    blocked, blocked_token = await user_with_token(app, "blocked")
    muted, muted_token = await user_with_token(app, "muted")
    hidden, hidden_token = await user_with_token(app, "hidden")
    await follow(app, viewer.id, friend.id)
    for account in (reached, blocked, muted, hidden):
        await follow(app, friend.id, account.id)
    await set_account(app, hidden.id, discoverable=False)
    assert (await act(client, token, blocked.id, "block")).status_code == 200
    assert (await act(client, token, muted.id, "mute")).status_code == 200
    await create_filter(
        client, token, context=["home"], filter_action="hide", keywords=[{"keyword": "spoilers"}]
    )

    friend_public = await post_status(client, friend_token, "hello from a friend")
    friend_private = await post_status(client, friend_token, "for followers", visibility="private")
    reached_public = await post_status(client, reached_token, "a friend of a friend")
    unlisted = await post_status(client, reached_token, "quietly", visibility="unlisted")
    private = await post_status(client, reached_token, "not for you", visibility="private")
    filtered = await post_status(client, reached_token, "big spoilers here")
    direct = await post_status(client, friend_token, "@viewer psst", visibility="direct")
    await post_status(client, token, "my own post")
    await post_status(client, blocked_token, "blocked says hi")
    await post_status(client, muted_token, "muted says hi")
    await post_status(client, hidden_token, "not discoverable")

    feed = await _feed(client, token, limit=40)

    by_id = {status["id"]: status for status in feed}
    assert set(by_id) == {friend_public["id"], friend_private["id"], reached_public["id"]}
    assert not {unlisted["id"], private["id"], filtered["id"], direct["id"]} & set(by_id)
    assert by_id[friend_public["id"]]["for_you"]["sources"] == ["followed"]
    explanation = by_id[reached_public["id"]]["for_you"]
    assert explanation["sources"] == ["follows_of_follows"]
    assert 0 < explanation["score"] < 1
    assert [s["name"] for s in explanation["signals"]] == list(ranker.FEATURES)
    signals = {s["name"]: s for s in explanation["signals"]}
    assert signals["follows_of_follows"]["value"] > 0
    assert signals["follows_author"]["value"] == 0
    assert set(explanation["reasons"]) <= set(signals)
    # The friend's posts rank first: the viewer follows them (the prior's weights).
    assert feed[0]["id"] in {friend_public["id"], friend_private["id"]}

    # A block after the ranking was made is honoured on the next page too.
    first = await client.get(PATH, params={"limit": 1}, headers=auth(token))
    assert (await act(client, token, reached.id, "block")).status_code == 200
    rest = await client.get(next_link(first), headers=auth(token))
    assert reached_public["id"] not in [s["id"] for s in rest.json()]


async def test_public_posts_with_a_followed_hashtag_are_candidates(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _flag_on(client, app)
    _viewer, token = await user_with_token(app, "viewer")
    _stranger, stranger_token = await user_with_token(app, "stranger")
    muted, muted_token = await user_with_token(app, "muted")
    followed = await client.post("/api/v1/tags/gardening/follow", headers=auth(token))
    assert followed.status_code == 200, followed.text
    assert (await act(client, token, muted.id, "mute")).status_code == 200
    tagged = await post_status(client, stranger_token, "tomatoes today #gardening")
    await post_status(client, stranger_token, "quiet #gardening", visibility="unlisted")
    await post_status(client, stranger_token, "no tag at all")
    await post_status(client, muted_token, "muted #gardening")

    feed = await _feed(client, token, limit=40)

    assert [status["id"] for status in feed] == [tagged["id"]]
    assert feed[0]["for_you"]["sources"] == ["followed_tags"]


@pytest.mark.slow
async def test_pages_follow_the_ranking_and_one_author_never_runs(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _flag_on(client, app)
    viewer, token = await user_with_token(app, "viewer")
    posters = []
    for name in ("ann", "ben", "cat"):
        account, poster_token = await user_with_token(app, name)
        await follow(app, viewer.id, account.id)
        posters.append((account, poster_token))
    posted = []
    for _ in range(4):
        posted.append(await post_status(client, posters[0][1], "ann again"))
    posted.append(await post_status(client, posters[1][1], "ben once"))
    posted.append(await post_status(client, posters[2][1], "cat once"))

    whole = await _feed(client, token, limit=40)
    assert sorted(s["id"] for s in whole) == sorted(s["id"] for s in posted)
    authors = [s["account"]["username"] for s in whole]
    # An author follows themself only once no other author is left.
    for index in range(len(authors) - 1):
        if authors[index] == authors[index + 1]:
            assert set(authors[index:]) == {authors[index]}, authors

    seen: list[str] = []
    response = await client.get(PATH, params={"limit": 2}, headers=auth(token))
    while True:
        assert response.status_code == 200, response.text
        page = [s["id"] for s in response.json()]
        if not page:
            break
        seen.extend(page)
        response = await client.get(next_link(response), headers=auth(token))
    assert seen == [s["id"] for s in whole]

    # min_id: only what is newer than it, ranked.
    newer = await post_status(client, posters[1][1], "ben again")
    fresh = await _feed(client, token, min_id=max(int(s["id"]) for s in posted))
    assert [s["id"] for s in fresh] == [newer["id"]]


@pytest.mark.slow
@pytest.mark.timeout(600)  # 112 writes through the API: slow on a loaded machine
async def test_the_job_learns_from_engagement(app: FastAPI, client: httpx.AsyncClient) -> None:
    """People here favourite only the posts of accounts they follow: the fitted model
    weighs following the author up, and the feed is ranked by it."""
    await _flag_on(client, app)
    authors = []
    for name in ("liked1", "liked2", "other1", "other2"):
        authors.append(await user_with_token(app, name))
    posts: dict[int, list[str]] = {}
    for account, author_token in authors:
        posts[account.id] = [
            (await post_status(client, author_token, f"post {n} by {account.username}"))["id"]
            for n in range(8)
        ]
    fans = [await user_with_token(app, f"fan{n}") for n in range(5)]
    assert await _train(app) is None  # no engagement yet: the prior serves
    for fan, fan_token in fans:
        for account, _ in authors:
            await follow(app, fan.id, account.id) if account.username.startswith("liked") else None
        for account, _ in authors[:2]:
            for status_id in posts[account.id]:
                favourited = await client.post(
                    f"/api/v1/statuses/{status_id}/favourite", headers=auth(fan_token)
                )
                assert favourited.status_code == 200, favourited.text

    trained = await _train(app)

    assert trained is not None
    assert trained.positives == 5 * 2 * 8
    weights = dict(zip(trained.model.features, trained.model.weights, strict=True))
    assert weights["follows_author"] > 0 or weights["author_affinity"] > 0
    engines = app.state.engines
    async with engines.db.session() as session:
        assert await foryou.current_model(UnitOfWork(engines, session)) == ranker.Model.from_json(
            trained.model.to_json()
        )
