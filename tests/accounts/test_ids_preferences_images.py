"""`GET /api/v1/accounts?id[]=`, `GET /api/v1/preferences` and
`DELETE /api/v1/profile/avatar|header`: shapes, refusals, scopes."""

from __future__ import annotations

from fastapi import FastAPI
from httpx import AsyncClient

from connecthub.infra.jobs import HANDLERS, JobContext
from connecthub.media.service import PURGE_JOB
from tests.factories import create_token
from tests.media import files
from tests.relationships.support import suspend
from tests.social_factories import auth, user_with_token


async def test_accounts_by_ids_in_the_order_asked(app: FastAPI, client: AsyncClient) -> None:
    alice, _token = await user_with_token(app, "alice")
    bob, _token = await user_with_token(app, "bob")
    carol, _token = await user_with_token(app, "carol")
    await suspend(app, carol.id)
    wanted = [bob.id, 987654321, carol.id, alice.id, bob.id]
    response = await client.get("/api/v1/accounts", params={"id[]": wanted})  # no token needed
    assert response.status_code == 200, response.text
    found = response.json()
    assert [a["id"] for a in found] == [str(bob.id), str(alice.id)]
    assert found[0]["username"] == "bob"
    assert found[0]["roles"] == []
    assert (await client.get("/api/v1/accounts")).json() == []


async def test_accounts_by_ids_refusals(client: AsyncClient) -> None:
    too_many = await client.get("/api/v1/accounts", params={"id[]": list(range(1, 42))})
    assert too_many.status_code == 422
    assert "id" in too_many.json()["error"]
    not_ids = await client.get("/api/v1/accounts", params={"id[]": ["1", "bob"]})
    assert not_ids.status_code == 422
    assert "id" in not_ids.json()["error"]


async def test_preferences_follow_update_credentials(app: FastAPI, client: AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    response = await client.get("/api/v1/preferences", headers=auth(token))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "posting:default:visibility": "public",
        "posting:default:sensitive": False,
        "posting:default:language": "en",  # the user's locale until they choose one
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
        "reading:autoplay:gifs": False,
    }
    updated = await client.patch(
        "/api/v1/accounts/update_credentials",
        data={"source[privacy]": "private", "source[sensitive]": "true", "source[language]": "id"},
        headers=auth(token),
    )
    assert updated.status_code == 200, updated.text
    shown = (await client.get("/api/v1/preferences", headers=auth(token))).json()
    assert shown["posting:default:visibility"] == "private"
    assert shown["posting:default:sensitive"] is True
    assert shown["posting:default:language"] == "id"

    # Each caller sees their own.
    _bob, bob_token = await user_with_token(app, "bob")
    theirs = (await client.get("/api/v1/preferences", headers=auth(bob_token))).json()
    assert theirs["posting:default:visibility"] == "public"

    profile_only = await create_token(app, alice.id, scopes=frozenset({"profile"}))
    assert (await client.get("/api/v1/preferences", headers=auth(profile_only))).status_code == 403
    writer = await create_token(app, alice.id, scopes=frozenset({"write"}))
    assert (await client.get("/api/v1/preferences", headers=auth(writer))).status_code == 403
    assert (await client.get("/api/v1/preferences")).status_code == 401


async def test_removing_avatar_and_header(app: FastAPI, client: AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    uploaded = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=auth(token),
        files={
            "avatar": ("me.png", files.png(64, 64), "image/png"),
            "header": ("wide.png", files.png(300, 100, seed=3), "image/png"),
        },
    )
    assert uploaded.status_code == 200, uploaded.text
    avatar_url = uploaded.json()["avatar"]
    assert "missing.png" not in avatar_url

    removed = await client.delete("/api/v1/profile/avatar", headers=auth(token))
    assert removed.status_code == 200, removed.text
    account = removed.json()
    assert account["avatar"].endswith("/avatars/original/missing.png")
    assert account["avatar_static"] == account["avatar"]
    assert "missing.png" not in account["header"]  # the header stays
    assert account["source"]["privacy"] == "public"  # a CredentialAccount
    shown = await client.get(f"/api/v1/accounts/{alice.id}")
    assert shown.json()["avatar"].endswith("/avatars/original/missing.png")

    header = await client.delete("/api/v1/profile/header", headers=auth(token))
    assert header.json()["header"].endswith("/headers/original/missing.png")
    # Removing it again is no error.
    assert (await client.delete("/api/v1/profile/header", headers=auth(token))).status_code == 200

    # The stored file goes once nothing names it.
    key = avatar_url.split("/system/media/", 1)[1]
    engines = app.state.engines
    await HANDLERS[PURGE_JOB](JobContext(engines, "test", 1), {"keys": [key]})
    assert await engines.storage.size(key) is None


async def test_removing_profile_images_needs_write_accounts(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, _token = await user_with_token(app, "alice")
    reader = await create_token(app, alice.id, scopes=frozenset({"read", "write:statuses"}))
    for path in ("/api/v1/profile/avatar", "/api/v1/profile/header"):
        assert (await client.delete(path, headers=auth(reader))).status_code == 403
        assert (await client.delete(path)).status_code == 401
