"""The notification policy (Mastodon 4.3): what each kind of sender's notifications become
(accept, filter, drop), the requests filtered mentions wait in, and accepting or
dismissing them; both the v2 route and the older v1 boolean view of the same policy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from connecthub.relationships.models import Follow
from tests.notifications.support import account_action, notifications, status_action, types_of
from tests.social_factories import auth, follow, post_status, user_with_token

V2 = "/api/v2/notifications/policy"
V1 = "/api/v1/notifications/policy"
REQUESTS = "/api/v1/notifications/requests"


async def _get(client: httpx.AsyncClient, token: str, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


async def _set(client: httpx.AsyncClient, token: str, **choices: Any) -> dict[str, Any]:
    response = await client.patch(V2, json=choices, headers=auth(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _post(client: httpx.AsyncClient, token: str, path: str, **body: Any) -> None:
    response = await client.post(path, json=body, headers=auth(token))
    assert response.status_code == 200, response.text
    assert response.json() == {}


async def test_defaults_and_both_shapes(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    empty = {"pending_requests_count": 0, "pending_notifications_count": 0}
    assert await _get(client, token, V2) == {
        "for_not_following": "accept",
        "for_not_followers": "accept",
        "for_new_accounts": "accept",
        "for_private_mentions": "filter",
        "for_limited_accounts": "filter",
        "summary": empty,
    }
    assert await _get(client, token, V1) == {
        "filter_not_following": False,
        "filter_not_followers": False,
        "filter_new_accounts": False,
        "filter_private_mentions": True,
        "summary": empty,
    }

    changed = await _set(client, token, for_not_following="drop", for_new_accounts="filter")
    assert (changed["for_not_following"], changed["for_new_accounts"]) == ("drop", "filter")
    assert changed["for_private_mentions"] == "filter"  # not given: unchanged
    # The v1 view: anything but accept is true; its booleans write filter or accept.
    v1 = await _get(client, token, V1)
    assert (v1["filter_not_following"], v1["filter_new_accounts"]) == (True, True)
    response = await client.patch(
        V1,
        data={"filter_private_mentions": "false", "filter_not_followers": "true"},
        headers=auth(token),
    )
    assert response.status_code == 200, response.text
    assert response.json()["filter_private_mentions"] is False
    v2 = await _get(client, token, V2)
    assert (v2["for_private_mentions"], v2["for_not_followers"]) == ("accept", "filter")
    assert v2["for_not_following"] == "drop"


async def test_bad_values_are_refused_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, token = await user_with_token(app, "alice")
    for body in ({"for_new_accounts": "maybe"}, {"for_not_following": ["filter"]}):
        response = await client.patch(V2, json=body, headers=auth(token))
        assert response.status_code == 422, response.text
        assert next(iter(body)) in response.json()["error"]
    response = await client.patch(V1, json={"filter_new_accounts": "perhaps"}, headers=auth(token))
    assert response.status_code == 422
    assert "filter_new_accounts" in response.json()["error"]
    assert (await _get(client, token, V2))["for_new_accounts"] == "accept"  # nothing written


async def test_scopes(app: FastAPI, client: httpx.AsyncClient) -> None:
    from tests.factories import create_token

    alice, _ = await user_with_token(app, "alice")
    read_only = await create_token(app, alice.id, scopes=frozenset({"read:notifications"}))
    assert (await client.get(V2, headers=auth(read_only))).status_code == 200
    assert (await client.get(REQUESTS, headers=auth(read_only))).status_code == 200
    for method, path in (("PATCH", V2), ("PATCH", V1), ("POST", f"{REQUESTS}/accept")):
        response = await client.request(method, path, headers=auth(read_only))
        assert response.status_code == 403, (path, response.text)
    assert (await client.get(V2)).status_code == 401


async def test_a_strangers_private_mention_waits_in_a_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    _carol, carol_token = await user_with_token(app, "carol")
    first = await post_status(client, bob_token, "@alice psst", visibility="direct")
    second = await post_status(client, bob_token, "@alice psst again", visibility="direct")
    await post_status(client, bob_token, "@alice out loud")  # public: not held back

    assert await types_of(client, token) == ["mention"]
    held = await notifications(client, token, include_filtered="true")
    assert [n["status"]["id"] for n in held][1:] == [second["id"], first["id"]]
    # One sender's notifications include the held ones (how clients show a request).
    from_bob = await notifications(client, token, account_id=str(bob.id))
    assert [n["status"]["id"] for n in from_bob] == [n["status"]["id"] for n in held]
    grouped = await _get(client, token, "/api/v2/notifications")
    assert len(grouped["notification_groups"]) == 1
    grouped = await _get(client, token, "/api/v2/notifications", include_filtered="true")
    assert len(grouped["notification_groups"]) == 3
    assert (await _get(client, token, "/api/v1/notifications/unread_count"))["count"] == 1
    # One by id is shown, as Mastodon's.
    one = await _get(client, token, f"/api/v1/notifications/{held[-1]['id']}")
    assert one["status"]["id"] == first["id"]

    policy = await _get(client, token, V2)
    assert policy["summary"] == {"pending_requests_count": 1, "pending_notifications_count": 2}
    [request] = await _get(client, token, REQUESTS)
    assert request["account"]["id"] == str(bob.id)
    assert request["notifications_count"] == "2"
    assert request["last_status"]["id"] == second["id"]
    assert await _get(client, token, f"{REQUESTS}/{request['id']}") == request
    # Another's request is not found, for reading or acting.
    assert (
        await client.get(f"{REQUESTS}/{request['id']}", headers=auth(carol_token))
    ).status_code == 404
    answer = await client.post(f"{REQUESTS}/{request['id']}/accept", headers=auth(carol_token))
    assert answer.status_code == 404
    assert (await client.get(f"{REQUESTS}/123", headers=auth(token))).status_code == 404
    assert (await client.get(f"{REQUESTS}/nope", headers=auth(token))).status_code == 404

    # A request whose mentions are all gone (deleted statuses) is no longer pending.
    for status in (first, second):
        deleted = await client.delete(f"/api/v1/statuses/{status['id']}", headers=auth(bob_token))
        assert deleted.status_code == 200
    assert await _get(client, token, REQUESTS) == []
    assert (await _get(client, token, V2))["summary"]["pending_requests_count"] == 0
    assert alice.id != bob.id


async def test_followed_senders_and_answers_to_your_own_pass(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    await follow(app, alice.id, bob.id)
    await post_status(client, bob_token, "@alice from a friend", visibility="direct")
    # Alice wrote to carol first: carol's direct answer in that thread is no stranger's.
    opener = await post_status(client, token, "@carol hello", visibility="direct")
    await post_status(
        client, carol_token, "@alice hi back", visibility="direct", in_reply_to_id=opener["id"]
    )
    assert await types_of(client, token) == ["mention", "mention"]
    assert await _get(client, token, REQUESTS) == []
    assert carol.id != bob.id


async def test_accepting_moves_them_in_and_lets_later_ones_pass(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    mention = await post_status(client, bob_token, "@alice let me in", visibility="direct")
    [request] = await _get(client, token, REQUESTS)
    await _post(client, token, f"{REQUESTS}/{request['id']}/accept")

    [notification] = await notifications(client, token)
    assert notification["status"]["id"] == mention["id"]
    assert await _get(client, token, REQUESTS) == []
    assert (await client.get(f"{REQUESTS}/{request['id']}", headers=auth(token))).status_code == 404
    assert await _get(client, token, f"{REQUESTS}/merged") == {"merged": True}
    later = await post_status(client, bob_token, "@alice thanks", visibility="direct")
    assert next(n["status"]["id"] for n in await notifications(client, token)) == later["id"]
    assert (await _get(client, token, V2))["summary"]["pending_requests_count"] == 0


async def test_dismissing_drops_them_and_a_later_mention_asks_again(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    await post_status(client, bob_token, "@alice buy my stuff", visibility="direct")
    [request] = await _get(client, token, REQUESTS)
    await _post(client, token, f"{REQUESTS}/{request['id']}/dismiss")
    assert await notifications(client, token, include_filtered="true") == []
    assert await _get(client, token, REQUESTS) == []

    await post_status(client, bob_token, "@alice still selling", visibility="direct")
    [again] = await _get(client, token, REQUESTS)
    assert again["id"] != request["id"]
    assert again["notifications_count"] == "1"
    assert await types_of(client, token) == []


async def test_bulk_accept_and_dismiss_take_ids(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    senders = [await user_with_token(app, name) for name in ("bob", "carol", "dave")]
    _erin, erin_token = await user_with_token(app, "erin")
    for _account, sender_token in senders:
        await post_status(client, sender_token, "@alice hi", visibility="direct")
        await post_status(client, sender_token, "@erin hi", visibility="direct")
    requests = await _get(client, token, REQUESTS)
    assert [r["account"]["username"] for r in requests] == ["dave", "carol", "bob"]
    erins = await _get(client, erin_token, REQUESTS)

    # Another's ids are ignored; a non-id is refused naming the field.
    await _post(client, token, f"{REQUESTS}/accept", id=[requests[0]["id"], erins[1]["id"]])
    await _post(client, token, f"{REQUESTS}/dismiss", id=[requests[1]["id"]])
    bad = await client.post(f"{REQUESTS}/dismiss", json={"id": ["x"]}, headers=auth(token))
    assert bad.status_code == 422
    assert "id" in bad.json()["error"]

    assert [r["account"]["username"] for r in await _get(client, token, REQUESTS)] == ["bob"]
    assert [n["account"]["username"] for n in await notifications(client, token)] == ["dave"]
    assert len(await _get(client, erin_token, REQUESTS)) == 3


async def test_requests_are_paged_with_link_headers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, token = await user_with_token(app, "alice")
    for name in ("bob", "carol", "dave"):
        _account, sender_token = await user_with_token(app, name)
        await post_status(client, sender_token, "@alice hi", visibility="direct")
    response = await client.get(REQUESTS, params={"limit": 2}, headers=auth(token))
    assert [r["account"]["username"] for r in response.json()] == ["dave", "carol"]
    next_url = response.links["next"]["url"]
    rest = await client.get(next_url, headers=auth(token))
    assert [r["account"]["username"] for r in rest.json()] == ["bob"]


async def test_drop_and_filter_for_strangers(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    await follow(app, alice.id, carol.id)
    status = await post_status(client, token, "like me")

    await _set(client, token, for_not_following="drop")
    await status_action(client, bob_token, status["id"], "favourite")
    await status_action(client, carol_token, status["id"], "favourite")
    favourites = await notifications(client, token, include_filtered="true")
    assert [n["account"]["id"] for n in favourites] == [str(carol.id)]  # bob's: never made

    await _set(client, token, for_not_following="filter")
    await account_action(client, bob_token, alice.id, "follow")
    assert [n["account"]["id"] for n in await notifications(client, token)] == [str(carol.id)]
    held = await notifications(client, token, include_filtered="true")
    assert [n["type"] for n in held] == ["follow", "favourite"]
    # Only mentions open requests (as Mastodon); the rest wait behind include_filtered.
    assert await _get(client, token, REQUESTS) == []


async def test_new_accounts_and_recent_followers(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    await _set(client, token, for_new_accounts="filter", for_not_followers="filter")
    await account_action(client, bob_token, alice.id, "follow")
    await post_status(client, bob_token, "@alice new here")
    assert await types_of(client, token) == []  # a new account, following for minutes

    await _set(client, token, for_new_accounts="accept")
    await post_status(client, bob_token, "@alice still new")
    assert await types_of(client, token) == []  # a follower of less than three days
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            update(Follow)
            .where(Follow.account_id == bob.id)
            .values(created_at=utcnow() - timedelta(days=4))
        )
    await post_status(client, bob_token, "@alice an old follower now")
    assert await types_of(client, token) == ["mention"]

    await _set(client, token, for_new_accounts="drop", for_not_followers="accept")
    await post_status(client, bob_token, "@alice dropped")
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            update(Account)
            .where(Account.id == bob.id)
            .values(created_at=utcnow() - timedelta(days=31))
        )
    await post_status(client, bob_token, "@alice an old account now")
    bodies = [
        n["status"]["content"]
        for n in await notifications(client, token, include_filtered="true", types="mention")
    ]
    # The new account's mention was never made; the old account's is accepted.
    assert ["old account" in b for b in bodies] == [True, False, False, False]
    assert not any("dropped" in b for b in bodies)
    assert await types_of(client, token) == ["mention", "mention"]


async def test_a_limited_accounts_notifications_are_filtered_by_default(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, token = await user_with_token(app, "alice")
    limited, limited_token = await user_with_token(app, "limited")
    _carol, carol_token = await user_with_token(app, "carol")
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            update(Account).where(Account.id == limited.id).values(silenced_at=utcnow())
        )
    status = await post_status(client, token, "hello")
    await status_action(client, limited_token, status["id"], "favourite")
    await status_action(client, carol_token, status["id"], "favourite")
    shown = await notifications(client, token)
    assert [n["account"]["username"] for n in shown] == ["carol"]
    held = await notifications(client, token, include_filtered="true")
    assert [n["account"]["username"] for n in held] == ["carol", "limited"]

    await _set(client, token, for_limited_accounts="accept")
    await account_action(client, limited_token, alice.id, "follow")
    assert "limited" in [n["account"]["username"] for n in await notifications(client, token)]
