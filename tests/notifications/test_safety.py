"""No notification from a blocked or muted account, and none that points at a status the
recipient can no longer read — checked when notifying and again when reading."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from connecthub.clock import utcnow
from connecthub.relationships.models import Mute
from tests.notifications.support import account_action, status_action, types_of
from tests.social_factories import auth, post_status, user_with_token
from tests.statuses.support import suspend
from tests.timelines.support import settle


async def test_blocks_stop_notifications_both_ways(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    await account_action(client, alice_token, bob.id, "block")
    await post_status(client, bob_token, "@alice hello?")
    assert await types_of(client, alice_token) == []

    # The blocked side hears nothing from the blocker either.
    await post_status(client, alice_token, "@bob you are blocked")
    assert await types_of(client, bob_token) == []

    # A block made later hides what came before, and lifting it shows it again.
    await post_status(client, carol_token, "@alice before the block")
    await account_action(client, alice_token, carol.id, "block")
    assert await types_of(client, alice_token) == []
    await account_action(client, alice_token, carol.id, "unblock")
    assert await types_of(client, alice_token) == ["mention"]


async def test_mutes_hide_notifications_while_live(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    await account_action(client, alice_token, bob.id, "mute")  # notifications hidden by default
    await account_action(client, alice_token, carol.id, "mute", notifications=False)
    await post_status(client, bob_token, "@alice from bob")
    await post_status(client, carol_token, "@alice from carol")
    assert await types_of(client, alice_token, account_id=str(carol.id)) == ["mention"]
    assert await types_of(client, alice_token) == ["mention"]

    # When bob's mute runs out, his later mentions come through.
    await account_action(client, alice_token, bob.id, "mute", duration=3600)
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            update(Mute)
            .where(Mute.target_account_id == bob.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    await post_status(client, bob_token, "@alice after the mute")
    assert await types_of(client, alice_token) == ["mention", "mention"]


async def test_unreadable_statuses_and_suspended_senders_drop_out(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    await account_action(client, bob_token, alice.id, "follow", notify=True)
    await post_status(client, alice_token, "followers only", visibility="private")
    await settle(app)  # subscribers are notified by a job
    assert await types_of(client, bob_token) == ["status"]
    # Unfollowing takes away the right to read the private status, and its notification.
    await account_action(client, bob_token, alice.id, "unfollow")
    assert await types_of(client, bob_token) == []

    public = await post_status(client, bob_token, "fav me")
    await status_action(client, carol_token, public["id"], "favourite")
    assert await types_of(client, bob_token) == ["favourite"]
    await suspend(app, carol.id)
    assert await types_of(client, bob_token) == []

    # A deleted status takes its notifications with it.
    mention = await post_status(client, alice_token, "@bob soon gone")
    assert await types_of(client, bob_token) == ["mention"]
    deleted = await client.delete(f"/api/v1/statuses/{mention['id']}", headers=auth(alice_token))
    assert deleted.status_code == 200
    assert await types_of(client, bob_token) == []
