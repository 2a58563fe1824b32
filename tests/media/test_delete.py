"""`DELETE /api/v1/media/:id`: one's own unattached upload goes, with its stored files; an
attached one answers 422, someone else's or a missing one 404; the scope is write:media."""

from __future__ import annotations

from typing import Any

from tests.factories import create_token
from tests.media import files
from tests.media.support import fetch, key_of, upload
from tests.privacy.support import wait_gone
from tests.social_factories import auth, user_with_token


async def test_an_unattached_upload_is_deleted_with_its_files(media_app: Any) -> None:
    async with media_app() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        response = await upload(client, token, files.png(32, 32, seed=7))
        assert response.status_code == 200, response.text
        media = response.json()
        keys = [key_of(media["url"]), key_of(media["preview_url"])]
        assert (await fetch(client, media["url"])).status_code == 200

        response = await client.delete(f"/api/v1/media/{media['id']}", headers=auth(token))
        assert response.status_code == 200, response.text
        assert response.json() == {}
        await wait_gone(app, keys)
        assert (
            await client.get(f"/api/v1/media/{media['id']}", headers=auth(token))
        ).status_code == 404
        again = await client.delete(f"/api/v1/media/{media['id']}", headers=auth(token))
        assert again.status_code == 404
        posted = await client.post(
            "/api/v1/statuses",
            headers=auth(token),
            json={"status": "x", "media_ids": [media["id"]]},
        )
        assert posted.status_code == 422


async def test_attached_foreign_and_bad_ids_are_refused(media_app: Any) -> None:
    async with media_app() as (app, client):
        alice, alice_token = await user_with_token(app, "alice")
        _bob, bob_token = await user_with_token(app, "bob")
        first = (await upload(client, alice_token, files.png(24, 24, seed=1))).json()
        second = (await upload(client, alice_token, files.png(24, 24, seed=2))).json()
        posted = await client.post(
            "/api/v1/statuses",
            headers=auth(alice_token),
            json={"status": "with media", "media_ids": [first["id"]]},
        )
        assert posted.status_code == 200, posted.text

        response = await client.delete(f"/api/v1/media/{first['id']}", headers=auth(alice_token))
        assert response.status_code == 422
        assert "used by a status" in response.json()["error"]
        response = await client.delete(f"/api/v1/media/{second['id']}", headers=auth(bob_token))
        assert response.status_code == 404  # another's upload is as missing
        for bad in ("abc", "0", "99999999999"):
            response = await client.delete(f"/api/v1/media/{bad}", headers=auth(alice_token))
            assert response.status_code == 404, bad
        assert (await client.delete(f"/api/v1/media/{second['id']}")).status_code == 401
        no_media = await create_token(app, alice.id, scopes=frozenset({"read", "write:statuses"}))
        response = await client.delete(f"/api/v1/media/{second['id']}", headers=auth(no_media))
        assert response.status_code == 403
        # Still there after every refusal, and the status keeps its attachment.
        kept = await client.get(f"/api/v1/media/{second['id']}", headers=auth(alice_token))
        assert kept.status_code == 200
        shown = await client.get(f"/api/v1/statuses/{posted.json()['id']}")
        assert [m["id"] for m in shown.json()["media_attachments"]] == [first["id"]]
