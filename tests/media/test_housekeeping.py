"""Housekeeping: unattached uploads expire, an account's media can be released, and a store
that is full or down fails the upload cleanly (507/503) with no row and no file left."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from connecthub.clock import utcnow
from connecthub.infra.jobs import HANDLERS, JobContext
from connecthub.infra.uow import UnitOfWork
from connecthub.media import service
from connecthub.media.models import MediaAttachment
from tests.media import files
from tests.media.support import key_of, upload
from tests.social_factories import auth, user_with_token


async def _count(app: Any) -> int:
    async with app.state.engines.db.session() as session:
        query = select(func.count()).select_from(MediaAttachment)
        return int((await session.execute(query)).scalar_one())


async def _run(app: Any, name: str, payload: dict[str, Any]) -> None:
    await HANDLERS[name](JobContext(app.state.engines, "test", 1), payload)


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_unattached_uploads_expire(media_app: Any) -> None:
    async with media_app() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        old = (await upload(client, token, files.png(20, 20, seed=501))).json()
        kept = (await upload(client, token, files.png(20, 20, seed=502))).json()
        fresh = (await upload(client, token, files.png(20, 20, seed=503))).json()
        posted = await client.post(
            "/api/v1/statuses", headers=auth(token), json={"status": "", "media_ids": [kept["id"]]}
        )
        assert posted.status_code == 200
        day_ago = utcnow() - timedelta(days=1, minutes=5)
        async with app.state.engines.db.transaction() as session:
            await session.execute(
                update(MediaAttachment)
                .where(MediaAttachment.id.in_([int(old["id"]), int(kept["id"])]))
                .values(created_at=day_ago)
            )
        for _ in range(2):  # idempotent
            await _run(app, service.EXPIRE_JOB, {"media_id": old["id"]})
        assert await _count(app) == 2
        gone = await client.get(f"/api/v1/media/{old['id']}", headers=auth(token))
        assert gone.status_code == 404
        assert await app.state.engines.storage.size(key_of(old["url"])) is None
        for media in (kept, fresh):
            assert await app.state.engines.storage.size(key_of(media["url"])) is not None


async def test_releasing_an_account_deletes_its_media(media_app: Any) -> None:
    async with media_app() as (app, client):
        alice, token = await user_with_token(app, "alice")
        media = (await upload(client, token, files.png(20, 20, seed=601))).json()
        engines = app.state.engines
        async with engines.db.session() as session:
            uow = UnitOfWork(engines, session)
            await service.release_account_media(uow, alice.id)
            await session.commit()
        keys = [key_of(media["url"]), key_of(media["preview_url"])]
        await _run(app, service.PURGE_JOB, {"keys": keys})
        assert await _count(app) == 0
        for key in keys:
            assert await engines.storage.size(key) is None


async def test_full_disk_gives_507_and_leaves_nothing(test_env: Any, app_factory: Any) -> None:
    media_root = test_env.workdir / "full-media"
    async with app_factory(
        media_storage_url=f"file://{media_root}", media_local_min_free_bytes=10**18
    ) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        response = await upload(client, token, files.png())
        assert response.status_code == 507
        assert await _count(app) == 0
        assert _files_under(media_root) == []


async def test_store_down_gives_503_and_leaves_nothing(test_env: Any, app_factory: Any) -> None:
    blocked = test_env.workdir / "not-a-directory"
    blocked.write_text("a file where the media directory should be")
    async with app_factory(media_storage_url=f"file://{blocked}") as (app, client):
        _alice, token = await user_with_token(app, "alice")
        response = await upload(client, token, files.png())
        assert response.status_code == 503
        assert await _count(app) == 0


@pytest.mark.slow
async def test_s3_down_gives_503(test_env: Any, app_factory: Any) -> None:
    from tests.conftest import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    async with app_factory(
        media_storage_url=f"s3://media?endpoint={dead}&region=us-east-1",
        media_s3_access_key_id="x",
        media_s3_secret_access_key="y",
    ) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        response = await upload(client, token, files.png())
        assert response.status_code == 503
        assert await _count(app) == 0


async def test_s3_refusing_writes_gives_503_and_leaves_nothing(
    seaweedfs: Any, app_factory: Any
) -> None:
    """Credentials that may only read: the store refuses the write."""
    from tests.media.conftest import READER_KEY

    await seaweedfs.create_bucket("read-only")
    settings = {**seaweedfs.settings("read-only"), "media_s3_access_key_id": READER_KEY}
    async with app_factory(**settings) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        response = await upload(client, token, files.png())
        assert response.status_code == 503
        assert await _count(app) == 0
