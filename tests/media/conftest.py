"""Media fixtures: a real SeaweedFS (S3-compatible) for the session, and `store`, which runs
a test once on the local directory and once on S3 (a bucket of its own)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connecthub.config import load_settings
from connecthub.infra.storage import S3Storage, storage_from_settings
from tests.conftest import TestEnv, free_port, running_app

ACCESS_KEY = "connecthub-test"
READER_KEY = "connecthub-reader"
SECRET_KEY = "connecthub-test-secret"  # a throwaway local store


@dataclass
class SeaweedFS:
    endpoint: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def settings(self, bucket: str) -> dict[str, str]:
        return {
            "media_storage_url": f"s3://{bucket}?endpoint={self.endpoint}&region=us-east-1",
            "media_s3_access_key_id": ACCESS_KEY,
            "media_s3_secret_access_key": SECRET_KEY,
        }

    def environ(self, bucket: str) -> dict[str, str]:
        return {name.upper(): value for name, value in self.settings(bucket).items()}

    async def create_bucket(self, bucket: str) -> None:
        storage = storage_from_settings(load_settings(**self.settings(bucket)))
        assert isinstance(storage, S3Storage)
        try:
            await storage.create_bucket()
        finally:
            await storage.close()

    async def delete_bucket(self, bucket: str) -> None:
        """Frees the bucket's volumes (SeaweedFS gives each bucket its own)."""
        storage = storage_from_settings(load_settings(**self.settings(bucket)))
        assert isinstance(storage, S3Storage)
        try:
            client = await storage.client()
            listing = await client.list_objects_v2(Bucket=bucket)
            for item in listing.get("Contents", []):
                await client.delete_object(Bucket=bucket, Key=item["Key"])
            await client.delete_bucket(Bucket=bucket)
        finally:
            await storage.close()


def _weed() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(found).exists():
        raise RuntimeError("weed (SeaweedFS) not found: install the dev dependencies (uv sync)")
    return found


async def _wait_ready(store: SeaweedFS, deadline: float) -> None:
    """Ready when an object can be written (the volume server has registered)."""
    bucket = "readiness"
    storage = storage_from_settings(load_settings(**store.settings(bucket)))
    assert isinstance(storage, S3Storage)
    try:
        while True:
            try:
                await storage.create_bucket()
                await storage.put("probe", b"ok", "text/plain")
                return
            except Exception:
                if time.monotonic() > deadline or store.process.poll() is not None:
                    raise RuntimeError(
                        f"SeaweedFS did not start:\n{store.log_path.read_text(errors='replace')}"
                    ) from None
                await asyncio.sleep(0.1)
    finally:
        await storage.close()


def _launch(root: Path) -> SeaweedFS:
    """`weed server -s3` on loopback: one admin identity, anonymous reads (as a public
    bucket behind a CDN would allow). Returns at once; `_wait_ready` says when it serves."""
    config = root / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "connecthub",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    },
                    {
                        "name": "reader",
                        "credentials": [{"accessKey": READER_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Read", "List"],
                    },
                    {"name": "anonymous", "actions": ["Read"]},
                ]
            }
        )
    )
    (root / "data").mkdir()
    ports = {name: free_port() for name in ("master", "volume", "filer", "s3")}
    grpc = {name: free_port() for name in ports}
    log_path = root / "weed.log"
    args = [
        _weed(), "server", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}", f"-master.port.grpc={grpc['master']}",
        f"-volume.port={ports['volume']}", f"-volume.port.grpc={grpc['volume']}",
        f"-filer.port={ports['filer']}", f"-filer.port.grpc={grpc['filer']}",
        "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={grpc['s3']}",
        f"-s3.config={config}", "-master.volumeSizeLimitMB=8", "-volume.max=200",
        "-metricsPort=0", "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
    ]  # fmt: skip
    process = subprocess.Popen(args, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    return SeaweedFS(f"http://127.0.0.1:{ports['s3']}", process, log_path)


def _wait_listening(port: int, deadline: float, process: subprocess.Popen[bytes]) -> None:
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)


class _Boot:
    """This test process's SeaweedFS, started in the background as soon as the collected
    tests include media ones: its start-up (6-16 s, nearly all of it waiting) overlaps the
    tests that run first instead of holding up the first S3 test."""

    def __init__(self) -> None:
        self.store: SeaweedFS | None = None
        self.ready: Future[None] | None = None
        self.root: Path | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="seaweedfs-boot")

    def start(self) -> None:
        if self.store is None:
            # Beside pytest's temporary directories (tmpfs: tests/conftest.py).
            where = os.environ.get("PYTEST_DEBUG_TEMPROOT")
            self.root = Path(tempfile.mkdtemp(prefix="connecthub-seaweedfs-", dir=where))
            self.store = _launch(self.root)
            # Only a socket in the background: a thread that made loggers (the S3 client
            # does) while pytest's main thread walks logging's registry broke the run.
            port = int(self.store.endpoint.rsplit(":", 1)[1])
            self.ready = self._pool.submit(
                _wait_listening, port, time.monotonic() + 90, self.store.process
            )

    def wait(self) -> SeaweedFS:
        for attempt in range(3):
            assert self.store is not None
            assert self.ready is not None
            self.ready.result()
            # The main thread waits meanwhile; its own loop in its own thread, as the fixture
            # may be first requested from inside a running loop.
            deadline = time.monotonic() + 90
            try:
                self._pool.submit(asyncio.run, _wait_ready(self.store, deadline)).result()
                return self.store
            except RuntimeError:
                # Its ports were chosen free, then bound seconds later: another process can
                # take one meanwhile. Only that is retried, with new ports.
                if attempt == 2 or "address already in use" not in self._log():
                    raise
                self._relaunch()
        raise AssertionError("unreachable")

    def _log(self) -> str:
        assert self.store is not None
        return self.store.log_path.read_text(errors="replace")

    def _relaunch(self) -> None:
        assert self.store is not None
        assert self.root is not None
        self.store.process.kill()
        self.store.process.wait()
        self.root = Path(tempfile.mkdtemp(prefix="connecthub-seaweedfs-", dir=self.root.parent))
        self.store = _launch(self.root)
        port = int(self.store.endpoint.rsplit(":", 1)[1])
        self.ready = self._pool.submit(
            _wait_listening, port, time.monotonic() + 90, self.store.process
        )

    def stop(self) -> None:
        if self.store is not None:
            process = self.store.process
            process.terminate()
            try:
                process.wait(timeout=3)  # its data is a temporary directory: no need to wait
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._pool.shutdown(wait=True)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)


_boot = _Boot()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if any(Path(__file__).parent in item.path.parents for item in items):
        _boot.start()


def pytest_sessionfinish() -> None:
    _boot.stop()


@pytest.fixture(scope="session")
def seaweedfs() -> SeaweedFS:
    """The process's SeaweedFS (`_Boot`), started now if collection did not start it."""
    _boot.start()
    return _boot.wait()


_buckets = itertools.count(1)


@dataclass
class Store:
    """Where a test's media go: its settings overrides and environment for a real server."""

    name: str
    overrides: dict[str, Any]

    def environ(self) -> dict[str, str]:
        return {name.upper(): str(value) for name, value in self.overrides.items()}


# The object store's variant is `slow` (left out of `make test-fast`): it needs SeaweedFS
# started in the worker, and the local variant runs the same rules.
@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.slow)])
async def store(request: pytest.FixtureRequest, test_env: TestEnv) -> AsyncIterator[Store]:
    if request.param == "local":
        yield Store("local", {"media_storage_url": f"file://{test_env.workdir / 'media'}"})
        return
    seaweed: SeaweedFS = request.getfixturevalue("seaweedfs")
    bucket = f"test-{id(test_env) % 100000}-{next(_buckets)}"
    await seaweed.create_bucket(bucket)
    yield Store("s3", seaweed.settings(bucket))
    await seaweed.delete_bucket(bucket)


@pytest.fixture
def media_app(
    test_env: TestEnv, store: Store
) -> Callable[..., contextlib.AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]:
    """`async with media_app(SETTING=value) as (app, client)` on the test's store."""
    # Jobs (video processing) run in the app on every engine, as in a small deployment.
    base = {"jobs_in_server": True, **store.overrides}
    return lambda **overrides: running_app(test_env, **{**base, **overrides})
