"""The one converter from media rows to Mastodon's MediaAttachment entity."""

from __future__ import annotations

from typing import Any

from connecthub import entities
from connecthub.config import Settings
from connecthub.infra.storage import media_url
from connecthub.media.models import MediaAttachment, MediaKind, MediaState

KIND_NAMES = {
    MediaKind.IMAGE: "image",
    MediaKind.GIFV: "gifv",
    MediaKind.VIDEO: "video",
    MediaKind.AUDIO: "audio",
}


def media_entity(settings: Settings, row: MediaAttachment) -> entities.MediaAttachment:
    ready = row.state == MediaState.READY
    preview_key = row.thumbnail_key or row.small_key
    meta: dict[str, Any] = dict(row.meta or {})
    if row.kind in (MediaKind.IMAGE, MediaKind.GIFV, MediaKind.VIDEO):
        meta["focus"] = {"x": row.focus_x, "y": row.focus_y}
    if ready and row.webp_key:
        # ConnectHub extension: the same image as WebP (smaller, for clients that take it).
        meta["webp"] = {**meta.get("webp", {}), "url": media_url(settings, row.webp_key)}
    return {
        "id": str(row.id),
        "type": KIND_NAMES.get(MediaKind(row.kind), "unknown"),
        # Mastodon gives no URL until processing has finished.
        "url": media_url(settings, row.file_key) if ready else None,
        "preview_url": media_url(settings, preview_key) if preview_key else None,
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": row.description or None,
        "blurhash": row.blurhash,
    }
