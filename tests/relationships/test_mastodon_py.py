"""Mastodon.py driving follows, follow requests, blocks and mutes against a real
`connecthub serve`."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from mastodon import Mastodon

from tests.conftest import LiveServer
from tests.relationships.support import set_account
from tests.social_factories import user_with_token


def _session(url: str, alice_token: str, bob_token: str, carol_token: str) -> dict[str, Any]:
    alice = Mastodon(access_token=alice_token, api_base_url=url)
    bob = Mastodon(access_token=bob_token, api_base_url=url)
    carol = Mastodon(access_token=carol_token, api_base_url=url)
    bob_id = bob.me()["id"]
    carol_id = carol.me()["id"]
    alice_id = alice.me()["id"]
    result: dict[str, Any] = {}
    result["followed"] = alice.account_follow(bob_id, reblogs=False, notify=True)
    result["requested"] = alice.account_follow(carol_id)
    result["requests"] = carol.follow_requests()
    result["authorized"] = carol.follow_request_authorize(alice_id)
    result["batch"] = alice.account_relationships([bob_id, carol_id])
    result["muted"] = alice.account_mute(bob_id, notifications=False, duration=3600)
    result["unfollowed"] = alice.account_unfollow(bob_id)
    result["blocked"] = alice.account_block(carol_id)
    result["after"] = alice.account_relationships([bob_id, carol_id])
    result["carol"] = carol.account(carol_id)
    return result


async def test_mastodon_py_relationships(app: FastAPI, live_server: LiveServer) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    await set_account(app, carol.id, locked=True)
    result = await asyncio.to_thread(_session, live_server.url, alice_token, bob_token, carol_token)

    followed = result["followed"]
    assert (followed["following"], followed["showing_reblogs"], followed["notifying"]) == (
        True,
        False,
        True,
    )
    assert (result["requested"]["requested"], result["requested"]["following"]) == (True, False)
    assert [str(a["id"]) for a in result["requests"]] == [str(alice.id)]
    assert result["authorized"]["followed_by"] is True
    assert [r["following"] for r in result["batch"]] == [True, True]
    assert (result["muted"]["muting"], result["muted"]["muting_notifications"]) == (True, False)
    assert result["unfollowed"]["following"] is False
    assert (result["blocked"]["blocking"], result["blocked"]["following"]) == (True, False)
    bob_after, carol_after = result["after"]
    assert (bob_after["following"], bob_after["muting"]) == (False, True)
    assert (carol_after["following"], carol_after["blocking"]) == (False, True)
    assert result["carol"]["followers_count"] == 0
