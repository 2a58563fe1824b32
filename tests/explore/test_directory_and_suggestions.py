"""The profile directory lists discoverable accounts only, most recently active first;
suggestions come from the follow graph and popularity, and never name someone followed,
blocked either way, muted, undiscoverable or dismissed."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI

from connecthub.clock import utcnow
from tests.relationships.support import set_account, suspend
from tests.social_factories import auth, follow, user_with_token


async def test_the_directory_lists_discoverable_accounts_by_activity(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    now = utcnow()
    _ann, ann_token = await user_with_token(app, "ann")
    ben, _ = await user_with_token(app, "ben")
    cat, _ = await user_with_token(app, "cat")
    dot, _ = await user_with_token(app, "dot")
    eve, _ = await user_with_token(app, "eve")
    fox, _ = await user_with_token(app, "fox")
    await set_account(app, fox.id, silenced_at=now, last_status_at=now)
    await set_account(app, ben.id, last_status_at=now - timedelta(hours=1))
    await set_account(app, cat.id, last_status_at=now - timedelta(days=3))
    await set_account(app, dot.id, discoverable=False, last_status_at=now)
    await suspend(app, eve.id)

    def names(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [account["username"] for account in response.json()]

    assert names(await client.get("/api/v1/directory")) == ["ben", "cat", "ann"]
    assert names(await client.get("/api/v1/directory", params={"order": "new"})) == [
        "cat",
        "ben",
        "ann",
    ]
    page = await client.get("/api/v1/directory", params={"limit": 1, "offset": 1, "local": "true"})
    assert names(page) == ["cat"]
    await client.post(f"/api/v1/accounts/{ben.id}/mute", headers=auth(ann_token))
    assert names(await client.get("/api/v1/directory", headers=auth(ann_token))) == ["cat", "ann"]

    wrong = await client.get("/api/v1/directory", params={"order": "loud"})
    assert wrong.status_code == 422
    assert "order" in wrong.json()["error"]
    assert (await client.get("/api/v1/directory", params={"local": "maybe"})).status_code == 422


async def test_the_directory_can_be_turned_off(app_factory: object) -> None:
    async with app_factory(DIRECTORY_ENABLED=False) as (_app, client):  # type: ignore[operator]
        assert (await client.get("/api/v1/directory")).status_code == 404


async def test_suggestions_follow_the_graph_and_respect_every_exclusion(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    now = utcnow()
    ann, token = await user_with_token(app, "ann")
    ben, _ = await user_with_token(app, "ben")
    cal, _ = await user_with_token(app, "cal")
    dan, _ = await user_with_token(app, "dan")  # followed by ben and cal
    eli, _ = await user_with_token(app, "eli")  # followed by ben
    fay, _ = await user_with_token(app, "fay")  # followed by ben, not discoverable
    gus, gus_token = await user_with_token(app, "gus")  # followed by ben, blocks ann
    hal, _ = await user_with_token(app, "hal")  # followed by cal, muted by ann
    ivy, _ = await user_with_token(app, "ivy")  # popular and active, no graph tie
    for target in (ben, cal):
        await follow(app, ann.id, target.id)
    for target in (dan, eli, fay, gus):
        await follow(app, ben.id, target.id)
    for target in (dan, hal):
        await follow(app, cal.id, target.id)
    await follow(app, dan.id, ivy.id)
    await set_account(app, fay.id, discoverable=False)
    await set_account(app, ivy.id, last_status_at=now - timedelta(days=1))
    await client.post(f"/api/v1/accounts/{ann.id}/block", headers=auth(gus_token))
    await client.post(f"/api/v1/accounts/{hal.id}/mute", headers=auth(token))

    found = await client.get("/api/v2/suggestions", headers=auth(token))
    assert found.status_code == 200, found.text
    listed = [(s["account"]["username"], s["sources"], s["source"]) for s in found.json()]
    assert listed == [
        ("dan", ["friends_of_friends"], "past_interactions"),
        ("eli", ["friends_of_friends"], "past_interactions"),
        ("ivy", ["most_followed"], "global"),
    ]
    v1 = await client.get("/api/v1/suggestions", headers=auth(token))
    assert [a["username"] for a in v1.json()] == ["dan", "eli", "ivy"]

    dismissed = await client.delete(f"/api/v1/suggestions/{dan.id}", headers=auth(token))
    assert (dismissed.status_code, dismissed.json()) == (200, {})
    again = await client.get("/api/v2/suggestions", headers=auth(token))
    assert [s["account"]["username"] for s in again.json()] == ["eli", "ivy"]
    await client.post(f"/api/v1/accounts/{eli.id}/follow", headers=auth(token))
    after = await client.get("/api/v2/suggestions", headers=auth(token), params={"limit": 5})
    assert [s["account"]["username"] for s in after.json()] == ["ivy"]
    assert (await client.get("/api/v2/suggestions")).status_code == 401
