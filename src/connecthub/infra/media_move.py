"""Local media files copied into the configured object store (`migrate-data --media-to-s3`).

Keys are the files' paths under the media directory: the same keys the database rows name,
so nothing in the database changes. Objects already in the store at the file's size are
skipped (keys are content-addressed), so an interrupted copy goes on where it stopped. The
local files stay where they are: removing them is the operator's step once the new
deployment serves."""

from __future__ import annotations

import asyncio
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path

from connecthub.infra.storage import MediaStorage

_CONCURRENCY = 8
_SHOWN = 5


@dataclass
class MediaReport:
    files: int = 0
    bytes: int = 0
    uploaded: int = 0
    skipped: int = 0
    missing: list[str] = field(default_factory=list)  # keys the store lacks after the copy

    @property
    def ok(self) -> bool:
        return not self.missing

    def describe(self) -> str:
        verdict = "valid" if self.ok else f"INVALID ({len(self.missing)} objects missing)"
        line = (
            f"media: {self.files} files, {self.bytes} bytes; {self.uploaded} uploaded, "
            f"{self.skipped} already there; every object at its size: {verdict}"
        )
        if self.missing:
            line += "\n" + "\n".join(f"    missing {key}" for key in self.missing[:_SHOWN])
        return line


def local_files(root: Path) -> list[tuple[str, Path, int]]:
    """(key, path, size) of every stored file under `root`; half-written `.part` files left
    by a crash are not objects."""
    return [
        (path.relative_to(root).as_posix(), path, path.stat().st_size)
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.endswith(".part")
    ]


def survey(root: Path) -> tuple[int, int]:
    """Files and bytes the copy would move."""
    files = local_files(root)
    return len(files), sum(size for _key, _path, size in files)


async def copy_media(root: Path, store: MediaStorage) -> MediaReport:
    """Every local file into `store`, then each object checked at its size."""
    report = MediaReport()
    gate = asyncio.Semaphore(_CONCURRENCY)

    async def one(key: str, path: Path, size: int) -> None:
        async with gate:
            if await store.size(key) == size:
                report.skipped += 1
                return
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            await store.put(key, await asyncio.to_thread(path.read_bytes), content_type)
            report.uploaded += 1

    files = await asyncio.to_thread(local_files, root)
    report.files = len(files)
    report.bytes = sum(size for _key, _path, size in files)
    await asyncio.gather(*(one(*file) for file in files))

    async def check(key: str, size: int) -> None:
        async with gate:
            if await store.size(key) != size:
                report.missing.append(key)

    await asyncio.gather(*(check(key, size) for key, _path, size in files))
    report.missing.sort()
    return report
