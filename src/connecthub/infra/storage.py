"""Media storage: a local directory (embedded) or an S3-compatible store (distributed).

Keys are content-addressed and immutable, so every stored object may be cached forever.
Failures surface as `StorageFull` (the disk or the bucket is full) or `StorageUnavailable`
(the store cannot be reached); the media domain turns them into 507 and 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, urlparse

from connecthub.config import Settings

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

# Every object is immutable: caches (browsers, a CDN) may keep it for a year.
CACHE_CONTROL = "public, max-age=31536000, immutable"
CHUNK_SIZE = 64 * 1024
# S3 multipart parts (5 MiB is S3's smallest part but the last).
UPLOAD_PART_SIZE = 8 * 1024 * 1024
LOCAL_MEDIA_PATH = "/system/media"


@functools.cache
def _botocore_loader() -> Any:
    """One loader per process, shared by every S3 session: it parses botocore's endpoint
    and S3 model files (~0.15 s of CPU) once and keeps them. Each storage made its own,
    and the test suite makes one per test."""
    from botocore.loaders import create_loader

    return create_loader()


class StorageError(Exception):
    """The store refused or failed an operation."""


class StorageFull(StorageError):
    """No space left (disk full, quota of the bucket reached)."""


class StorageUnavailable(StorageError):
    """The store cannot be reached or answered with an error."""


class MediaStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...
    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Store a local file of any size, read in parts (an archive): never whole in
        memory."""
        ...

    async def get(self, key: str) -> bytes: ...
    async def size(self, key: str) -> int | None:
        """The object's size in bytes, or None when there is no such object."""
        ...

    def stream(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes `start`..`end` (inclusive) of the object, in chunks."""
        ...

    async def delete(self, key: str) -> None:
        """Idempotent: deleting a missing key is not an error."""
        ...

    def public_url(self, key: str) -> str: ...
    async def close(self) -> None: ...


def content_disposition(key: str) -> str:
    # Every allow-listed type is an image, a video or audio: shown inline, never as a page.
    return f'inline; filename="{key.rsplit("/", 1)[-1]}"'


class LocalStorage:
    def __init__(
        self, root: Path, base_url: str = LOCAL_MEDIA_PATH, min_free_bytes: int = 0
    ) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")
        self.min_free_bytes = min_free_bytes

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError("storage key escapes the media root")
        return path

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            await asyncio.to_thread(self._write, self._path(key), data)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull(str(exc)) from exc
            raise StorageUnavailable(str(exc)) from exc

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.min_free_bytes:
            free = shutil.disk_usage(path.parent).free
            if free - len(data) < self.min_free_bytes:
                raise OSError(errno.ENOSPC, "the media disk is (nearly) full", str(path.parent))
        temporary = path.with_name(f"{path.name}.{os.getpid()}.{id(data)}.part")
        try:
            temporary.write_bytes(data)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        try:
            await asyncio.to_thread(self._copy, path, self._path(key))
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull(str(exc)) from exc
            raise StorageUnavailable(str(exc)) from exc

    def _copy(self, source: Path, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.part")
        try:
            shutil.copyfile(source, temporary)  # copies in chunks
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def size(self, key: str) -> int | None:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except FileNotFoundError:
            return None

    async def stream(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self._path(key).open, "rb")
        try:
            await asyncio.to_thread(handle.seek, start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = await asyncio.to_thread(handle.read, min(CHUNK_SIZE, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    def public_url(self, key: str) -> str:
        return f"{self.base_url}/{key}"

    async def close(self) -> None:
        return None


def _plain_http(endpoint: str | None) -> bool:
    return endpoint is not None and endpoint.lower().startswith("http://")


class S3Storage:
    """Any S3-compatible store (AWS S3, SeaweedFS, MinIO, R2, …), path-style addressing.

    Objects are written with their type, `Cache-Control` and an inline `Content-Disposition`,
    so the store (or the CDN in front of it) serves them with the right headers."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint: str | None,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        public_base_url: str,
    ) -> None:
        self.bucket = bucket
        self.endpoint = endpoint
        self.region = region
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self.base_url = public_base_url.rstrip("/")
        self._stack: AsyncExitStack | None = None
        self._client: S3Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> S3Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                from aiobotocore.config import AioConfig
                from aiobotocore.session import get_session

                config = AioConfig(
                    connect_timeout=5,
                    read_timeout=60,
                    retries={"max_attempts": 2, "mode": "standard"},
                    s3={"addressing_style": "path"},
                )
                session = get_session()
                session.register_component("data_loader", _botocore_loader())
                stack = AsyncExitStack()
                self._client = await stack.enter_async_context(
                    session.create_client(
                        "s3",
                        endpoint_url=self.endpoint,
                        region_name=self.region,
                        aws_access_key_id=self._access_key_id,
                        aws_secret_access_key=self._secret_access_key,
                        config=config,
                        # A plain-HTTP endpoint (a store on the same network) has no
                        # certificate to verify; loading the CA bundle anyway cost ~25 ms of
                        # CPU per client (each test's app, in tests).
                        verify=False if _plain_http(self.endpoint) else None,
                    )
                )
                self._stack = stack
        assert self._client is not None
        return self._client

    async def _call(self, operation: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        client = await self.client()
        try:
            return await getattr(client, operation)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(kwargs.get("Key", "")) from exc
            if code in ("EntityTooLarge", "QuotaExceeded", "InsufficientStorage"):
                raise StorageFull(code) from exc
            raise StorageUnavailable(code or str(exc)) from exc
        except (BotoCoreError, OSError) as exc:
            raise StorageUnavailable(str(exc)) from exc

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self._call(
            "put_object",
            Key=key,
            Body=data,
            ContentType=content_type,
            CacheControl=CACHE_CONTROL,
            ContentDisposition=content_disposition(key),
        )

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        """A multipart upload, one part in memory at a time; aborted on any failure so
        the store keeps no orphaned parts."""
        started = await self._call(
            "create_multipart_upload",
            Key=key,
            ContentType=content_type,
            ContentDisposition=f'attachment; filename="{key.rsplit("/", 1)[-1]}"',
        )
        upload_id = started["UploadId"]
        parts: list[dict[str, Any]] = []
        try:
            handle = await asyncio.to_thread(path.open, "rb")
            try:
                while chunk := await asyncio.to_thread(handle.read, UPLOAD_PART_SIZE):
                    number = len(parts) + 1
                    answer = await self._call(
                        "upload_part", Key=key, UploadId=upload_id, PartNumber=number, Body=chunk
                    )
                    parts.append({"ETag": answer["ETag"], "PartNumber": number})
            finally:
                await asyncio.to_thread(handle.close)
            if not parts:  # an empty file: S3 wants at least one part
                answer = await self._call(
                    "upload_part", Key=key, UploadId=upload_id, PartNumber=1, Body=b""
                )
                parts.append({"ETag": answer["ETag"], "PartNumber": 1})
            await self._call(
                "complete_multipart_upload",
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            with contextlib.suppress(StorageError):
                await self._call("abort_multipart_upload", Key=key, UploadId=upload_id)
            raise

    async def get(self, key: str) -> bytes:
        response = await self._call("get_object", Key=key)
        async with response["Body"] as body:
            data: bytes = await body.read()
        return data

    async def size(self, key: str) -> int | None:
        try:
            response = await self._call("head_object", Key=key)
        except FileNotFoundError:
            return None
        return int(response["ContentLength"])

    async def stream(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        response = await self._call("get_object", Key=key, Range=f"bytes={start}-{end}")
        async with response["Body"] as body:
            async for chunk in body.iter_chunks(CHUNK_SIZE):
                yield chunk

    async def delete(self, key: str) -> None:
        try:
            await self._call("delete_object", Key=key)
        except FileNotFoundError:
            return

    def public_url(self, key: str) -> str:
        return f"{self.base_url}/{key}"

    async def create_bucket(self) -> None:
        """For development and tests: make the bucket if it does not exist."""
        if await self.bucket_exists():
            return
        await self._call("create_bucket")

    async def bucket_exists(self) -> bool:
        try:
            await self._call("head_bucket")
        except (FileNotFoundError, StorageUnavailable):
            return False
        return True

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()


def _s3_location(settings: Settings) -> tuple[str, str | None, str]:
    parsed = urlparse(settings.media_storage_url)
    if not parsed.netloc:
        raise ValueError("MEDIA_STORAGE_URL: s3:// needs a bucket name")
    query = {name: values[-1] for name, values in parse_qs(parsed.query).items()}
    return parsed.netloc, query.get("endpoint"), query.get("region", "us-east-1")


def public_base_url(settings: Settings) -> str:
    """Where clients fetch stored objects: `MEDIA_PUBLIC_BASE_URL` (a CDN) when set, else
    this server's /system/media (local directory) or the store's own address (S3)."""
    if settings.media_public_base_url:
        return settings.media_public_base_url.rstrip("/")
    scheme = urlparse(settings.media_storage_url).scheme
    if scheme == "s3":
        bucket, endpoint, region = _s3_location(settings)
        if endpoint:
            return f"{endpoint.rstrip('/')}/{bucket}"
        return f"https://{bucket}.s3.{region}.amazonaws.com"
    return settings.base_url + LOCAL_MEDIA_PATH


def media_url(settings: Settings, key: str) -> str:
    return f"{public_base_url(settings)}/{key}"


def storage_from_settings(settings: Settings) -> MediaStorage:
    """`MEDIA_STORAGE_URL`: `file://<dir>` or `s3://<bucket>?endpoint=<url>&region=<name>`
    (credentials: `MEDIA_S3_ACCESS_KEY_ID`, `MEDIA_S3_SECRET_ACCESS_KEY`)."""
    parsed = urlparse(settings.media_storage_url)
    if parsed.scheme == "file":
        return LocalStorage(
            Path(parsed.netloc + parsed.path),
            public_base_url(settings),
            settings.media_local_min_free_bytes,
        )
    if parsed.scheme == "s3":
        bucket, endpoint, region = _s3_location(settings)
        secret = settings.media_s3_secret_access_key
        return S3Storage(
            bucket=bucket,
            endpoint=endpoint,
            region=region,
            access_key_id=settings.media_s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            public_base_url=public_base_url(settings),
        )
    raise ValueError(f"MEDIA_STORAGE_URL: unsupported scheme {parsed.scheme!r}")


def storage_from_url(url: str) -> MediaStorage:
    """A store from a URL alone (no credentials, default public base): for tools and tests."""
    return storage_from_settings(Settings(media_storage_url=url))
