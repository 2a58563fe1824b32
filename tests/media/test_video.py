"""Video: 202 on upload, 206 while the job runs, 200 when done; probed, stripped of its
metadata and given a poster frame when ffmpeg is on the machine (MEDIA_FFMPEG), and still
accepted without it (no poster, bytes kept)."""

from __future__ import annotations

from typing import Any

import pytest

from connecthub.media import repository
from connecthub.media.av import ffmpeg_available
from tests.media import files
from tests.media.support import stored_bytes, upload, wait_for_media
from tests.social_factories import auth, user_with_token


@pytest.mark.parametrize("use_ffmpeg", [True, False], ids=["ffmpeg", "no-ffmpeg"])
async def test_video_is_processed_in_the_background(media_app: Any, use_ffmpeg: bool) -> None:
    video = files.fixture("tiny.mp4")
    with_tools = use_ffmpeg and ffmpeg_available()
    async with media_app(media_ffmpeg=use_ffmpeg) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        response = await upload(client, token, video, filename="clip.mp4", content_type="video/mp4")
        assert response.status_code == 202, response.text
        assert response.json()["url"] is None
        assert response.json()["type"] == "video"

        # Not attachable until processed (a race with the job is fine: then it succeeds).
        media = await wait_for_media(client, token, response.json()["id"])
        assert media["url"]
        meta = media["meta"]
        assert 0.5 < meta["original"]["duration"] < 2.0
        # Tags are stripped either way (ffmpeg rewrites the container; mutagen drops them).
        assert b"secret holiday" in video
        assert b"secret holiday" not in await stored_bytes(app, media["url"])
        if with_tools:
            assert (meta["original"]["width"], meta["original"]["height"]) == (64, 48)
            assert media["preview_url"]
            assert media["blurhash"]
        else:
            assert media["preview_url"] is None

        status = await client.post(
            "/api/v1/statuses", headers=auth(token), json={"status": "", "media_ids": [media["id"]]}
        )
        assert status.status_code == 200
        assert status.json()["media_attachments"][0]["type"] == "video"


async def test_processing_media_cannot_be_attached(media_app: Any) -> None:
    # With the job runner off, the video stays in processing.
    async with media_app(jobs_in_server=False) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        media = (await upload(client, token, files.fixture("tiny.mp4"), filename="c.mp4")).json()
        shown = await client.get(f"/api/v1/media/{media['id']}", headers=auth(token))
        assert shown.status_code == 206
        assert shown.json()["url"] is None
        response = await client.post(
            "/api/v1/statuses", headers=auth(token), json={"status": "", "media_ids": [media["id"]]}
        )
        assert response.status_code == 422
        assert "processing" in response.json()["error"]


@pytest.mark.slow
@pytest.mark.parametrize("use_ffmpeg", [True, False], ids=["ffmpeg", "no-ffmpeg"])
async def test_audio_formats(media_app: Any, use_ffmpeg: bool) -> None:
    async with media_app(media_ffmpeg=use_ffmpeg) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        for name in ("tiny.mp3", "tiny.ogg"):
            response = await upload(client, token, files.fixture(name), filename=name)
            assert response.status_code == 200, (name, response.text)
            media = response.json()
            assert media["type"] == "audio"
            assert 0.5 < media["meta"]["original"]["duration"] < 2.0


@pytest.mark.slow
async def test_the_same_video_uploaded_twice_keeps_two_upload_objects(media_app: Any) -> None:
    # Identical bytes must not share the temporary upload object: the first one's job purges
    # it when done, and a second upload not yet committed then (no row names it) would be
    # left "processing" with nothing to process.
    video = files.fixture("tiny.mp4")
    async with media_app(jobs_in_server=False) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        ids = [
            int((await upload(client, token, video, filename="c.mp4")).json()["id"])
            for _ in range(2)
        ]
        async with app.state.engines.db.session() as session:
            rows = [await repository.by_id(session, media_id) for media_id in ids]
        assert len({row.file_key for row in rows if row is not None}) == 2
    async with media_app() as (app, client):
        _bob, token = await user_with_token(app, "bob")
        uploaded = [
            (await upload(client, token, video, filename="c.mp4")).json()["id"] for _ in range(2)
        ]
        for media_id in uploaded:
            media = await wait_for_media(client, token, media_id)
            assert await stored_bytes(app, media["url"])
