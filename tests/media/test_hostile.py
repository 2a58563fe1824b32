"""The hostile corpus: each file is refused (422) or neutralised (re-encoded, served with a
media type from the allow-list), and nothing is ever served as HTML, JSON or SVG."""

from __future__ import annotations

from typing import Any

import pytest

from tests.media import files
from tests.media.support import ALLOWED_SERVED_TYPES, fetch, upload, wait_for_media
from tests.social_factories import user_with_token

REFUSED = [
    ("polyglot.png", "image/png", files.HTML_POLYGLOT),
    ("page.png", "image/png", files.HTML_PAGE),
    ("drawing.svg", "image/svg+xml", files.SVG_SCRIPT),
    ("drawing.png", "image/png", files.SVG_SCRIPT),
    ("note.jpg", "image/jpeg", files.JSON_LD),
    ("paper.pdf", "application/pdf", files.PDF),
    ("archive.zip", "application/zip", files.ZIP),
    ("bomb.png", "image/png", files.png_bomb()),
    ("truncated.jpg", "image/jpeg", files.truncated_jpeg()),
    ("clip.mp4", "video/mp4", files.HTML_PAGE),  # a page posing as a video
    ("empty.png", "image/png", b""),
]


@pytest.mark.parametrize(("filename", "declared", "data"), REFUSED, ids=[r[0] for r in REFUSED])
async def test_refused(media_app: Any, filename: str, declared: str, data: bytes) -> None:
    async with media_app() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        response = await upload(client, token, data, filename=filename, content_type=declared)
        assert response.status_code == 422, response.text
        assert response.json()["error"].startswith("Validation failed: file:")


async def test_pixel_bomb_is_refused_before_decoding(media_app: Any) -> None:
    """50,000 x 50,000 would need 2.5 GB decoded; the header alone refuses it."""
    async with media_app() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        response = await upload(client, token, files.png_bomb(), filename="bomb.png")
        assert response.status_code == 422
        assert "too many pixels" in response.json()["error"]


NEUTRALISED = [
    ("html-inside.png", "image/png", files.png_with_html(), "image/png"),
    ("photo.html", "text/html", files.jpeg(), "image/jpeg"),
    ("cat.png", "image/png", files.fixture("tiny.mp4"), "video/mp4"),  # a video lying
    ("song.jpg", "image/jpeg", files.wav(0.2), "audio/wav"),
]


@pytest.mark.parametrize(
    ("filename", "declared", "data", "served_as"), NEUTRALISED, ids=[n[0] for n in NEUTRALISED]
)
async def test_neutralised(
    media_app: Any, filename: str, declared: str, data: bytes, served_as: str
) -> None:
    async with media_app() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        response = await upload(client, token, data, filename=filename, content_type=declared)
        assert response.status_code in (200, 202), response.text
        media = response.json()
        urls = [media["url"], media["preview_url"]]
        if response.status_code == 202:  # a video: served once processed
            media = await wait_for_media(client, token, media["id"])
            urls = [media["url"], media["preview_url"]]
        served_types = []
        for url in filter(None, urls):
            served = await fetch(client, url)
            assert served.status_code == 200
            kind = served.headers["content-type"].split(";")[0]
            assert kind in ALLOWED_SERVED_TYPES
            assert b"<script" not in served.content
            assert b"<html" not in served.content
            served_types.append(kind)
        assert served_types[0] == served_as
