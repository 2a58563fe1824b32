"""Markers: where a user stopped reading home and notifications, versioned."""

from __future__ import annotations

from fastapi import FastAPI
from httpx import AsyncClient

from tests.social_factories import auth, user_with_token


async def test_markers_are_saved_and_versioned(app: FastAPI, client: AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    saved = await client.post(
        "/api/v1/markers", data={"home[last_read_id]": "123"}, headers=auth(alice_token)
    )
    assert saved.status_code == 200
    home = saved.json()["home"]
    assert (home["last_read_id"], home["version"]) == ("123", 1)
    assert home["updated_at"].endswith("Z")
    both = await client.post(
        "/api/v1/markers",
        json={"home": {"last_read_id": "456"}, "notifications": {"last_read_id": "7"}},
        headers=auth(alice_token),
    )
    assert both.json()["notifications"]["version"] == 1
    read = await client.get(
        "/api/v1/markers",
        params={"timeline[]": ["home", "notifications"]},
        headers=auth(alice_token),
    )
    assert read.json()["home"]["last_read_id"] == "456"
    assert read.json()["home"]["version"] == 2
    assert read.json()["notifications"]["last_read_id"] == "7"
    only_home = await client.get(
        "/api/v1/markers", params={"timeline[]": "home"}, headers=auth(alice_token)
    )
    assert list(only_home.json()) == ["home"]
    others = await client.get(
        "/api/v1/markers", params={"timeline[]": ["home"]}, headers=auth(bob_token)
    )
    assert others.json() == {}


async def test_bad_markers_name_the_field(app: FastAPI, client: AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    bad = await client.post(
        "/api/v1/markers", data={"home[last_read_id]": "abc"}, headers=auth(alice_token)
    )
    assert bad.status_code == 422
    assert "home[last_read_id]" in bad.json()["error"]
    empty = await client.post("/api/v1/markers", data={}, headers=auth(alice_token))
    assert empty.status_code == 422
    assert (await client.get("/api/v1/markers")).status_code == 401
