"""Who receives a status event: the streaming filter asks the social core's visibility
rule (followers-only and direct audiences, blocks either way, boosts) for every local
viewer at once, plus Mastodon's stream rule for mutes and blocked mentioned accounts."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
from fastapi import FastAPI

from connecthub.streaming.filters import AudienceFilter
from tests.social_factories import follow, post_status, user_with_token
from tests.streaming.support import block, mute

if TYPE_CHECKING:
    from tests.conftest import TestEnv


async def _receivers(
    audience: AudienceFilter, viewers: dict[str, int], status: dict[str, Any]
) -> set[str]:
    # Concurrently, as the connections woken by one event ask: one batch per status.
    answers = await asyncio.gather(*(audience.readable(v, status) for v in viewers.values()))
    return {name for name, allowed in zip(viewers, answers, strict=True) if allowed}


async def test_status_events_reach_exactly_who_may_read_them(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    bob, bob_token = await user_with_token(factory_app, "bob")
    carol, carol_token = await user_with_token(factory_app, "carol")
    viewers = {}
    for name in ("follower", "stranger", "dave", "blocker", "muter", "blocked"):
        account, _token = await user_with_token(factory_app, name)
        viewers[name] = account.id
    for name in ("follower", "blocker", "muter"):
        await follow(factory_app, viewers[name], bob.id)
    await block(factory_app, viewers["blocker"], bob.id)
    await mute(factory_app, viewers["muter"], bob.id)
    await block(factory_app, carol.id, viewers["blocked"])  # carol blocks them

    transport = httpx.ASGITransport(app=factory_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        public = await post_status(client, bob_token, "Hello all")
        private = await post_status(client, bob_token, "Hi @dave", visibility="private")
        direct = await post_status(client, bob_token, "Psst @dave", visibility="direct")
        mentions_carol = await post_status(client, bob_token, "Ask @carol")
        response = await client.post(
            f"/api/v1/statuses/{public['id']}/reblog",
            headers={"Authorization": f"Bearer {carol_token}"},
        )
        assert response.status_code == 200, response.text
        boost = response.json()

    audience = AudienceFilter(factory_app.state.engines)
    everyone_but_blocks = {"follower", "stranger", "dave", "blocked"}
    assert await _receivers(audience, viewers, public) == everyone_but_blocks
    assert await _receivers(audience, viewers, private) == {"follower", "dave"}
    assert await _receivers(audience, viewers, direct) == {"dave"}
    # carol blocks "blocked": a status mentioning her does not reach them, nor her boost.
    assert await _receivers(audience, viewers, mentions_carol) == {"follower", "stranger", "dave"}
    assert await _receivers(audience, viewers, boost) == {"follower", "stranger", "dave"}
    # The author always receives their own status.
    assert await audience.readable(bob.id, direct)
    # A status that no longer exists reaches nobody.
    gone = {**public, "id": str(int(public["id"]) + 999_999), "edited_at": "never"}
    assert await _receivers(audience, viewers, gone) == set()


async def test_held_mailboxes_are_released_once_the_batch_has_decided(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    """How a fan-out asks: each recipient's mailbox is held, not given a future, and the
    batch's answers are then known to every recipient without another query."""
    from connecthub.streaming.session import Mailbox

    bob, bob_token = await user_with_token(factory_app, "bob")
    follower, _ = await user_with_token(factory_app, "follower")
    stranger, _ = await user_with_token(factory_app, "stranger")
    await follow(factory_app, follower.id, bob.id)
    transport = httpx.ASGITransport(app=factory_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        private = await post_status(client, bob_token, "friends only", visibility="private")

    audience = AudienceFilter(factory_app.state.engines)
    mailboxes = {viewer: Mailbox(10, lambda: None) for viewer in (follower.id, stranger.id)}
    readers = {}
    for viewer, mailbox in mailboxes.items():
        readers[viewer] = asyncio.create_task(mailbox.take())
        await asyncio.sleep(0)
        audience.hold(viewer, private, mailbox)
        audience.content.hold(viewer, mailbox)
        mailbox.offer("public", {"event": "update", "payload": private})
        assert mailbox.held == 2
    for viewer, reader in readers.items():
        await asyncio.wait_for(reader, 5)
        assert mailboxes[viewer].held == 0
    assert audience.decision(follower.id, private) is True
    assert audience.decision(stranger.id, private) is False
    assert audience.content.rules(follower.id) == []
    # Known answers hold nobody.
    audience.hold(follower.id, private, mailboxes[follower.id])
    assert mailboxes[follower.id].held == 0
