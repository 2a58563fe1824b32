"""`connecthub backup create | restore` (embedded mode, docs/backups.md): a snapshot taken
while a live server takes writes restores into an empty directory, and a server on the
restored data serves everything that was acknowledged before the snapshot began."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from tests import conftest
from tests.cli_runner import run_cli
from tests.media import files
from tests.servers import start_inprocess_server
from tests.support import probe

PASSWORD = "correct horse battery staple"
TIMEOUT = 120  # a loaded machine; never a measure


class EmbeddedEnv(conftest.TestEnv):
    """A SQLite database and in-process engines whatever engines the suite runs on: the
    command backs up embedded instances only."""

    def settings(self, **overrides: Any) -> Any:
        return super().settings(**{"redis_url": None, **overrides})

    def environ(self, **overrides: str) -> dict[str, str]:
        environ = super().environ(**overrides)
        environ.pop("REDIS_URL", None)
        return environ


def _embedded(directory: Path) -> EmbeddedEnv:
    from connecthub.infra import migrations

    directory.mkdir(parents=True)
    env = EmbeddedEnv(
        database_url=f"sqlite:///{directory / 'connecthub.db'}",
        key_prefix=f"backup:{directory.name}:",
        workdir=directory,
    )
    asyncio.run(migrations.upgrade(env.settings()))
    return env


def _bearer(env: EmbeddedEnv, url: str, username: str) -> dict[str, str]:
    created = run_cli(
        env.environ(),
        "admin",
        "create-user",
        "--username",
        username,
        "--email",
        f"{username}@example.com",
        "--password",
        PASSWORD,
    )
    assert created.returncode == 0, created.stderr
    oauth_app = probe.post(
        f"{url}/api/v1/apps",
        timeout=TIMEOUT,
        json={
            "client_name": "backup test",
            "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write",
        },
    ).json()
    token = probe.post(
        f"{url}/oauth/token",
        data={
            "grant_type": "password",
            "client_id": oauth_app["client_id"],
            "client_secret": oauth_app["client_secret"],
            "username": f"{username}@example.com",
            "password": PASSWORD,
            "scope": "read write",
        },
        timeout=TIMEOUT,
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


class Writer(threading.Thread):
    """Posts statuses one after another until stopped; records each acknowledged id with
    the moment its answer arrived."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(
            base_url=url, headers=headers, timeout=TIMEOUT, verify=probe.ssl_context()
        )
        self.acked: list[tuple[str, float]] = []
        self.failures: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        number = 0
        while not self.stopping.is_set():
            number += 1
            response = self.client.post("/api/v1/statuses", json={"status": f"write {number}"})
            if response.status_code == 200:
                self.acked.append((response.json()["id"], time.time()))
            else:
                self.failures.append(f"{response.status_code} {response.text[:200]}")

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=TIMEOUT + 30)
        self.client.close()


@pytest.mark.slow
def test_a_backup_taken_under_writes_restores_and_serves(tmp_path: Path) -> None:
    live = _embedded(tmp_path / "live")
    server = start_inprocess_server(live)
    writer: Writer | None = None
    try:
        headers = _bearer(live, server.url, "alice")
        upload = probe.post(
            f"{server.url}/api/v2/media",
            headers=headers,
            files={"file": ("a.png", files.png())},
            timeout=TIMEOUT,
        )
        assert upload.status_code in (200, 202), upload.text
        media = upload.json()
        with_media = probe.post(
            f"{server.url}/api/v1/statuses",
            headers=headers,
            json={"status": "with a picture", "media_ids": [media["id"]]},
            timeout=TIMEOUT,
        )
        assert with_media.status_code == 200, with_media.text

        writer = Writer(server.url, headers)
        writer.start()
        deadline = time.monotonic() + TIMEOUT
        while len(writer.acked) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        began = time.time()
        acked_before = [status_id for status_id, at in writer.acked if at < began]
        created = run_cli(live.environ(), "backup", "create", str(tmp_path / "backup"))
        after_backup = len(writer.acked)
        deadline = time.monotonic() + TIMEOUT  # the server kept taking writes meanwhile
        while len(writer.acked) < after_backup + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        writer.stop()
    finally:
        if writer is not None and writer.is_alive():
            writer.stop()
        server.stop()
    assert created.returncode == 0, created.stderr
    assert "Backup written to" in created.stdout
    assert writer.failures == []
    assert len(acked_before) >= 5
    assert len(writer.acked) >= after_backup + 3

    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    snapshot_statuses = manifest["database"]["row_counts"]["statuses"]
    # Every write acknowledged before the backup began is in it; later ones may be.
    assert len(acked_before) + 1 <= snapshot_statuses <= len(writer.acked) + 1
    assert (tmp_path / "backup" / "settings.env").stat().st_mode & 0o077 == 0

    data_dir = tmp_path / "restored"
    restored = run_cli(
        {}, "backup", "restore", str(tmp_path / "backup"), "--data-dir", str(data_dir)
    )
    assert restored.returncode == 0, restored.stderr
    assert "integrity_check ok" in restored.stdout

    values = dict(
        line.split("=", 1) for line in (data_dir / "connecthub.env").read_text().splitlines()
    )
    assert values["DATABASE_URL"] == f"sqlite:///{data_dir.resolve() / 'connecthub.db'}"
    assert values["SECRET_KEY"] == live.settings().secret_key
    again = EmbeddedEnv(
        database_url=values["DATABASE_URL"], key_prefix="backup:restored:", workdir=data_dir
    )
    restored_server = start_inprocess_server(again, MEDIA_STORAGE_URL=values["MEDIA_STORAGE_URL"])
    try:
        with httpx.Client(
            base_url=restored_server.url,
            headers=headers,
            timeout=TIMEOUT,
            verify=probe.ssl_context(),
        ) as client:
            # The token was made before the backup: the restored instance still knows it.
            me = client.get("/api/v1/accounts/verify_credentials")
            assert me.status_code == 200, me.text
            assert me.json()["statuses_count"] == snapshot_statuses
            for status_id in [*acked_before, with_media.json()["id"]]:
                assert client.get(f"/api/v1/statuses/{status_id}").status_code == 200
            picture = client.get(urlparse(media["url"]).path)
            assert picture.status_code == 200
            assert (
                picture.content
                == (tmp_path / "live" / "media")
                .joinpath(*urlparse(media["url"]).path.split("/")[3:])
                .read_bytes()
            )
            posted = client.post("/api/v1/statuses", json={"status": "after the restore"})
            assert posted.status_code == 200, posted.text
    finally:
        restored_server.stop()


@pytest.fixture
def backup_dir(tmp_path: Path) -> Path:
    live = _embedded(tmp_path / "live")
    created = run_cli(live.environ(), "backup", "create", str(tmp_path / "backup"))
    assert created.returncode == 0, created.stderr
    return tmp_path / "backup"


@pytest.mark.slow
def test_restore_refuses_a_non_empty_data_directory(backup_dir: Path, tmp_path: Path) -> None:
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "connecthub.db").write_text("someone's data")
    result = run_cli({}, "backup", "restore", str(backup_dir), "--data-dir", str(occupied))
    assert result.returncode == 2
    assert result.stderr.startswith("--data-dir:")
    assert (occupied / "connecthub.db").read_text() == "someone's data"
    assert [p.name for p in occupied.iterdir()] == ["connecthub.db"]


@pytest.mark.slow
def test_create_refuses_a_non_empty_destination(backup_dir: Path, tmp_path: Path) -> None:
    live = EmbeddedEnv(
        database_url=f"sqlite:///{tmp_path / 'live' / 'connecthub.db'}",
        key_prefix="backup:again:",
        workdir=tmp_path / "live",
    )
    result = run_cli(live.environ(), "backup", "create", str(backup_dir))
    assert result.returncode == 2
    assert result.stderr.startswith("PATH:")


@pytest.mark.slow
def test_a_damaged_or_miscounted_backup_fails_verification(
    backup_dir: Path, tmp_path: Path
) -> None:
    manifest_path = backup_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["database"]["row_counts"]["accounts"] += 1
    manifest_path.write_text(json.dumps(manifest))
    target = tmp_path / "target"
    result = run_cli({}, "backup", "restore", str(backup_dir), "--data-dir", str(target))
    assert result.returncode == 2
    assert "accounts has 0 rows, the manifest says 1" in result.stderr
    assert not target.exists()  # nothing half-restored is left behind

    database = backup_dir / "connecthub.db"
    page = bytearray(database.read_bytes())
    page[200] ^= 0xFF
    database.write_bytes(bytes(page))
    result = run_cli({}, "backup", "restore", str(backup_dir), "--data-dir", str(target))
    assert result.returncode == 2
    assert "damaged" in result.stderr


def test_a_postgresql_database_is_pointed_to_pgbackrest(tmp_path: Path) -> None:
    result = run_cli(
        {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"},
        "backup",
        "create",
        str(tmp_path / "backup"),
    )
    assert result.returncode == 2
    assert "pgBackRest" in result.stderr
    assert "docs/backups.md" in result.stderr
    assert not (tmp_path / "backup").exists()


@pytest.mark.slow
def test_a_corrupt_database_with_a_matching_digest_fails_integrity_check(
    backup_dir: Path, tmp_path: Path
) -> None:
    import hashlib

    database = backup_dir / "connecthub.db"
    content = bytearray(database.read_bytes())
    page_size = int.from_bytes(content[16:18], "big")
    for page in range(2, len(content) // page_size):  # every b-tree page's header garbled
        content[page * page_size : page * page_size + 12] = b"\xff" * 12
    database.write_bytes(bytes(content))
    manifest_path = backup_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["database"]["sha256"] = hashlib.sha256(content).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    target = tmp_path / "target"
    result = run_cli({}, "backup", "restore", str(backup_dir), "--data-dir", str(target))
    assert result.returncode == 2
    assert result.stderr.startswith("PATH: PRAGMA integrity_check failed")
    assert not target.exists()
