"""Hashtags in `GET /api/v2/search` (behind the `search_hashtags` flag, here on for
everyone): the exact name first, then the most used this week, each with its history;
`exclude_unreviewed` keeps only the exact name (nothing is reviewed without trends)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.flags.support import admin_token, create_flag
from tests.social_factories import auth, post_status, user_with_token


async def test_hashtags_ranked_by_use_with_history(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await admin_token(app)
    await create_flag(client, admin, key="search_hashtags", kind="boolean", default_value=True)
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    await post_status(client, alice_token, "#cats once")
    for token in (alice_token, bob_token, bob_token):
        await post_status(client, token, "#catnip again")
    await post_status(client, alice_token, "#cat and #category")
    await post_status(client, alice_token, "#category")

    response = await client.get(
        "/api/v2/search", params={"q": "#cat", "type": "hashtags"}, headers=auth(alice_token)
    )

    assert response.status_code == 200, response.text
    tags = response.json()["hashtags"]
    assert [tag["name"] for tag in tags] == ["cat", "catnip", "category", "cats"]
    catnip = tags[1]
    assert (catnip["history"][0]["uses"], catnip["history"][0]["accounts"]) == ("3", "2")
    assert len(catnip["history"]) == 7
    reviewed = await client.get(
        "/api/v2/search",
        params={"q": "cat", "type": "hashtags", "exclude_unreviewed": "true"},
        headers=auth(alice_token),
    )
    assert [tag["name"] for tag in reviewed.json()["hashtags"]] == ["cat"]
    anonymous = await client.get("/api/v2/search", params={"q": "catn"})
    assert [tag["name"] for tag in anonymous.json()["hashtags"]] == ["catnip"]
    with_at = await client.get("/api/v2/search", params={"q": "cat@x"}, headers=auth(bob_token))
    assert with_at.json()["hashtags"] == []  # an `@`: not a hashtag search (Mastodon)
