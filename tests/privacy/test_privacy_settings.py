"""Privacy settings on every read path: `hide_collections` (Mastodon's) empties the
followers/following lists for everyone but the account itself, counts kept; who may send
direct messages (ConnectHub extension); `discoverable` on the Account entity."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.accounts.support import bearer
from tests.social_factories import follow, user_with_token

SETTINGS = "/api/v1/connecthub/privacy_settings"


async def test_hidden_collections_are_empty_for_others_but_counted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner, owner_token = await user_with_token(app, "keeper")
    fan, fan_token = await user_with_token(app, "fan")
    idol, _ = await user_with_token(app, "idol")
    await follow(app, fan.id, owner.id)
    await follow(app, owner.id, idol.id)
    updated = await client.patch(
        "/api/v1/accounts/update_credentials",
        data={"hide_collections": "true", "discoverable": "false"},
        headers=bearer(owner_token),
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["hide_collections"] is True
    assert updated.json()["source"]["hide_collections"] is True
    assert updated.json()["discoverable"] is False
    shown = (await client.get(f"/api/v1/accounts/{owner.id}", headers=bearer(fan_token))).json()
    assert (shown["hide_collections"], shown["discoverable"]) == (True, False)
    assert (shown["followers_count"], shown["following_count"]) == (1, 1)
    for path in ("followers", "following"):
        for token in (fan_token, None):
            headers = bearer(token) if token else {}
            hidden = await client.get(f"/api/v1/accounts/{owner.id}/{path}", headers=headers)
            assert hidden.status_code == 200
            assert hidden.json() == []
        mine = await client.get(f"/api/v1/accounts/{owner.id}/{path}", headers=bearer(owner_token))
        assert len(mine.json()) == 1
    bad = await client.patch(
        "/api/v1/accounts/update_credentials",
        data={"hide_collections": "sometimes"},
        headers=bearer(owner_token),
    )
    assert bad.status_code == 422
    assert "hide_collections" in bad.json()["error"]


async def test_direct_messages_follow_the_recipients_setting(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    quiet, quiet_token = await user_with_token(app, "quiet")
    friend, friend_token = await user_with_token(app, "friend")
    _stranger, stranger_token = await user_with_token(app, "stranger")
    await follow(app, friend.id, quiet.id)
    assert (await client.get(SETTINGS, headers=bearer(quiet_token))).json() == {
        "direct_messages_from": "everyone"
    }

    async def direct(token: str, text: str) -> httpx.Response:
        return await client.post(
            "/api/v1/statuses",
            json={"status": text, "visibility": "direct"},
            headers=bearer(token),
        )

    assert (await direct(stranger_token, "@quiet hi")).status_code == 200
    changed = await client.patch(
        SETTINGS, json={"direct_messages_from": "followers"}, headers=bearer(quiet_token)
    )
    assert changed.json() == {"direct_messages_from": "followers"}
    refused = await direct(stranger_token, "@quiet @friend hello again")
    assert refused.status_code == 422
    assert refused.json() == {
        "error": "Validation failed: status: @quiet does not accept direct messages from you"
    }
    assert (await direct(friend_token, "@quiet hello, follower here")).status_code == 200
    # A public mention is not a direct message.
    public = await client.post(
        "/api/v1/statuses", json={"status": "@quiet hey all"}, headers=bearer(stranger_token)
    )
    assert public.status_code == 200
    await client.patch(
        SETTINGS, json={"direct_messages_from": "nobody"}, headers=bearer(quiet_token)
    )
    assert (await direct(friend_token, "@quiet and now?")).status_code == 422
    # Only the first direct message reached quiet's conversations.
    conversations = (await client.get("/api/v1/conversations", headers=bearer(quiet_token))).json()
    texts = sorted(c["last_status"]["content"] for c in conversations)
    assert len(texts) == 2
    assert all("and now" not in t and "again" not in t for t in texts)

    bad = await client.patch(
        SETTINGS, json={"direct_messages_from": "friends"}, headers=bearer(quiet_token)
    )
    assert bad.status_code == 422
    assert "direct_messages_from" in bad.json()["error"]
