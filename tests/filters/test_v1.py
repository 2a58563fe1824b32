"""The v1 filters API: one v1 filter per keyword of the v2 filters."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.filters.support import create_filter, error_of
from tests.social_factories import auth, user_with_token


async def test_v1_lists_one_filter_per_keyword(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    created = await create_filter(
        client,
        token,
        context=["home", "thread"],
        filter_action="hide",
        keywords=[{"keyword": "one", "whole_word": False}, {"keyword": "two"}],
    )
    await create_filter(client, token, "No keywords")
    listed = (await client.get("/api/v1/filters", headers=auth(token))).json()
    assert listed == [
        {
            "id": created["keywords"][0]["id"],
            "phrase": "one",
            "context": ["home", "thread"],
            "whole_word": False,
            "expires_at": None,
            "irreversible": True,
        },
        {
            "id": created["keywords"][1]["id"],
            "phrase": "two",
            "context": ["home", "thread"],
            "whole_word": True,
            "expires_at": None,
            "irreversible": True,
        },
    ]
    one = await client.get(f"/api/v1/filters/{listed[1]['id']}", headers=auth(token))
    assert one.json() == listed[1]
    # A filter with several keywords changes only through v2.
    refused = await client.put(
        f"/api/v1/filters/{listed[0]['id']}", json={"context": ["public"]}, headers=auth(token)
    )
    assert "id" in error_of(refused)
    renamed = await client.put(
        f"/api/v1/filters/{listed[0]['id']}", json={"phrase": "uno"}, headers=auth(token)
    )
    assert renamed.json()["phrase"] == "uno"


async def test_v1_create_update_delete(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    created = await client.post(
        "/api/v1/filters",
        data={"phrase": "spoiler", "context[]": ["home", "notifications"], "irreversible": "true"},
        headers=auth(token),
    )
    assert created.status_code == 200, created.text
    entity = created.json()
    assert entity["phrase"] == "spoiler"
    assert entity["irreversible"] is True
    assert entity["whole_word"] is True
    [v2] = (await client.get("/api/v2/filters", headers=auth(token))).json()
    assert v2["title"] == "spoiler"
    assert v2["filter_action"] == "hide"
    assert v2["keywords"][0]["id"] == entity["id"]

    updated = await client.put(
        f"/api/v1/filters/{entity['id']}",
        json={"context": ["public"], "irreversible": False, "whole_word": False, "expires_in": 60},
        headers=auth(token),
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["context"] == ["public"]
    assert body["irreversible"] is False
    assert body["whole_word"] is False
    assert body["expires_at"] is not None

    assert "phrase" in error_of(
        await client.post("/api/v1/filters", json={"context": ["home"]}, headers=auth(token))
    )
    assert "context" in error_of(
        await client.post("/api/v1/filters", json={"phrase": "x"}, headers=auth(token))
    )
    deleted = await client.delete(f"/api/v1/filters/{entity['id']}", headers=auth(token))
    assert deleted.json() == {}
    assert (await client.get("/api/v1/filters", headers=auth(token))).json() == []
