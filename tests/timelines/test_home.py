"""Home: own posts, followed accounts' posts and boosts; minus mutes, blocks, unfollows;
private posts for followers only, direct never; keyset pagination; constant query count."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.social_factories import auth, post_status, user_with_token
from tests.timelines.support import home_ids, ids_of, read_costs, settle


async def test_home_has_own_followed_and_boosts_minus_muted_and_unfollowed(
    app: FastAPI, client: AsyncClient
) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=auth(alice_token))
    await client.post(f"/api/v1/accounts/{carol.id}/follow", headers=auth(alice_token))
    await home_ids(app, client, alice_token)  # a warm feed from here on (Redis)

    own = await post_status(client, alice_token, "mine")
    from_bob = await post_status(client, bob_token, "bob here")
    private = await post_status(client, bob_token, "followers only", visibility="private")
    direct = await post_status(client, bob_token, "@alice psst", visibility="direct")
    carol_post = await post_status(client, carol_token, "carol")
    boost = await client.post(
        f"/api/v1/statuses/{carol_post['id']}/reblog", headers=auth(bob_token)
    )

    home = await home_ids(app, client, alice_token)
    assert home == [boost.json()["id"], carol_post["id"], private["id"], from_bob["id"], own["id"]]
    assert direct["id"] not in home

    await client.post(f"/api/v1/accounts/{carol.id}/mute", headers=auth(alice_token))
    home = await home_ids(app, client, alice_token)
    assert carol_post["id"] not in home
    assert boost.json()["id"] not in home  # a boost of a muted account is hidden too

    await client.post(f"/api/v1/accounts/{bob.id}/unfollow", headers=auth(alice_token))
    home = await home_ids(app, client, alice_token)
    assert home == [own["id"]]


async def test_private_posts_reach_followers_only(app: FastAPI, client: AsyncClient) -> None:
    author, author_token = await user_with_token(app, "author")
    _fan, fan_token = await user_with_token(app, "fan")
    _stranger, stranger_token = await user_with_token(app, "stranger")
    await client.post(f"/api/v1/accounts/{author.id}/follow", headers=auth(fan_token))
    for token in (fan_token, stranger_token):
        await home_ids(app, client, token)
    private = await post_status(client, author_token, "inner circle", visibility="private")
    public = await post_status(client, author_token, "everyone")
    assert await home_ids(app, client, fan_token) == [public["id"], private["id"]]
    assert await home_ids(app, client, stranger_token) == []


async def test_a_block_either_way_empties_home_of_that_account(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=auth(alice_token))
    await home_ids(app, client, alice_token)
    post = await post_status(client, bob_token, "before the block")
    assert await home_ids(app, client, alice_token) == [post["id"]]
    await client.post(f"/api/v1/accounts/{alice.id}/block", headers=auth(bob_token))
    assert await home_ids(app, client, alice_token) == []


async def test_boosts_hidden_when_the_follow_hides_reblogs(
    app: FastAPI, client: AsyncClient
) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    _carol, carol_token = await user_with_token(app, "carol")
    followed = await client.post(
        f"/api/v1/accounts/{bob.id}/follow", data={"reblogs": "false"}, headers=auth(alice_token)
    )
    assert followed.json()["showing_reblogs"] is False
    await home_ids(app, client, alice_token)
    original = await post_status(client, carol_token, "boost me")
    await client.post(f"/api/v1/statuses/{original['id']}/reblog", headers=auth(bob_token))
    own = await post_status(client, bob_token, "own words")
    assert await home_ids(app, client, alice_token) == [own["id"]]


@pytest.mark.slow
async def test_home_paginates_with_link_headers(app: FastAPI, client: AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=auth(alice_token))
    await home_ids(app, client, alice_token)
    posted = []
    for n in range(45):
        token = alice_token if n % 2 else bob_token
        posted.append((await post_status(client, token, f"post {n}"))["id"])
    newest_first = posted[::-1]
    await settle(app)

    first = await client.get(
        "/api/v1/timelines/home", params={"limit": 40}, headers=auth(alice_token)
    )
    assert await ids_of(first) == newest_first[:40]
    link = first.headers["link"]
    assert link.index('rel="next"') < link.index('rel="prev"')
    next_url = link.split(";")[0].strip("<>")
    assert f"max_id={newest_first[39]}" in next_url
    assert "limit=40" in next_url
    assert await ids_of(await client.get(next_url, headers=auth(alice_token))) == newest_first[40:]

    default = await home_ids(app, client, alice_token)
    assert default == newest_first[:20]
    older = await home_ids(app, client, alice_token, max_id=newest_first[19])
    assert older == newest_first[20:40]
    newer = await home_ids(app, client, alice_token, min_id=posted[41])
    assert newer == newest_first[:3]
    just_after = await home_ids(app, client, alice_token, min_id=posted[0], limit=2)
    assert just_after == [posted[2], posted[1]]
    since = await home_ids(app, client, alice_token, since_id=posted[0], limit=2)
    assert since == newest_first[:2]
    window = await home_ids(app, client, alice_token, max_id=posted[10], since_id=posted[5])
    assert window == [posted[9], posted[8], posted[7], posted[6]]
    bad = await client.get(
        "/api/v1/timelines/home", params={"max_id": "x"}, headers=auth(alice_token)
    )
    assert bad.status_code == 422
    assert "max_id" in bad.json()["error"]
    assert alice.id  # the account exists; anonymous reads are refused below
    assert (await client.get("/api/v1/timelines/home")).status_code == 401


@pytest.mark.slow
async def test_home_runs_a_constant_number_of_queries(app: FastAPI, client: AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    _carol, carol_token = await user_with_token(app, "carol")
    await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=auth(alice_token))
    await home_ids(app, client, alice_token)

    async def post_batch(count: int) -> None:
        for n in range(count):
            if n % 4 == 0:
                original = await post_status(client, carol_token, f"tag #t{n} @alice")
                await client.post(
                    f"/api/v1/statuses/{original['id']}/reblog", headers=auth(bob_token)
                )
            else:
                await post_status(client, bob_token if n % 2 else alice_token, f"#x{n} @bob")
        await settle(app)

    await post_batch(40)
    cold, warm = await read_costs(app, client, "/api/v1/timelines/home", alice_token, [5, 40])
    assert cold[0] == cold[1]
    assert warm[0] == warm[1]
    assert warm[0] < cold[0]  # accounts and status parts came from the entity cache


@pytest.mark.slow
async def test_home_passes_over_long_runs_of_hidden_posts(
    app: FastAPI, client: AsyncClient
) -> None:
    """Embedded home looks at the newest posts of everyone followed and keeps those home
    shows, a few rounds at a time, then reads the rest in one query: a page is still full
    when a muted account wrote everything between two visible posts."""
    _alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    for followed in (bob, carol):
        await client.post(f"/api/v1/accounts/{followed.id}/follow", headers=auth(alice_token))
    await home_ids(app, client, alice_token)
    older = await post_status(client, carol_token, "before")
    for n in range(45):
        await post_status(client, bob_token, f"muted {n}")
    newer = await post_status(client, carol_token, "after")
    await client.post(f"/api/v1/accounts/{bob.id}/mute", headers=auth(alice_token))
    await settle(app)

    assert await home_ids(app, client, alice_token, limit=2) == [newer["id"], older["id"]]
    assert await home_ids(app, client, alice_token, limit=1) == [newer["id"]]
    assert await home_ids(app, client, alice_token, max_id=newer["id"]) == [older["id"]]
    assert await home_ids(app, client, alice_token, min_id=older["id"]) == [newer["id"]]
    assert await home_ids(app, client, alice_token, since_id=older["id"]) == [newer["id"]]
