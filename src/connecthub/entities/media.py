"""MediaAttachment."""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict


class MediaAttachment(TypedDict):
    id: str
    type: str
    url: str | None
    preview_url: str | None
    remote_url: str | None
    preview_remote_url: str | None
    text_url: str | None
    # Mastodon's meta varies by type (original/small sizes, focus, duration, …); ConnectHub
    # adds `webp`. Its keys are documented in docs/media.md.
    meta: dict[str, Any]
    description: str | None
    blurhash: str | None
