"""`MediaStorage.put_file`: a file larger than one upload part (an export archive) stored
from disk, on the local directory and on S3 (a multipart upload), read back whole."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from connecthub.infra.storage import UPLOAD_PART_SIZE, storage_from_settings
from tests.conftest import TestEnv
from tests.media.conftest import Store


async def test_a_file_over_one_part_is_stored_and_read_back(
    store: Store, test_env: TestEnv, tmp_path: Path
) -> None:
    data = os.urandom(UPLOAD_PART_SIZE + 12345)
    source = tmp_path / "archive.zip"
    source.write_bytes(data)
    storage = storage_from_settings(test_env.settings(**store.overrides))
    try:
        key = "exports/ab/cdef/archive-1.zip"
        await storage.put_file(key, source, "application/zip")
        assert await storage.size(key) == len(data)
        digest = hashlib.sha256()
        async for chunk in storage.stream(key, 0, len(data) - 1):
            digest.update(chunk)
        assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
        await storage.delete(key)
        assert await storage.size(key) is None
    finally:
        await storage.close()
