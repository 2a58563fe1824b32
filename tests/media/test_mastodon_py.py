"""Mastodon.py against a real `connecthub serve`, on the local store and on S3 (SeaweedFS):
upload, post with the media, and seek into an uploaded audio file with a byte range."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from mastodon import Mastodon

from tests.media import files
from tests.servers import start_inprocess_server
from tests.social_factories import user_with_token
from tests.support import probe

pytestmark = pytest.mark.slow  # over the fast loop's bar (tests/conftest.py)


def _client_session(url: str, token: str) -> dict[str, Any]:
    api = Mastodon(access_token=token, api_base_url=url)
    photo = api.media_post(
        files.jpeg(900, 600, gps=True), mime_type="image/jpeg", description="A photo"
    )
    status = api.status_post("With a photo", media_ids=[photo])
    audio = api.media_post(files.wav(1.0), mime_type="audio/wav", file_name="tone.wav")
    return {"photo": photo, "status": status, "audio": audio}


def _absolute(server_url: str, media_url: str) -> str:
    """Local store URLs name the configured domain; ask the test server instead."""
    parts = urlsplit(media_url)
    if parts.path.startswith("/system/media/"):
        return server_url + parts.path
    return media_url


@pytest.mark.slow
async def test_mastodon_py_media(app_factory: Any, test_env: Any, store: Any) -> None:
    async with app_factory(**store.overrides) as (app, _client):
        _alice, token = await user_with_token(app, "alice")
    server = start_inprocess_server(test_env, **store.environ())
    try:
        result = await asyncio.to_thread(_client_session, server.url, token)
        attachment = result["status"]["media_attachments"][0]
        assert str(attachment["id"]) == str(result["photo"]["id"])
        for field in ("url", "preview_url", "blurhash", "meta"):
            assert attachment[field], field
        assert attachment["meta"]["original"]["width"] == 900
        assert attachment["description"] == "A photo"

        audio_url = _absolute(server.url, result["audio"]["url"])
        async with httpx.AsyncClient(verify=probe.ssl_context()) as http:
            whole = await http.get(audio_url)
            part = await http.get(audio_url, headers={"Range": "bytes=0-99"})
        assert whole.status_code == 200
        assert part.status_code == 206
        assert len(part.content) == 100
        assert part.content == whole.content[:100]
        assert part.headers["content-range"] == f"bytes 0-99/{len(whole.content)}"
    finally:
        server.stop()
