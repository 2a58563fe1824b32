"""Serving media: immutable caching, ETag and 304, byte ranges (206/416), and headers that
never let a file render as a page. Local store: this server's /system/media route; S3:
the store itself (SeaweedFS), which the URLs point at."""

from __future__ import annotations

from typing import Any

from tests.media import files
from tests.media.support import fetch, upload
from tests.social_factories import user_with_token


async def test_range_request_on_audio(media_app: Any, store: Any) -> None:
    audio = files.wav(1.0)
    async with media_app() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        media = (await upload(client, token, audio, filename="tone.wav")).json()
        whole = await fetch(client, media["url"])
        assert whole.status_code == 200
        size = len(whole.content)
        part = await fetch(client, media["url"], {"Range": "bytes=0-99"})
        assert part.status_code == 206
        assert len(part.content) == 100
        assert part.content == whole.content[:100]
        assert part.headers["content-range"] == f"bytes 0-99/{size}"
        assert part.headers["content-type"] == "audio/wav"
        if store.name == "local":
            tail = await fetch(client, media["url"], {"Range": "bytes=-10"})
            assert tail.status_code == 206
            assert tail.content == whole.content[-10:]
            rest = await fetch(client, media["url"], {"Range": f"bytes={size - 5}-"})
            assert rest.content == whole.content[-5:]
            beyond = await fetch(client, media["url"], {"Range": f"bytes={size}-"})
            assert beyond.status_code == 416
            assert beyond.headers["content-range"] == f"bytes */{size}"
            backwards = await fetch(client, media["url"], {"Range": "bytes=50-10"})
            assert backwards.status_code == 416
            several = await fetch(client, media["url"], {"Range": "bytes=0-1,5-6"})
            assert several.status_code == 200
            assert several.content == whole.content


async def test_headers_etag_and_304(media_app: Any, store: Any) -> None:
    async with media_app() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        media = (await upload(client, token, files.png(), filename="a.png")).json()
        served = await fetch(client, media["url"])
        headers = served.headers
        assert headers["content-type"] == "image/png"
        assert headers["cache-control"] == "public, max-age=31536000, immutable"
        assert headers["content-disposition"].startswith("inline")
        assert headers["etag"]
        if store.name != "local":
            return  # the rest is this server's (a CDN in front of S3 adds them: docs/media.md)
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["content-security-policy"].startswith(
            "default-src 'none'; form-action 'none'"
        )
        assert headers["accept-ranges"] == "bytes"
        again = await fetch(client, media["url"], {"If-None-Match": headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""
        head = await client.head(
            media["url"].split("testserver", 1)[-1].replace("http://localhost:8000", "")
        )
        assert head.status_code == 200


async def test_unknown_and_crafted_keys_are_404(client: Any) -> None:
    for path in (
        "/system/media/original/00/00/" + "0" * 64 + ".png",
        "/system/media/original/00/00/" + "0" * 64 + ".html",
        "/system/media/original/00/00/" + "0" * 64 + ".svg",
    ):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "html" not in response.headers.get("content-type", "")
    # The client resolves the dots: the server is asked for /etc/passwd, which is no media
    # address (the web app's shell when a build is served, else 404), never the file.
    escaped = await client.get("/system/media/../../etc/passwd")
    assert escaped.status_code in (200, 404)
    assert "root:" not in escaped.text
