"""Direct messages grouped into conversations: each participant's view, unread state,
read / remove / revive, blocks, privacy and retries."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from connecthub import channels
from tests.factories import create_token
from tests.notifications.support import account_action, conversations, notifications
from tests.social_factories import auth, follow, post_status, user_with_token
from tests.statuses.support import counting_queries
from tests.timelines.support import settle


async def test_a_message_reaches_an_offline_recipient(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, _old_token = await user_with_token(app, "bob")
    # bob follows alice: a private mention from someone not followed waits in a request
    # (Mastodon's default notification policy, tests/notifications/test_policy.py).
    await follow(app, bob.id, alice.id)
    # bob is away: nothing of his is connected while alice writes.
    dm = await post_status(client, alice_token, "@bob are you there?", visibility="direct")
    assert dm["visibility"] == "direct"

    # He comes back later, on a new session.
    bob_token = await create_token(app, bob.id)
    [conversation] = await conversations(client, bob_token)
    assert conversation["unread"] is True
    assert [a["id"] for a in conversation["accounts"]] == [str(alice.id)]
    assert conversation["last_status"]["id"] == dm["id"]
    [mention] = await notifications(client, bob_token)
    assert (mention["type"], mention["status"]["id"]) == ("mention", dm["id"])

    [own] = await conversations(client, alice_token)
    assert own["unread"] is False
    assert [a["id"] for a in own["accounts"]] == [str(bob.id)]
    assert own["last_status"]["id"] == dm["id"]


async def test_replies_stay_in_one_conversation_and_read_marks_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    first = await post_status(client, alice_token, "@bob lunch?", visibility="direct")
    [bobs] = await conversations(client, bob_token)

    read = await client.post(f"/api/v1/conversations/{bobs['id']}/read", headers=auth(bob_token))
    assert read.status_code == 200, read.text
    assert read.json()["unread"] is False
    assert read.json()["id"] == bobs["id"]
    assert (await conversations(client, bob_token))[0]["unread"] is False

    reply = await post_status(
        client, bob_token, "@alice sure", visibility="direct", in_reply_to_id=first["id"]
    )
    [alices] = await conversations(client, alice_token)
    assert alices["unread"] is True
    assert alices["last_status"]["id"] == reply["id"]
    [bobs_again] = await conversations(client, bob_token)
    assert (bobs_again["id"], bobs_again["unread"]) == (bobs["id"], False)
    assert bobs_again["last_status"]["id"] == reply["id"]


async def test_a_direct_reply_to_a_public_post_opens_the_conversation(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A thread that began public has no conversation row (only direct messages need one):
    its first direct reply makes it, and a second one finds it."""
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    public = await post_status(client, alice_token, "anyone for lunch?")
    reply = await post_status(
        client, bob_token, "@alice me", visibility="direct", in_reply_to_id=public["id"]
    )
    [alices] = await conversations(client, alice_token)
    assert (alices["last_status"]["id"], alices["unread"]) == (reply["id"], True)
    again = await post_status(
        client, alice_token, "@bob noon", visibility="direct", in_reply_to_id=reply["id"]
    )
    [bobs] = await conversations(client, bob_token)
    assert (bobs["last_status"]["id"], bobs["unread"]) == (again["id"], True)
    assert (await conversations(client, alice_token))[0]["id"] == alices["id"]


async def test_remove_is_per_participant_and_a_new_message_revives(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    first = await post_status(client, alice_token, "@bob one", visibility="direct")
    [bobs] = await conversations(client, bob_token)

    removed = await client.delete(f"/api/v1/conversations/{bobs['id']}", headers=auth(bob_token))
    assert removed.status_code == 200
    assert await conversations(client, bob_token) == []
    assert len(await conversations(client, alice_token)) == 1
    again = await client.delete(f"/api/v1/conversations/{bobs['id']}", headers=auth(bob_token))
    assert again.status_code == 404

    second = await post_status(
        client, alice_token, "@bob two", visibility="direct", in_reply_to_id=first["id"]
    )
    [revived] = await conversations(client, bob_token)
    assert revived["unread"] is True
    assert revived["last_status"]["id"] == second["id"]


async def test_others_cannot_touch_a_conversation(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    _carol, carol_token = await user_with_token(app, "carol")
    await post_status(client, alice_token, "@bob hi", visibility="direct")
    [bobs] = await conversations(client, bob_token)
    for call in (
        client.post(f"/api/v1/conversations/{bobs['id']}/read", headers=auth(carol_token)),
        client.delete(f"/api/v1/conversations/{bobs['id']}", headers=auth(carol_token)),
        client.post("/api/v1/conversations/nope/read", headers=auth(bob_token)),
    ):
        assert (await call).status_code == 404
    assert (await conversations(client, bob_token))[0]["unread"] is True


async def test_a_third_account_never_sees_the_message(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    _carol, carol_token = await user_with_token(app, "carol")
    await account_action(client, carol_token, alice.id, "follow", notify=True)
    dm = await post_status(client, alice_token, "@bob between us", visibility="direct")
    await settle(app)  # a subscriber's notification would come from a job

    assert await conversations(client, carol_token) == []
    assert await notifications(client, carol_token) == []
    for headers in (auth(carol_token), {}):
        for path in (f"/api/v1/statuses/{dm['id']}", f"/api/v1/statuses/{dm['id']}/context"):
            hidden = await client.get(path, headers=headers)
            assert hidden.status_code == 404, path
    shown = await client.get(f"/api/v1/statuses/{dm['id']}", headers=auth(bob_token))
    assert shown.status_code == 200


async def test_a_recipient_who_blocks_the_author_gets_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    _carol, carol_token = await user_with_token(app, "carol")
    await account_action(client, bob_token, alice.id, "block")
    await post_status(client, alice_token, "@bob @carol group chat", visibility="direct")

    assert await conversations(client, bob_token) == []
    assert await notifications(client, bob_token) == []
    [carols] = await conversations(client, carol_token)
    assert {a["id"] for a in carols["accounts"]} == {str(alice.id), str(bob.id)}
    assert len(await conversations(client, alice_token)) == 1


async def test_a_resent_message_is_stored_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    # bob follows alice: a private mention from someone not followed waits in a request
    # (Mastodon's default notification policy, tests/notifications/test_policy.py).
    await follow(app, bob.id, alice.id)
    sent = [
        await post_status(
            client, alice_token, "@bob only once", visibility="direct", idempotency_key="dm-1"
        )
        for _ in range(3)
    ]
    assert {s["id"] for s in sent} == {sent[0]["id"]}
    [conversation] = await conversations(client, bob_token)
    assert conversation["last_status"]["id"] == sent[0]["id"]
    assert len(await notifications(client, bob_token)) == 1
    me = await client.get("/api/v1/accounts/verify_credentials", headers=auth(alice_token))
    assert me.json()["statuses_count"] == 1


async def test_events_and_pagination(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    # bob follows alice: a private mention from someone not followed waits in a request
    # (Mastodon's default notification policy, tests/notifications/test_policy.py).
    await follow(app, bob.id, alice.id)
    subscription = await app.state.engines.events.subscribe(channels.user_channel(bob.id))
    try:
        dm = await post_status(client, alice_token, "@bob first", visibility="direct")
        events = [await asyncio.wait_for(subscription.queue.get(), timeout=10) for _ in range(2)]
    finally:
        await subscription.close()
    by_kind = {e["event"]: e["payload"] for e in events}
    assert set(by_kind) == {"notification", "conversation"}
    assert by_kind["conversation"]["last_status"]["id"] == dm["id"]
    assert by_kind["conversation"]["unread"] is True

    for index in range(2):
        await post_status(client, alice_token, f"@bob thread {index}", visibility="direct")
    first = await client.get("/api/v1/conversations", params={"limit": 2}, headers=auth(bob_token))
    assert first.status_code == 200
    assert first.headers["link"].index('rel="next"') < first.headers["link"].index('rel="prev"')
    rest = await client.get(first.links["next"]["url"], headers=auth(bob_token))
    ids = [c["last_status"]["id"] for c in [*first.json(), *rest.json()]]
    assert len(ids) == 3
    assert ids == sorted(ids, key=int, reverse=True)


@pytest.mark.slow
async def test_scopes_and_query_count(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    others = [await user_with_token(app, f"friend{i}") for i in range(4)]
    for index in range(12):
        account, _token = others[index % 4]
        await post_status(
            client, alice_token, f"@{account.username} note {index}", visibility="direct"
        )
    no_read = await create_token(app, alice.id, scopes=frozenset({"read:notifications"}))
    assert (await client.get("/api/v1/conversations", headers=auth(no_read))).status_code == 403
    read_only = await create_token(app, alice.id, scopes=frozenset({"read:statuses"}))
    [latest] = await conversations(client, read_only, limit=1)
    denied = await client.post(
        f"/api/v1/conversations/{latest['id']}/read", headers=auth(read_only)
    )
    assert denied.status_code == 403

    async def statements(limit: int) -> int:
        with counting_queries(app) as seen:
            assert len(await conversations(client, alice_token, limit=limit)) == limit
        return len(seen)

    assert await statements(2) == await statements(10)


async def test_deleting_the_last_message_falls_back_to_the_previous(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    first = await post_status(client, alice_token, "@bob one", visibility="direct")
    second = await post_status(
        client, alice_token, "@bob two", visibility="direct", in_reply_to_id=first["id"]
    )
    deleted = await client.delete(f"/api/v1/statuses/{second['id']}", headers=auth(alice_token))
    assert deleted.status_code == 200
    for token in (alice_token, bob_token):
        [conversation] = await conversations(client, token)
        assert conversation["last_status"]["id"] == first["id"]

    deleted = await client.delete(f"/api/v1/statuses/{first['id']}", headers=auth(alice_token))
    assert deleted.status_code == 200
    assert await conversations(client, bob_token) == []
    assert await conversations(client, alice_token) == []


async def test_a_message_renders_its_status_once_and_takes_no_savepoint(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A direct message shows its status four times (the response, the recipient's
    notification, both participants' conversations); its parts are never read back (the post
    renders them from what it wrote, statuses/serializers.py `remember_new`), and the
    notification and conversation rows go in without a SAVEPOINT round trip each (the tag
    exists already: a new one is made under a SAVEPOINT, for its unique name)."""
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    await post_status(client, alice_token, "@bob #plans warm-up", visibility="direct")
    await settle(app)
    with counting_queries(app) as seen:
        dm = await post_status(client, alice_token, "@bob #plans tonight?", visibility="direct")
    statements = [" ".join(s.lower().split()) for s in seen]
    assert sum(s.startswith("select mentions.status_id") for s in statements) == 0
    assert sum(s.startswith("select status_tags.status_id") for s in statements) == 0
    assert not [s for s in statements if "savepoint" in s]
    assert not [s for s in statements if s.startswith("delete")]  # nothing to replace yet
    [conversation] = [
        c for c in await conversations(client, bob_token) if c["last_status"]["id"] == dm["id"]
    ]
    assert conversation["unread"] is True
    assert [t["name"] for t in conversation["last_status"]["tags"]] == ["plans"]
