"""An account's deletion takes its exports (the archives leave the store) and imports; a
build that meets a suspended account hands nothing out."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from connecthub.portability import tasks
from connecthub.portability.models import DataExport, DataImport
from tests.portability.support import ok, request_export
from tests.privacy.support import ask_deletion, count, wait_erased, wait_gone
from tests.social_factories import auth, user_with_token


@pytest.mark.slow
async def test_deleting_an_account_deletes_its_archives(app_factory: Any) -> None:
    async with app_factory(jobs_in_server=True) as (app, client):
        alice, token = await user_with_token(app, "alice")
        export = await request_export(client, token)
        for _ in range(400):
            current = await ok(
                await client.get(f"/api/v1/exports/{export['id']}", headers=auth(token))
            )
            if current["state"] == "ready":
                break
            await asyncio.sleep(0.05)
        response = await client.post(
            "/api/v1/imports",
            data={"type": "blocking"},
            files={"data": ("blocks.csv", b"nobody\n", "text/csv")},
            headers=auth(token),
        )
        assert response.status_code == 202, response.text
        async with app.state.engines.db.session() as session:
            row = await session.get(DataExport, int(export["id"]))
            assert row is not None
            key = row.storage_key
        assert key is not None
        assert await app.state.engines.storage.size(key) is not None

        assert (await ask_deletion(client, token)).status_code == 202
        await wait_erased(app, alice.id)
        await wait_gone(app, [key])
        assert await count(app, DataExport, DataExport.account_id == alice.id) == 0
        assert await count(app, DataImport, DataImport.account_id == alice.id) == 0


async def test_a_suspended_account_gets_no_archive(app_factory: Any) -> None:
    async with app_factory(jobs_in_server=False) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        export = await request_export(client, token)
        assert (await ask_deletion(client, token)).status_code == 202
        await tasks.build(app.state.engines, int(export["id"]))
        async with app.state.engines.db.session() as session:
            row = await session.get(DataExport, int(export["id"]))
        assert row is not None
        assert (row.state, row.storage_key) == ("failed", None)
