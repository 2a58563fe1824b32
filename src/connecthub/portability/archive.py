"""Writing a ZIP archive entry by entry onto a temporary file, never whole in memory.

Entries are written in pieces: text is buffered up to `FLUSH_BYTES` and then handed to a
thread (zipfile is blocking), stored files are copied from the object store chunk by
chunk. JSON documents too big to build in memory (the outbox) are written as a head, then
their items one by one, then the closing brackets.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

FLUSH_BYTES = 256 * 1024


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Entry:
    """One file being written into the archive."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._buffer = io.BytesIO()

    async def write(self, text: str | bytes) -> None:
        self._buffer.write(text.encode() if isinstance(text, str) else text)
        if self._buffer.tell() >= FLUSH_BYTES:
            await self.flush()

    async def write_raw(self, data: bytes) -> None:
        """Bytes straight to the archive (file copies: already in chunks)."""
        await self.flush()
        await asyncio.to_thread(self._handle.write, data)

    async def flush(self) -> None:
        data = self._buffer.getvalue()
        if data:
            self._buffer = io.BytesIO()
            await asyncio.to_thread(self._handle.write, data)


class JsonItems:
    """Items of a JSON array streamed into an entry, commas between them."""

    def __init__(self, entry: Entry) -> None:
        self._entry = entry
        self.count = 0

    async def add(self, item: Any) -> None:
        await self._entry.write(("," if self.count else "") + dumps(item))
        self.count += 1


class ArchiveWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip = zipfile.ZipFile(path, "w", allowZip64=True)

    @asynccontextmanager
    async def entry(self, name: str, *, compress: bool = True) -> AsyncIterator[Entry]:
        info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o444 << 16  # read-only, as Mastodon's archive entries
        handle = await asyncio.to_thread(self._zip.open, info, "w", force_zip64=True)
        entry = Entry(handle)
        try:
            yield entry
            await entry.flush()
        finally:
            await asyncio.to_thread(handle.close)

    async def json(self, name: str, value: Any) -> None:
        async with self.entry(name) as entry:
            await entry.write(dumps(value))

    @asynccontextmanager
    async def json_array(
        self, name: str, head: dict[str, Any] | None = None, key: str = "orderedItems"
    ) -> AsyncIterator[JsonItems]:
        """`[item, …]`, or with `head` `{…head, key: [item, …]}`."""
        async with self.entry(name) as entry:
            if head is None:
                await entry.write("[")
            else:
                await entry.write(dumps(head)[:-1] + f',"{key}":[')
            items = JsonItems(entry)
            yield items
            await entry.write("]" if head is None else "]}")

    async def close(self) -> None:
        await asyncio.to_thread(self._zip.close)
