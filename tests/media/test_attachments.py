"""Media on statuses (POST/PUT /api/v1/statuses with media_ids) and on profiles (avatar and
header on update_credentials)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from connecthub.infra.jobs import HANDLERS, JobContext
from connecthub.media.models import MediaAttachment
from connecthub.media.service import PURGE_JOB
from tests.media import files
from tests.media.support import fetch, key_of, upload
from tests.social_factories import auth, user_with_token


async def _images(client: Any, token: str, count: int) -> list[str]:
    ids = []
    for seed in range(count):
        response = await upload(client, token, files.png(24, 24, seed=100 + seed))
        assert response.status_code == 200
        ids.append(response.json()["id"])
    return ids


@pytest.mark.slow
async def test_post_and_edit_a_status_with_media(media_app: Any) -> None:
    async with media_app() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        ids = await _images(client, token, 4)
        response = await client.post(
            "/api/v1/statuses", headers=auth(token), json={"status": "", "media_ids": ids[:3]}
        )
        assert response.status_code == 200, response.text
        status = response.json()
        assert [m["id"] for m in status["media_attachments"]] == ids[:3]
        first = status["media_attachments"][0]
        for field in ("url", "preview_url", "blurhash", "meta"):
            assert first[field], field

        shown = await client.get(f"/api/v1/statuses/{status['id']}")
        assert [m["id"] for m in shown.json()["media_attachments"]] == ids[:3]

        edited = await client.put(
            f"/api/v1/statuses/{status['id']}",
            headers=auth(token),
            json={"status": "now with text", "media_ids": [ids[3], ids[0]]},
        )
        assert edited.status_code == 200, edited.text
        assert [m["id"] for m in edited.json()["media_attachments"]] == [ids[3], ids[0]]
        # Taken off the status: unattached again, so it may be attached elsewhere.
        again = await client.post(
            "/api/v1/statuses", headers=auth(token), json={"status": "x", "media_ids": [ids[1]]}
        )
        assert again.status_code == 200, again.text


async def test_media_ids_rules(media_app: Any) -> None:
    async with media_app() as (app, client):
        _alice, alice = await user_with_token(app, "alice")
        _bob, bob = await user_with_token(app, "bob")
        ids = await _images(client, alice, 5)
        bobs = await _images(client, bob, 1)

        async def post(token: str, **body: Any) -> Any:
            return await client.post("/api/v1/statuses", headers=auth(token), json=body)

        too_many = await post(alice, status="five", media_ids=ids)
        assert too_many.status_code == 422
        assert "media_ids" in too_many.json()["error"]
        not_mine = await post(alice, status="bob's", media_ids=bobs)
        assert not_mine.status_code == 422
        assert (await post(alice, status="junk", media_ids=["abc"])).status_code == 422
        with_poll = await post(
            alice, status="q", media_ids=ids[:1], poll={"options": ["a", "b"], "expires_in": 3600}
        )
        assert with_poll.status_code == 422
        assert (await post(alice, status="ok", media_ids=ids[:1])).status_code == 200
        attached_twice = await post(alice, status="again", media_ids=ids[:1])
        assert attached_twice.status_code == 422
        # Attached media is edited through its status, not PUT /media.
        put = await client.put(
            f"/api/v1/media/{ids[0]}", headers=auth(alice), json={"description": "x"}
        )
        assert put.status_code == 404


async def test_deleting_a_status_deletes_its_media(media_app: Any) -> None:
    async with media_app() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        unique = files.jpeg(50, 50, seed=4242)
        media = (await upload(client, token, unique, filename="gone.jpg")).json()
        status = (
            await client.post(
                "/api/v1/statuses",
                headers=auth(token),
                json={"status": "", "media_ids": [media["id"]]},
            )
        ).json()
        deleted = await client.delete(f"/api/v1/statuses/{status['id']}", headers=auth(token))
        assert deleted.status_code == 200
        engines = app.state.engines
        async with engines.db.session() as session:
            rows = (
                await session.execute(select(func.count()).select_from(MediaAttachment))
            ).scalar()
        assert rows == 0
        keys = [key_of(media["url"]), key_of(media["preview_url"])]
        # The purge job (queued after commit) removes the files; running it again is harmless.
        for _ in range(2):
            await HANDLERS[PURGE_JOB](JobContext(engines, "test", 1), {"keys": keys})
        for key in keys:
            assert await engines.storage.size(key) is None
        assert (await fetch(client, media["url"])).status_code in (403, 404)


@pytest.mark.slow
async def test_avatar_and_header(media_app: Any) -> None:
    async with media_app() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        response = await client.patch(
            "/api/v1/accounts/update_credentials",
            headers=auth(token),
            data={"display_name": "Alice"},
            files={
                "avatar": ("me.jpg", files.jpeg(900, 700, gps=True), "image/jpeg"),
                "header": ("wide.png", files.png(600, 300), "image/png"),
            },
        )
        assert response.status_code == 200, response.text
        account = response.json()
        assert account["display_name"] == "Alice"
        assert "missing.png" not in account["avatar"]
        avatar = Image.open(io.BytesIO((await fetch(client, account["avatar"])).content))
        header = Image.open(io.BytesIO((await fetch(client, account["header"])).content))
        assert avatar.size == (400, 400)
        assert header.size == (1500, 500)
        assert not avatar.getexif()
        shown = await client.get(f"/api/v1/accounts/{account['id']}")
        assert shown.json()["avatar"] == account["avatar"]

        refused = await client.patch(
            "/api/v1/accounts/update_credentials",
            headers=auth(token),
            data={"display_name": "Changed"},
            files={"avatar": ("x.svg", files.SVG_SCRIPT, "image/svg+xml")},
        )
        assert refused.status_code == 422
        assert "avatar" in refused.json()["error"]
        unchanged = await client.get("/api/v1/accounts/verify_credentials", headers=auth(token))
        assert unchanged.json()["display_name"] == "Alice"
