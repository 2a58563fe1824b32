"""Uploading through the Mastodon API: shapes, 200 vs 202, GET and PUT, ownership, limits."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.media import files
from tests.media.support import fetch, upload
from tests.social_factories import auth, user_with_token


@pytest.mark.slow
async def test_image_upload_is_processed_and_served(media_app: Any) -> None:
    async with media_app() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        response = await upload(
            client, token, files.jpeg(1280, 960), filename="photo.jpg",
            content_type="image/jpeg", description="A cat", focus="0.5,-0.25",
        )  # fmt: skip
        assert response.status_code == 200, response.text
        media = response.json()
        assert media["type"] == "image"
        assert media["description"] == "A cat"
        assert len(media["blurhash"]) >= 6
        original, small = media["meta"]["original"], media["meta"]["small"]
        assert (original["width"], original["height"], original["size"]) == (1280, 960, "1280x960")
        assert abs(original["aspect"] - 1280 / 960) < 1e-5
        assert max(small["width"], small["height"]) == 640
        assert media["meta"]["focus"] == {"x": 0.5, "y": -0.25}
        for url, width in ((media["url"], 1280), (media["preview_url"], 640)):
            served = await fetch(client, url)
            assert served.status_code == 200
            assert Image.open(io.BytesIO(served.content)).size[0] == width
        webp = await fetch(client, media["meta"]["webp"]["url"])
        assert webp.headers["content-type"] == "image/webp"
        assert Image.open(io.BytesIO(webp.content)).format == "WEBP"

        shown = await client.get(f"/api/v1/media/{media['id']}", headers=auth(token))
        assert shown.status_code == 200
        assert shown.json()["url"] == media["url"]


async def test_formats_png_gif_webp_and_the_v1_route(media_app: Any) -> None:
    async with media_app() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        for data, kind in (
            (files.png(alpha=True), "PNG"),
            (files.gif(frames=3), "GIF"),
            (files.webp(), "WEBP"),
        ):
            response = await upload(client, token, data, path="/api/v1/media")
            assert response.status_code == 200, (kind, response.text)
            served = await fetch(client, response.json()["url"])
            image = Image.open(io.BytesIO(served.content))
            assert image.format == kind
            if kind == "GIF":
                assert image.n_frames == 3  # animation kept


async def test_update_description_focus_and_thumbnail(media_app: Any) -> None:
    async with media_app() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        uploaded = await upload(client, token, files.wav(), filename="a.wav")
        assert uploaded.status_code == 200, uploaded.text
        media = uploaded.json()
        assert media["type"] == "audio"
        response = await client.put(
            f"/api/v1/media/{media['id']}",
            headers=auth(token),
            files={"thumbnail": ("cover.png", files.png(100, 100), "image/png")},
            data={"description": "A tone", "focus": "0.1,0.2"},
        )
        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["description"] == "A tone"
        assert updated["preview_url"]
        assert updated["blurhash"]
        assert (await fetch(client, updated["preview_url"])).status_code == 200

        json_put = await client.put(
            f"/api/v1/media/{media['id']}", headers=auth(token), json={"description": "Tone"}
        )
        assert json_put.json()["description"] == "Tone"


async def test_only_the_uploader_sees_and_edits_an_upload(media_app: Any) -> None:
    async with media_app() as (app, client):
        _alice, alice = await user_with_token(app, "alice")
        _bob, bob = await user_with_token(app, "bob")
        media = (await upload(client, alice, files.png())).json()
        assert (
            await client.get(f"/api/v1/media/{media['id']}", headers=auth(bob))
        ).status_code == 404
        put = await client.put(
            f"/api/v1/media/{media['id']}", headers=auth(bob), json={"description": "mine"}
        )
        assert put.status_code == 404
        assert (
            await client.post("/api/v2/media", files={"file": ("a.png", files.png())})
        ).status_code == 401


async def test_bad_fields_name_the_field(media_app: Any) -> None:
    async with media_app(media_image_max_bytes=4096, media_image_max_pixels=10_000) as (
        app,
        client,
    ):
        _alice, token = await user_with_token(app, "alice")
        cases = [
            (dict(data=files.png(), description="x" * 1501), "description"),
            (dict(data=files.png(), focus="2,0"), "focus"),
            (dict(data=files.png(), focus="left"), "focus"),
            (dict(data=files.jpeg(200, 200)), "file"),  # over 4 KB
            (dict(data=files.png(120, 100)), "file"),  # 12,000 pixels
        ]
        for fields, field in cases:
            response = await upload(client, token, **fields)
            assert response.status_code == 422, (field, response.text)
            assert field in response.json()["error"]
        missing = await client.post("/api/v2/media", headers=auth(token), data={"x": "1"})
        assert missing.status_code == 422
        assert "file" in missing.json()["error"]


async def test_account_quota(media_app: Any) -> None:
    async with media_app(media_account_quota_bytes=30_000) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        first = await upload(client, token, files.png(48, 48, seed=1))
        assert first.status_code == 200
        refused = None
        for seed in range(2, 12):
            response = await upload(client, token, files.png(48, 48, seed=seed))
            if response.status_code != 200:
                refused = response
                break
        assert refused is not None
        assert refused.status_code == 422
        assert "quota" in refused.json()["error"]
