"""Probes: liveness always answers; readiness follows the engines, and recovers with them
without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.engines import redis_url
from tests.support.redis_server import RedisProcess

AppFactory = Callable[..., Any]


async def wait_for_status(client: httpx.AsyncClient, status: int) -> httpx.Response:
    """Readiness as a probe sees it: asked again until it says `status` (or 30 s pass)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        response = await client.get("/health/ready")
        if response.status_code == status or loop.time() > deadline:
            return response
        await asyncio.sleep(0.2)


async def test_mastodon_health_check_is_plain_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert (response.status_code, response.text) == (200, "OK")
    assert response.headers["content-type"].startswith("text/plain")


async def test_liveness(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readiness_lists_the_engines_it_checked(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    if redis_url():
        assert body["checks"]["redis"] == "ok"
    else:
        assert "redis" not in body["checks"]


@pytest.mark.slow
async def test_readiness_follows_redis_down_and_back(
    app_factory: AppFactory, own_redis: RedisProcess
) -> None:
    async with app_factory(redis_url=own_redis.url) as (_app, client):
        response = await wait_for_status(client, 200)
        assert response.status_code == 200
        assert response.json()["checks"] == {"database": "ok", "redis": "ok"}

        own_redis.stop()
        response = await wait_for_status(client, 503)
        assert response.status_code == 503
        body = response.json()
        assert body["error"] == "Not ready: redis"
        assert body["status"] == "unavailable"
        assert response.headers["x-request-id"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["redis"].startswith("unavailable")
        # Liveness does not depend on Redis: the orchestrator must not restart us for it.
        assert (await client.get("/health/live")).status_code == 200

        own_redis.start()
        response = await wait_for_status(client, 200)
        assert response.status_code == 200, response.text
        assert response.json()["checks"] == {"database": "ok", "redis": "ok"}
