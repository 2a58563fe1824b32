"""What is stored is re-encoded pixels: no EXIF, no GPS, the orientation applied. The tests
read the bytes the store holds, not what the API says."""

from __future__ import annotations

import io
from typing import Any

from PIL import ExifTags, Image

from tests.media import files
from tests.media.support import stored_bytes, upload
from tests.social_factories import user_with_token


def _has_gps(data: bytes) -> bool:
    exif = Image.open(io.BytesIO(data)).getexif()
    return bool(exif.get_ifd(ExifTags.IFD.GPSInfo))


async def test_gps_exif_is_stripped_from_every_stored_variant(media_app: Any) -> None:
    upload_bytes = files.jpeg(800, 600, gps=True)
    assert _has_gps(upload_bytes)  # the test file really carries a location
    async with media_app() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        media = (await upload(client, token, upload_bytes, filename="gps.jpg")).json()
        for url in (media["url"], media["preview_url"], media["meta"]["webp"]["url"]):
            data = await stored_bytes(app, url)
            assert not _has_gps(data)
            assert b"Exif" not in data
            assert b"ConnectHubTestCamera" not in data
            assert data != upload_bytes


async def test_orientation_is_applied(media_app: Any) -> None:
    # Orientation 6: the camera was turned; viewers rotate 90 degrees clockwise.
    sideways = files.jpeg(80, 40, orientation=6)
    async with media_app() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        media = (await upload(client, token, sideways, filename="turned.jpg")).json()
        assert media["meta"]["original"]["width"] == 40
        assert media["meta"]["original"]["height"] == 80
        stored = Image.open(io.BytesIO(await stored_bytes(app, media["url"])))
        assert stored.size == (40, 80)
        assert ExifTags.Base.Orientation not in stored.getexif()


async def test_audio_tags_are_removed(media_app: Any) -> None:
    mp3 = files.fixture("tiny.mp3")
    assert b"Someone" in mp3  # an artist tag
    async with media_app() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        response = await upload(client, token, mp3, filename="song.mp3")
        assert response.status_code == 200, response.text
        media = response.json()
        assert media["type"] == "audio"
        assert media["meta"]["duration"] > 0.5
        assert b"Someone" not in await stored_bytes(app, media["url"])
