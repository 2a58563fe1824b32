"""Following and unfollowing: the Relationship entity, counters, options and refusals."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select, text, update

from connecthub.accounts.models import Account
from connecthub.infra.jobs import HANDLERS, JobContext
from connecthub.relationships import repository
from connecthub.relationships.service import MERGE_ACCOUNT_JOB, UNMERGE_ACCOUNT_JOB
from tests.engines import postgres_server_url
from tests.factories import create_token
from tests.relationships.support import (
    act,
    counts,
    notification_types,
    relationship,
    suspend,
)
from tests.social_factories import auth, user_with_token

RELATIONSHIP_KEYS = {
    "id",
    "following",
    "showing_reblogs",
    "notifying",
    "languages",
    "followed_by",
    "blocking",
    "blocked_by",
    "muting",
    "muting_notifications",
    "requested",
    "requested_by",
    "domain_blocking",
    "endorsed",
    "note",
}


async def test_follow_returns_the_relationship_and_counts_once(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")

    followed = await act(client, alice_token, bob.id, "follow")
    assert followed.status_code == 200, followed.text
    entity = followed.json()
    assert set(entity) == RELATIONSHIP_KEYS
    assert entity["id"] == str(bob.id)
    assert (entity["following"], entity["showing_reblogs"], entity["notifying"]) == (
        True,
        True,
        False,
    )
    assert entity["requested"] is False
    assert entity["languages"] is None

    again = await act(client, alice_token, bob.id, "follow")
    assert again.status_code == 200
    assert again.json()["following"] is True
    assert await counts(client, alice_token, bob.id) == (1, 0)
    assert await counts(client, alice_token, alice.id) == (0, 1)
    assert (await relationship(client, bob_token, alice.id))["followed_by"] is True
    assert await notification_types(client, bob_token) == [("follow", str(alice.id))]

    unfollowed = await act(client, alice_token, bob.id, "unfollow")
    assert unfollowed.json()["following"] is False
    await act(client, alice_token, bob.id, "unfollow")  # twice: still a no-op
    assert await counts(client, alice_token, bob.id) == (0, 0)
    assert await counts(client, alice_token, alice.id) == (0, 0)


async def test_follow_options_are_stored_and_updated_by_following_again(
    app: FastAPI, client: AsyncClient
) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    bob, _ = await user_with_token(app, "bob")
    first = await client.post(
        f"/api/v1/accounts/{bob.id}/follow",
        json={"reblogs": False, "notify": True, "languages": ["en", "ID"]},
        headers=auth(alice_token),
    )
    assert first.status_code == 200, first.text
    shown = first.json()
    assert (shown["showing_reblogs"], shown["notifying"]) == (False, True)
    assert shown["languages"] == ["en", "id"]

    changed = await act(client, alice_token, bob.id, "follow", reblogs="true")
    assert (changed.json()["showing_reblogs"], changed.json()["notifying"]) == (True, True)
    assert changed.json()["languages"] == ["en", "id"]  # not sent: unchanged
    cleared = await client.post(
        f"/api/v1/accounts/{bob.id}/follow?languages[]=", headers=auth(alice_token)
    )
    assert cleared.json()["languages"] is None
    assert await counts(client, alice_token, bob.id) == (1, 0)


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("languages", {"languages": ["english!"]}),
        ("languages", {"languages": [3]}),
        ("reblogs", {"reblogs": "maybe"}),
        ("notify", {"notify": ["x"]}),
    ],
)
async def test_bad_follow_options_are_refused_naming_the_field(
    app: FastAPI, client: AsyncClient, field: str, body: dict[str, Any]
) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    bob, _ = await user_with_token(app, "bob")
    response = await client.post(
        f"/api/v1/accounts/{bob.id}/follow", json=body, headers=auth(alice_token)
    )
    assert response.status_code == 422
    assert field in response.json()["error"]
    assert (await relationship(client, alice_token, bob.id))["following"] is False


async def test_concurrent_follows_count_once(app: FastAPI, client: AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, _ = await user_with_token(app, "bob")
    responses = await asyncio.gather(
        *(act(client, alice_token, bob.id, "follow") for _ in range(6))
    )
    assert all(r.status_code == 200 and r.json()["following"] for r in responses)
    assert await counts(client, alice_token, bob.id) == (1, 0)
    assert await counts(client, alice_token, alice.id) == (0, 1)


async def test_refusals_follow_mastodon(app: FastAPI, client: AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, _ = await user_with_token(app, "carol")

    own = await act(client, alice_token, alice.id, "follow")
    assert own.status_code == 422
    assert "id" in own.json()["error"]
    assert (await act(client, alice_token, 12345, "follow")).status_code == 404

    await act(client, bob_token, alice.id, "block")
    blocked_by = await act(client, alice_token, bob.id, "follow")
    assert blocked_by.status_code == 403
    blocking = await act(client, bob_token, alice.id, "follow")
    assert blocking.status_code == 403
    assert await counts(client, alice_token, alice.id) == (0, 0)

    await suspend(app, carol.id)
    assert (await act(client, alice_token, carol.id, "follow")).status_code == 404


async def test_scopes_guard_each_action(app: FastAPI, client: AsyncClient) -> None:
    alice, _ = await user_with_token(app, "alice")
    bob, _ = await user_with_token(app, "bob")
    read_only = await create_token(app, alice.id, scopes=frozenset({"read"}))
    follows_only = await create_token(
        app, alice.id, scopes=frozenset({"read:follows", "write:follows"})
    )
    legacy = await create_token(app, alice.id, scopes=frozenset({"follow"}))

    assert (await act(client, read_only, bob.id, "follow")).status_code == 403
    assert (await act(client, follows_only, bob.id, "follow")).status_code == 200
    assert (await act(client, follows_only, bob.id, "block")).status_code == 403
    assert (await act(client, follows_only, bob.id, "mute")).status_code == 403
    for action in ("block", "unblock", "mute", "unmute", "unfollow"):
        assert (await act(client, legacy, bob.id, action)).status_code == 200, action
    blocks = await client.get("/api/v1/blocks", headers=auth(follows_only))
    assert blocks.status_code == 403
    anonymous = await client.post(f"/api/v1/accounts/{bob.id}/follow")
    assert anonymous.status_code == 401


async def test_follow_changes_queue_home_feed_hooks(
    app: FastAPI, client: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A feed store that registers the hook names gets every merge and unmerge."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def recorder(name: str) -> Any:
        async def handler(ctx: JobContext, payload: dict[str, Any]) -> None:
            seen.append((name, payload))

        return handler

    for name in (MERGE_ACCOUNT_JOB, UNMERGE_ACCOUNT_JOB):
        monkeypatch.setitem(HANDLERS, name, recorder(name))
    alice, alice_token = await user_with_token(app, "alice")
    bob, _ = await user_with_token(app, "bob")
    await act(client, alice_token, bob.id, "follow")
    await act(client, alice_token, bob.id, "follow")  # already following: no second merge
    await act(client, alice_token, bob.id, "unfollow")

    pair = {"account_id": alice.id, "target_account_id": bob.id}
    expected = [(MERGE_ACCOUNT_JOB, pair), (UNMERGE_ACCOUNT_JOB, pair)]
    for _ in range(200):
        if len(seen) >= len(expected):
            break
        await asyncio.sleep(0.05)
    assert sorted(seen, key=lambda item: item[0]) == expected


@pytest.mark.skipif(
    postgres_server_url() is None,
    reason="row locks: TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres"
    " (CI's second pass)",
)
async def test_two_accounts_following_each_other_at_once_do_not_deadlock(
    app_and_client: tuple[FastAPI, AsyncClient],
) -> None:
    """The counter updates of a follow lock the two account rows in id order. Transaction
    one holds the lower row; transaction two (the higher account following the lower) must
    then wait holding nothing, so transaction one can still take the higher row. Locking
    the follower's row first made this a deadlock, and PostgreSQL failed one follow (a 500)."""
    app, _ = app_and_client
    low, _ = await user_with_token(app, "low")
    high, _ = await user_with_token(app, "high")
    assert low.id < high.id
    db = app.state.engines.db
    async with db.session() as first, db.session() as second:
        await first.execute(update(Account).where(Account.id == low.id).values(note=Account.note))
        backend = await second.scalar(text("SELECT pg_backend_pid()"))
        follow = asyncio.create_task(repository.bump_follow_counts(second, high.id, low.id, +1))
        while not await first.scalar(
            text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"),
            {"pid": backend},
        ):
            await asyncio.sleep(0.01)
        await first.execute(update(Account).where(Account.id == high.id).values(note=Account.note))
        await first.commit()
        await follow
        await second.commit()
    async with db.session() as session:
        rows = dict(
            (
                await session.execute(
                    select(Account.id, Account.followers_count + Account.following_count)
                )
            ).all()
        )
    assert rows[low.id] == 1
    assert rows[high.id] == 1
