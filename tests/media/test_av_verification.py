"""Audio and video are stored only once they are verified, with or without ffmpeg on the
machine (MEDIA_FFMPEG): decoded by PyAV and re-muxed into a new container, which is what is
stored. A file that only starts like audio or video is refused with 422 and leaves no row and
no object behind; bytes around the streams (appended, or in a box of their own) are not
stored; genuine files of every allowed type are accepted."""

from __future__ import annotations

import io
import wave
from typing import Any

import pytest
from sqlalchemy import func, select

from connecthub.media.models import MediaAttachment
from tests.media import files
from tests.media.support import all_stored_keys, fetch, stored_bytes, upload, wait_for_media
from tests.social_factories import user_with_token

ROUTES = ["/api/v1/media", "/api/v2/media"]
FFMPEG = pytest.mark.parametrize("use_ffmpeg", [True, False], ids=["ffmpeg", "no-ffmpeg"])

FORGED = [
    ("page.wav", files.wav_with_html()),
    ("page.mp3", files.mp3_frames_then_html()),
    ("page.mp4", files.ftyp_then_html()),
    ("page.flac", b"fLaC" + files.HTML),
    ("page.webm", b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm" + files.HTML),
]
# Genuine audio or video carrying a page outside its streams: accepted, the page not stored.
CARRIERS = [
    ("boxed.mp4", files.mp4_with_html_inside()),
    ("appended.mp4", files.mp4_then_html()),
    ("appended.ogg", files.ogg_then_html()),
]


async def _rows(app: Any) -> int:
    async with app.state.engines.db.session() as session:
        query = select(func.count()).select_from(MediaAttachment)
        return int((await session.execute(query)).scalar_one())


@FFMPEG
async def test_forged_audio_and_video_are_refused_and_nothing_is_stored(
    media_app: Any, use_ffmpeg: bool
) -> None:
    async with media_app(media_ffmpeg=use_ffmpeg) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        for path in ROUTES:
            for name, data in FORGED:
                response = await upload(client, token, data, filename=name, path=path)
                assert response.status_code == 422, (path, name, response.text)
                assert response.json()["error"].startswith("Validation failed: file:"), name
        assert await _rows(app) == 0
        assert await all_stored_keys(app) == []


@pytest.mark.slow
@FFMPEG
async def test_bytes_outside_the_streams_are_not_stored(media_app: Any, use_ffmpeg: bool) -> None:
    async with media_app(media_ffmpeg=use_ffmpeg) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        for path in ROUTES:
            for name, data in CARRIERS:
                assert files.HTML in data
                response = await upload(client, token, data, filename=name, path=path)
                assert response.status_code in (200, 202), (path, name, response.text)
                media = await wait_for_media(client, token, response.json()["id"])
                assert files.HTML not in await stored_bytes(app, media["url"]), (path, name)


@FFMPEG
async def test_a_real_wav_is_accepted_and_served(media_app: Any, use_ffmpeg: bool) -> None:
    original = files.wav(0.5, rate=8000)
    with wave.open(io.BytesIO(original)) as source:
        frames = source.readframes(source.getnframes())
    async with media_app(media_ffmpeg=use_ffmpeg) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        for path in ROUTES:
            response = await upload(client, token, original, filename="tone.wav", path=path)
            assert response.status_code == 200, (path, response.text)
            media = response.json()
            assert media["type"] == "audio"
            assert 0.4 < media["meta"]["original"]["duration"] < 0.6
            served = await fetch(client, media["url"])
            assert served.status_code == 200
            assert served.headers["content-type"].split(";")[0] == "audio/wav"
            with wave.open(io.BytesIO(served.content)) as stored:
                assert stored.getframerate() == 8000
                assert stored.readframes(stored.getnframes()) == frames
        assert await _rows(app) == 2


@pytest.mark.slow
@FFMPEG
async def test_genuine_mp3_ogg_and_mp4_are_still_accepted(media_app: Any, use_ffmpeg: bool) -> None:
    async with media_app(media_ffmpeg=use_ffmpeg) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        for path in ROUTES:
            for name in ("tiny.mp3", "tiny.ogg"):
                response = await upload(
                    client, token, files.fixture(name), filename=name, path=path
                )
                assert response.status_code == 200, (path, name, response.text)
                assert response.json()["type"] == "audio"
            video = await upload(client, token, files.fixture("tiny.mp4"), path=path)
            assert video.status_code in (200, 202), video.text
            media = await wait_for_media(client, token, video.json()["id"])
            assert media["type"] == "video"
            assert (await fetch(client, media["url"])).status_code == 200


@pytest.mark.slow
@FFMPEG
async def test_flac_and_webm_are_verified_and_accepted_without_ffmpeg(
    media_app: Any, use_ffmpeg: bool
) -> None:
    async with media_app(media_ffmpeg=use_ffmpeg) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        for path in ROUTES:
            flac = await upload(client, token, files.encoded("flac"), filename="a.flac", path=path)
            assert flac.status_code == 200, (path, flac.text)
            assert flac.json()["type"] == "audio"
            assert 0.9 < flac.json()["meta"]["original"]["duration"] < 1.1
            assert flac.json()["meta"]["audio_encode"] == "flac"
            webm = await upload(client, token, files.encoded("webm"), filename="a.webm", path=path)
            assert webm.status_code in (200, 202), (path, webm.text)
            media = await wait_for_media(client, token, webm.json()["id"])
            assert media["type"] == "video"
            assert 0.9 < media["meta"]["original"]["duration"] < 1.1
            served = await fetch(client, media["url"])
            assert served.status_code == 200
            assert served.headers["content-type"].split(";")[0] == "video/webm"
