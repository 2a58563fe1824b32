"""Privacy settings on every read path: `hide_collections` (Mastodon's) empties the
followers/following lists for everyone but the account itself, counts kept; who may send
direct messages (ConnectHub extension); `discoverable` on the Account entity."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from connecthub.scheduled import service as scheduled_service
from tests.accounts.support import bearer
from tests.scheduled.support import make_due, schedule, scheduled_count, statuses_of
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


async def test_an_edit_adding_a_mention_to_a_direct_message_is_checked(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    sender, sender_token = await user_with_token(app, "sender")
    _open, open_token = await user_with_token(app, "open")
    closed, closed_token = await user_with_token(app, "closed")
    await client.patch(
        SETTINGS, json={"direct_messages_from": "followers"}, headers=bearer(closed_token)
    )
    posted = await client.post(
        "/api/v1/statuses",
        json={"status": "@open a secret", "visibility": "direct"},
        headers=bearer(sender_token),
    )
    assert posted.status_code == 200, posted.text
    status_id = posted.json()["id"]
    edited = await client.put(
        f"/api/v1/statuses/{status_id}",
        json={"status": "@open @closed a secret for you both"},
        headers=bearer(sender_token),
    )
    assert edited.status_code == 422
    assert edited.json() == {
        "error": "Validation failed: status: @closed does not accept direct messages from you"
    }
    # Nothing changed: the status, its mentions and closed's conversations are as before.
    shown = await client.get(f"/api/v1/statuses/{status_id}", headers=bearer(sender_token))
    assert shown.json()["edited_at"] is None
    assert [m["username"] for m in shown.json()["mentions"]] == ["open"]
    assert (await client.get("/api/v1/conversations", headers=bearer(closed_token))).json() == []
    unseen = await client.get(f"/api/v1/statuses/{status_id}", headers=bearer(closed_token))
    assert unseen.status_code == 404
    # A recipient already mentioned is not asked again; an edit keeping them is fine.
    await client.patch(
        SETTINGS, json={"direct_messages_from": "nobody"}, headers=bearer(open_token)
    )
    kept = await client.put(
        f"/api/v1/statuses/{status_id}",
        json={"status": "@open the secret, reworded"},
        headers=bearer(sender_token),
    )
    assert kept.status_code == 200, kept.text
    # Once closed's setting lets the sender in (a follower), the same edit goes through.
    await follow(app, sender.id, closed.id)
    allowed = await client.put(
        f"/api/v1/statuses/{status_id}",
        json={"status": "@open @closed a secret for you both"},
        headers=bearer(sender_token),
    )
    assert allowed.status_code == 200, allowed.text
    assert sorted(m["username"] for m in allowed.json()["mentions"]) == ["closed", "open"]


async def test_a_scheduled_direct_message_is_checked_when_it_publishes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    sender, sender_token = await user_with_token(app, "planner")
    _late, late_token = await user_with_token(app, "late")
    entity = (
        await schedule(client, sender_token, "@late see you tomorrow", visibility="direct")
    ).json()
    assert "id" in entity, entity
    # Scheduling was allowed; the recipient closes their messages before it is due.
    await client.patch(
        SETTINGS, json={"direct_messages_from": "nobody"}, headers=bearer(late_token)
    )
    await make_due(app, entity["id"])
    assert await scheduled_service.publish(app.state.engines, int(entity["id"])) is None
    assert await statuses_of(app, sender.id) == []
    assert await scheduled_count(app, sender.id) == 0
    assert (await client.get("/api/v1/conversations", headers=bearer(late_token))).json() == []
    notified = await client.get("/api/v1/notifications", headers=bearer(late_token))
    assert notified.json() == []

    # One scheduled while the setting allowed it and published while it still does: posted.
    await client.patch(
        SETTINGS, json={"direct_messages_from": "everyone"}, headers=bearer(late_token)
    )
    again = (await schedule(client, sender_token, "@late now then", visibility="direct")).json()
    await make_due(app, again["id"])
    assert await scheduled_service.publish(app.state.engines, int(again["id"])) is not None
    assert [s.text for s in await statuses_of(app, sender.id)] == ["@late now then"]
