"""Each notification type is produced by the action that causes it, once."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from connecthub.clock import utcnow
from connecthub.statuses.models import Poll
from tests.notifications.support import (
    account_action,
    notifications,
    run_job,
    status_action,
    types_of,
)
from tests.social_factories import auth, post_status, user_with_token
from tests.timelines.support import settle


async def test_mention(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    status = await post_status(client, alice_token, "hi @bob and @alice")

    [mention] = await notifications(client, bob_token)
    assert mention["type"] == "mention"
    assert mention["account"]["id"] == str(alice.id)
    assert mention["status"]["id"] == status["id"]
    assert mention["group_key"] == f"ungrouped-{mention['id']}"
    assert isinstance(mention["created_at"], str)
    # Mentioning oneself notifies nobody.
    assert await notifications(client, alice_token) == []


async def test_status_for_subscribed_followers(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    _carol, carol_token = await user_with_token(app, "carol")
    await account_action(client, bob_token, alice.id, "follow", notify=True)
    await account_action(client, carol_token, alice.id, "follow")
    status = await post_status(client, alice_token, "news", visibility="private")
    await settle(app)  # subscribers are notified by a job

    [note] = await notifications(client, bob_token)
    assert (note["type"], note["status"]["id"]) == ("status", status["id"])
    assert await notifications(client, carol_token) == []


async def test_follow_and_follow_request(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    await account_action(client, bob_token, alice.id, "follow")
    [follow] = await notifications(client, alice_token)
    assert follow["type"] == "follow"
    assert follow["account"]["id"] == str(bob.id)
    assert "status" not in follow

    locked = await client.patch(
        "/api/v1/accounts/update_credentials", json={"locked": True}, headers=auth(bob_token)
    )
    assert locked.status_code == 200, locked.text
    await account_action(client, alice_token, bob.id, "follow")
    [request] = await notifications(client, bob_token)
    assert request["type"] == "follow_request"
    assert request["account"]["id"] == str(alice.id)


async def test_favourite_and_reblog_once_each(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    status = await post_status(client, alice_token, "like me")
    await status_action(client, bob_token, status["id"], "favourite")
    await status_action(client, bob_token, status["id"], "favourite")  # a retry
    await status_action(client, bob_token, status["id"], "reblog")

    found = await notifications(client, alice_token)
    assert [n["type"] for n in found] == ["reblog", "favourite"]
    assert {n["account"]["id"] for n in found} == {str(bob.id)}
    assert {n["status"]["id"] for n in found} == {status["id"]}
    # Favouriting one's own status notifies nobody.
    await status_action(client, alice_token, status["id"], "favourite")
    assert len(await notifications(client, alice_token)) == 2


async def test_update_reaches_boosters(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    status = await post_status(client, alice_token, "first draft")
    await status_action(client, bob_token, status["id"], "reblog")
    edited = await client.put(
        f"/api/v1/statuses/{status['id']}",
        json={"status": "second draft"},
        headers=auth(alice_token),
    )
    assert edited.status_code == 200, edited.text

    [update_note] = await notifications(client, bob_token)
    assert update_note["type"] == "update"
    assert update_note["account"]["id"] == str(alice.id)
    assert "second draft" in update_note["status"]["content"]


async def test_poll_end_reaches_voters_and_author(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    _carol, carol_token = await user_with_token(app, "carol")
    status = await post_status(
        client, alice_token, "tea?", poll={"options": ["yes", "no"], "expires_in": 600}
    )
    poll_id = status["poll"]["id"]
    voted = await client.post(
        f"/api/v1/polls/{poll_id}/votes", json={"choices": ["0"]}, headers=auth(bob_token)
    )
    assert voted.status_code == 200, voted.text
    # The poll's time passes; the expiry job (scheduled at posting) then runs — twice, as a
    # retried job may.
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            update(Poll)
            .where(Poll.id == int(poll_id))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    for _ in range(2):
        await run_job(app, "statuses.poll_expired", {"poll_id": int(poll_id)})

    for token in (bob_token, alice_token):
        [ended] = await notifications(client, token)
        assert ended["type"] == "poll"
        assert ended["account"]["id"] == str(alice.id)
        assert ended["status"]["poll"]["expired"] is True
    assert await types_of(client, carol_token) == []
