"""Files the server's pages serve from a fixed list: nothing a client sends becomes a file
path, and each is cached a day."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fastapi.responses import FileResponse

from connecthub.errors import NotFound

CACHE_CONTROL = "public, max-age=86400"


class ListedFiles:
    """The files of `directory` named in `media_types` (name -> media type)."""

    def __init__(self, directory: Path, media_types: Mapping[str, str]) -> None:
        self.directory = directory
        self.media_types = dict(media_types)

    def response(self, name: str) -> FileResponse:
        media_type = self.media_types.get(name)
        if media_type is None:
            raise NotFound("No such file")
        return FileResponse(
            self.directory / name, media_type=media_type, headers={"Cache-Control": CACHE_CONTROL}
        )
