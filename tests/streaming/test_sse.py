"""Server-sent events: one stream per endpoint, heartbeats, Mastodon's event framing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI

from tests.social_factories import user_with_token
from tests.streaming.support import WAIT_SECONDS, SseEvent, api, post_status, servers, sse_events
from tests.support import probe

if TYPE_CHECKING:
    from tests.conftest import TestEnv


@pytest.mark.slow
async def test_hashtag_stream_over_sse_with_heartbeats(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    _alice, alice_token = await user_with_token(factory_app, "alice")
    _bob, bob_token = await user_with_token(factory_app, "bob")
    with servers(test_env, 1, STREAMING_HEARTBEAT_SECONDS="0.2") as (server,):
        headers = {"Authorization": f"Bearer {alice_token}"}
        async with (
            httpx.AsyncClient(
                base_url=server.url, timeout=WAIT_SECONDS, verify=probe.ssl_context()
            ) as client,
            client.stream(
                "GET", "/api/v1/streaming/hashtag", params={"tag": "Python"}, headers=headers
            ) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = sse_events(response)
            heartbeats = 0
            async for item in events:
                if item == ":thump":
                    heartbeats += 1
                    break
            await post_status(server, bob_token, "Nothing to see")
            status = await post_status(server, bob_token, "I like #python")
            async for item in events:
                if isinstance(item, SseEvent):
                    break
    assert heartbeats == 1
    assert isinstance(item, SseEvent)
    assert item.event == "update"
    assert json.loads(item.data)["id"] == status["id"]


async def test_sse_refuses_bad_requests(test_env: TestEnv, factory_app: FastAPI) -> None:
    _alice, alice_token = await user_with_token(factory_app, "alice")
    with servers(test_env, 1) as (server,):
        assert (await api(server, "GET", "/api/v1/streaming/public")).status_code == 401
        missing_tag = await api(server, "GET", "/api/v1/streaming/hashtag", alice_token)
        assert missing_tag.status_code == 400
        assert missing_tag.json() == {"error": "No tag for stream provided"}
        bad_list = await api(server, "GET", "/api/v1/streaming/list?list=abc", alice_token)
        assert bad_list.status_code == 400


async def test_notification_stream_needs_its_scope(test_env: TestEnv, factory_app: FastAPI) -> None:
    from tests.factories import create_token

    alice, _ = await user_with_token(factory_app, "alice")
    statuses_only = await create_token(factory_app, alice.id, scopes=frozenset({"read:statuses"}))
    with servers(test_env, 1) as (server,):
        refused = await api(server, "GET", "/api/v1/streaming/user/notification", statuses_only)
        assert refused.status_code == 401
        assert "scopes" in refused.json()["error"]
