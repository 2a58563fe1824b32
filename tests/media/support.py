"""Helpers for the media tests: uploading through the API and reading back what a client
(or a CDN) would fetch."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI

from connecthub.infra.storage import LocalStorage, S3Storage
from tests.social_factories import auth
from tests.support import probe

ALLOWED_SERVED_TYPES = {
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/avif",
    "video/mp4", "video/webm", "video/quicktime",
    "audio/mpeg", "audio/ogg", "audio/wav", "audio/flac", "audio/mp4",
}  # fmt: skip


async def upload(
    client: httpx.AsyncClient,
    token: str,
    data: bytes,
    *,
    filename: str = "upload.bin",
    content_type: str = "application/octet-stream",
    path: str = "/api/v2/media",
    thumbnail: bytes | None = None,
    **fields: str,
) -> httpx.Response:
    files: dict[str, Any] = {"file": (filename, data, content_type)}
    if thumbnail is not None:
        files["thumbnail"] = ("thumb.png", thumbnail, "image/png")
    return await client.post(path, headers=auth(token), files=files, data=fields)


async def fetch(
    client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """GET a media URL: this server's own /system/media through the app, anything else
    (the S3 store) over real HTTP."""
    parts = urlsplit(url)
    if parts.path.startswith("/system/media/"):
        return await client.get(parts.path, headers=headers or {})
    async with httpx.AsyncClient(verify=probe.ssl_context()) as outside:
        return await outside.get(url, headers=headers or {})


async def stored_bytes(app: FastAPI, url: str) -> bytes:
    """The object exactly as the store holds it."""
    key = url.split("/system/media/", 1)[-1] if "/system/media/" in url else _s3_key(url)
    data: bytes = await app.state.engines.storage.get(key)
    return data


def _s3_key(url: str) -> str:
    path = urlsplit(url).path.lstrip("/")
    return path.split("/", 1)[1]  # drop the bucket


def key_of(url: str) -> str:
    return url.split("/system/media/", 1)[-1] if "/system/media/" in url else _s3_key(url)


async def wait_for_media(
    client: httpx.AsyncClient, token: str, media_id: str, seconds: float = 90
) -> dict[str, Any]:
    """Poll `GET /api/v1/media/:id` (206 while processing) until it answers 200, as a
    client does after a 202. Generous: transcoding on a shared 2-core machine under load
    took over a minute (pytest-timeout ends a test at 120 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = await client.get(f"/api/v1/media/{media_id}", headers=auth(token))
        if response.status_code == 200:
            result: dict[str, Any] = response.json()
            return result
        assert response.status_code == 206, response.text
        assert response.json()["url"] is None
        await asyncio.sleep(0.1)
    raise AssertionError(f"media {media_id} still processing")


async def all_stored_keys(app: FastAPI) -> list[str]:
    """Every object the app's media store holds (a local directory or an S3 bucket)."""
    storage = app.state.engines.storage
    if isinstance(storage, LocalStorage):
        root = storage.root
        return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
    assert isinstance(storage, S3Storage)
    client = await storage.client()
    listing = await client.list_objects_v2(Bucket=storage.bucket)
    return [str(item["Key"]) for item in listing.get("Contents", [])]
