"""Lists: CRUD, members (followed accounts only), the list timeline and its policies."""

from __future__ import annotations

from fastapi import FastAPI
from httpx import AsyncClient

from tests.social_factories import auth, post_status, user_with_token
from tests.timelines.support import home_ids, ids_of, settle


async def test_list_crud_and_members(app: FastAPI, client: AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    bob, _ = await user_with_token(app, "bob")
    carol, _ = await user_with_token(app, "carol")
    _mallory, mallory_token = await user_with_token(app, "mallory")
    headers = auth(alice_token)

    created = await client.post("/api/v1/lists", data={"title": "Friends"}, headers=headers)
    assert created.status_code == 200
    lst = created.json()
    assert lst == {
        "id": lst["id"],
        "title": "Friends",
        "replies_policy": "list",
        "exclusive": False,
    }
    blank = await client.post("/api/v1/lists", json={"title": " "}, headers=headers)
    assert blank.status_code == 422
    assert "title" in blank.json()["error"]
    policy = await client.post(
        "/api/v1/lists", json={"title": "x", "replies_policy": "all"}, headers=headers
    )
    assert policy.status_code == 422
    assert "replies_policy" in policy.json()["error"]

    updated = await client.put(
        f"/api/v1/lists/{lst['id']}",
        json={"title": "Close friends", "replies_policy": "followed", "exclusive": True},
        headers=headers,
    )
    assert updated.json()["title"] == "Close friends"
    assert updated.json()["replies_policy"] == "followed"
    assert updated.json()["exclusive"] is True
    assert (await client.get("/api/v1/lists", headers=headers)).json() == [updated.json()]
    assert (await client.get(f"/api/v1/lists/{lst['id']}", headers=headers)).json() == (
        updated.json()
    )
    # Someone else's list does not exist for you.
    other = await client.get(f"/api/v1/lists/{lst['id']}", headers=auth(mallory_token))
    assert other.status_code == 404

    members_url = f"/api/v1/lists/{lst['id']}/accounts"
    refused = await client.post(members_url, data={"account_ids[]": [str(bob.id)]}, headers=headers)
    assert refused.status_code == 422
    assert "account_ids" in refused.json()["error"]
    for account in (bob, carol):
        await client.post(f"/api/v1/accounts/{account.id}/follow", headers=headers)
    added = await client.post(
        members_url, data={"account_ids[]": [str(bob.id), str(carol.id)]}, headers=headers
    )
    assert added.status_code == 200
    assert added.json() == {}
    again = await client.post(members_url, json={"account_ids": [str(bob.id)]}, headers=headers)
    assert again.status_code == 200
    members = await client.get(members_url, headers=headers)
    assert sorted(a["username"] for a in members.json()) == ["bob", "carol"]
    holding = await client.get(f"/api/v1/accounts/{bob.id}/lists", headers=headers)
    assert [found["id"] for found in holding.json()] == [lst["id"]]

    await client.request(
        "DELETE", members_url, params={"account_ids[]": str(carol.id)}, headers=headers
    )
    members = await client.get(members_url, headers=headers)
    assert [a["username"] for a in members.json()] == ["bob"]

    # Unfollowing takes the account off the follower's lists.
    await client.post(f"/api/v1/accounts/{bob.id}/unfollow", headers=headers)
    await settle(app)
    assert (await client.get(members_url, headers=headers)).json() == []

    deleted = await client.delete(f"/api/v1/lists/{lst['id']}", headers=headers)
    assert deleted.status_code == 200
    assert deleted.json() == {}
    assert (await client.get(f"/api/v1/lists/{lst['id']}", headers=headers)).status_code == 404


async def test_list_timeline_and_replies_policy(app: FastAPI, client: AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    dave, dave_token = await user_with_token(app, "dave")
    headers = auth(alice_token)
    for account in (bob, carol):
        await client.post(f"/api/v1/accounts/{account.id}/follow", headers=headers)
    lst = (await client.post("/api/v1/lists", data={"title": "Bob"}, headers=headers)).json()
    await client.post(
        f"/api/v1/lists/{lst['id']}/accounts", data={"account_ids[]": str(bob.id)}, headers=headers
    )

    from_bob = await post_status(client, bob_token, "hello")
    private = await post_status(client, bob_token, "followers", visibility="private")
    from_carol = await post_status(client, carol_token, "not listed")
    from_dave = await post_status(client, dave_token, "stranger")
    to_carol = await post_status(client, bob_token, "@carol hi", in_reply_to_id=from_carol["id"])
    to_dave = await post_status(client, bob_token, "@dave hi", in_reply_to_id=from_dave["id"])
    to_self = await post_status(client, bob_token, "more", in_reply_to_id=from_bob["id"])
    url = f"/api/v1/timelines/list/{lst['id']}"

    async def listed(policy: str) -> list[str]:
        await client.put(
            f"/api/v1/lists/{lst['id']}", json={"replies_policy": policy}, headers=headers
        )
        return await ids_of(await client.get(url, headers=headers))

    base = [to_self["id"], private["id"], from_bob["id"]]
    assert await listed("list") == [base[0], *base[1:]]
    assert await listed("followed") == [
        to_self["id"],
        to_carol["id"],
        private["id"],
        from_bob["id"],
    ]
    assert await listed("none") == base
    assert to_dave["id"] not in await listed("followed")
    assert dave.id
    assert carol.id

    # Exclusive: the list's members leave home.
    await client.put(f"/api/v1/lists/{lst['id']}", json={"exclusive": True}, headers=headers)
    home = await home_ids(app, client, alice_token)
    assert home == [from_carol["id"]]
    assert (await client.get(url, headers=auth(bob_token))).status_code == 404


async def test_limit_zero_lists_every_member_without_pagination(
    app: FastAPI, client: AsyncClient
) -> None:
    """Mastodon's `limit=0` on a list's accounts: all of them, no `Link` header."""
    _owner, token = await user_with_token(app, "zoe")
    headers = auth(token)
    lst = (await client.post("/api/v1/lists", json={"title": "All"}, headers=headers)).json()
    members_url = f"/api/v1/lists/{lst['id']}/accounts"
    names = [f"member{i}" for i in range(3)]
    for name in names:
        account, _ = await user_with_token(app, name)
        await client.post(f"/api/v1/accounts/{account.id}/follow", headers=headers)
        added = await client.post(
            members_url, json={"account_ids": [str(account.id)]}, headers=headers
        )
        assert added.status_code == 200, added.text
    paged = await client.get(members_url, params={"limit": "2"}, headers=headers)
    assert len(paged.json()) == 2
    assert "Link" in paged.headers
    everyone = await client.get(members_url, params={"limit": "0"}, headers=headers)
    assert everyone.status_code == 200
    assert sorted(a["username"] for a in everyone.json()) == names
    assert "Link" not in everyone.headers
    negative = await client.get(members_url, params={"limit": "-1"}, headers=headers)
    assert negative.status_code == 422
