"""The follow graph through the API: follows, requests, blocks, mutes, lists and counts."""

import asyncio

from connecthub.accounts.models import Account
from tests.social_factories import auth, user_with_token


async def _account(client, token, account_id):
    response = await client.get(f"/api/v1/accounts/{account_id}", headers=auth(token))
    return response.json()


async def test_follow_unfollow_keeps_counts_and_relationship(app, client):
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")

    followed = await client.post(
        f"/api/v1/accounts/{bob.id}/follow", data={"notify": "true"}, headers=auth(alice_token)
    )
    assert followed.status_code == 200, followed.text
    assert followed.json()["following"] is True
    assert followed.json()["notifying"] is True
    again = await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=auth(alice_token))
    assert again.json()["following"] is True
    assert (await _account(client, alice_token, bob.id))["followers_count"] == 1
    assert (await _account(client, alice_token, alice.id))["following_count"] == 1

    seen_by_bob = await client.get(
        "/api/v1/accounts/relationships", params={"id[]": [alice.id]}, headers=auth(bob_token)
    )
    assert seen_by_bob.json()[0]["followed_by"] is True

    await client.post(f"/api/v1/accounts/{bob.id}/unfollow", headers=auth(alice_token))
    assert (await _account(client, alice_token, bob.id))["followers_count"] == 0
    assert (await _account(client, alice_token, alice.id))["following_count"] == 0


async def test_concurrent_follows_count_once(app, client):
    _alice, alice_token = await user_with_token(app, "alice")
    bob, _ = await user_with_token(app, "bob")
    await asyncio.gather(
        *(
            client.post(f"/api/v1/accounts/{bob.id}/follow", headers=auth(alice_token))
            for _ in range(5)
        )
    )
    assert (await _account(client, alice_token, bob.id))["followers_count"] == 1


async def test_a_locked_account_approves_follow_requests(app, client):
    alice, alice_token = await user_with_token(app, "alice")
    carol, carol_token = await user_with_token(app, "carol")
    async with app.state.engines.db.transaction() as session:
        (await session.get(Account, carol.id)).locked = True

    requested = await client.post(f"/api/v1/accounts/{carol.id}/follow", headers=auth(alice_token))
    assert requested.json()["requested"] is True
    assert requested.json()["following"] is False
    pending = await client.get("/api/v1/follow_requests", headers=auth(carol_token))
    assert [a["id"] for a in pending.json()] == [str(alice.id)]

    accepted = await client.post(
        f"/api/v1/follow_requests/{alice.id}/authorize", headers=auth(carol_token)
    )
    assert accepted.json()["followed_by"] is True
    assert (await _account(client, carol_token, carol.id))["followers_count"] == 1
    again = await client.post(
        f"/api/v1/follow_requests/{alice.id}/reject", headers=auth(carol_token)
    )
    assert again.status_code == 404


async def test_blocking_ends_follows_both_ways_and_refuses_new_ones(app, client):
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=auth(alice_token))
    await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=auth(bob_token))

    blocked = await client.post(f"/api/v1/accounts/{bob.id}/block", headers=auth(alice_token))
    assert blocked.json()["blocking"] is True
    assert blocked.json()["following"] is False
    assert blocked.json()["followed_by"] is False
    for account in (alice, bob):
        shown = await _account(client, alice_token, account.id)
        assert shown["followers_count"] == 0
        assert shown["following_count"] == 0

    refused = await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=auth(bob_token))
    assert refused.status_code == 403
    listed = await client.get("/api/v1/blocks", headers=auth(alice_token))
    assert [a["id"] for a in listed.json()] == [str(bob.id)]


async def test_mutes_with_a_duration_expire(app, client):
    _alice, alice_token = await user_with_token(app, "alice")
    bob, _ = await user_with_token(app, "bob")
    muted = await client.post(
        f"/api/v1/accounts/{bob.id}/mute",
        data={"notifications": "false", "duration": "1"},
        headers=auth(alice_token),
    )
    assert muted.json()["muting"] is True
    assert muted.json()["muting_notifications"] is False
    for _ in range(50):
        await asyncio.sleep(0.1)
        state = await client.get(
            "/api/v1/accounts/relationships", params={"id[]": bob.id}, headers=auth(alice_token)
        )
        if state.json()[0]["muting"] is False:
            break
    assert state.json()[0]["muting"] is False
    bad = await client.post(
        f"/api/v1/accounts/{bob.id}/mute", data={"duration": "soon"}, headers=auth(alice_token)
    )
    assert bad.status_code == 422
    assert "duration" in bad.json()["error"]


async def test_followers_pagination_links_next_first(app, client):
    star, _star_token = await user_with_token(app, "star")
    for n in range(45):
        _fan, fan_token = await user_with_token(app, f"fan{n}")
        await client.post(f"/api/v1/accounts/{star.id}/follow", headers=auth(fan_token))
    first = await client.get(f"/api/v1/accounts/{star.id}/followers", params={"limit": 40})
    assert len(first.json()) == 40
    link = first.headers["link"]
    assert link.index('rel="next"') < link.index('rel="prev"')
    next_url = link.split(";")[0].strip("<>")
    rest = await client.get(next_url)
    assert len(rest.json()) == 5
    everyone = {a["id"] for a in first.json()} | {a["id"] for a in rest.json()}
    assert len(everyone) == 45


async def test_following_yourself_and_unknown_accounts_are_refused(app, client):
    alice, alice_token = await user_with_token(app, "alice")
    own = await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=auth(alice_token))
    assert own.status_code == 422
    missing = await client.post("/api/v1/accounts/12345/follow", headers=auth(alice_token))
    assert missing.status_code == 404
    read_only = await client.post(
        f"/api/v1/accounts/{alice.id}/block", headers={"Authorization": "Bearer nope"}
    )
    assert read_only.status_code == 401
