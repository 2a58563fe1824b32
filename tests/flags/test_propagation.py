"""Changes reach every process: within a second over Redis (distributed) or from a command
beside an embedded server, at once in the process that made them; a process that lost the
bus keeps its last rules and says so."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.cli_runner import run_cli
from tests.conftest import running_app
from tests.engines import redis_url
from tests.flags.support import admin_token, create_flag, features
from tests.social_factories import auth
from tests.support.redis_server import RedisProcess

distributed = pytest.mark.skipif(
    not redis_url(), reason="processes share a bus only over Redis (TEST_REDIS_URL)"
)

EVERYONE = [{"name": "everyone", "conditions": [], "value": True}]


async def seconds_until(app: FastAPI, key: str, expected: bool, limit: float = 5.0) -> float:
    """How long until `app` serves `expected` for `key` (polled every 10 ms)."""
    started = time.monotonic()
    while features(app, 1).enabled(key) is not expected:
        if time.monotonic() - started > limit:
            break
        await asyncio.sleep(0.01)
    return time.monotonic() - started


@distributed
async def test_a_change_through_one_process_reaches_another_within_a_second(
    test_env: Any,
) -> None:
    async with (
        running_app(test_env) as (one, one_client),
        running_app(test_env) as (other, _other_client),
    ):
        token = await admin_token(one)
        await create_flag(
            one_client, token, key="wide", kind="boolean", default_value=False, rules=EVERYONE
        )
        assert await seconds_until(other, "wide", True) < 1.0
        killed = await one_client.post("/api/v1/admin/flags/wide/kill", headers=auth(token))
        assert killed.status_code == 200
        assert features(one, 1).enabled("wide") is False  # at once where it was made
        assert await seconds_until(other, "wide", False) < 1.0


@pytest.mark.slow
async def test_a_change_made_with_the_command_reaches_a_running_server(
    test_env: Any,
) -> None:
    # Over Redis in distributed mode; embedded, through the marker the command leaves beside
    # the database (infra/outside_writes.py), which the server looks at in the background.
    async with running_app(test_env) as (app, client):
        token = await admin_token(app)
        await create_flag(
            client, token, key="wide", kind="boolean", default_value=False, rules=EVERYONE
        )
        result = await asyncio.to_thread(run_cli, test_env.environ(), "flags", "kill", "wide")
        assert result.returncode == 0, result.stderr
        assert '"enabled": false' in result.stdout
        assert await seconds_until(app, "wide", False) < 1.0


@pytest.mark.slow
async def test_a_process_that_lost_the_bus_keeps_its_rules_and_says_so(
    app_factory: Callable[..., Any], own_redis: RedisProcess
) -> None:
    async with app_factory(redis_url=own_redis.url) as (app, client):
        token = await admin_token(app)
        await create_flag(
            client, token, key="kept", kind="boolean", default_value=False, rules=EVERYONE
        )
        ready = await client.get("/health/ready")
        assert ready.json()["detail"] == {"flags": "ok"}
        assert "connecthub_flags_rules_stale 0.0" in (await client.get("/metrics")).text

        own_redis.stop()
        detail = await _flags_detail(client, lambda note: note != "ok")
        assert detail.startswith("event bus connection lost: serving the last known rules")
        assert "connecthub_flags_rules_stale 1.0" in (await client.get("/metrics")).text
        assert features(app, 1).enabled("kept") is True  # the last rules, still served

        own_redis.start()
        assert await _flags_detail(client, lambda note: note == "ok") == "ok"
        assert "connecthub_flags_rules_stale 0.0" in (await client.get("/metrics")).text


async def _flags_detail(client: httpx.AsyncClient, wanted: Callable[[str], bool]) -> str:
    deadline = time.monotonic() + 30
    while True:
        note = str((await client.get("/health/ready")).json()["detail"]["flags"])
        if wanted(note) or time.monotonic() > deadline:
            return note
        await asyncio.sleep(0.1)
