"""Announcement events on the `user` stream, for a token that may not read notifications
(its stream carries a chosen set of events): published, reacted to, deleted."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
from fastapi import FastAPI

from tests.emojis.support import admin
from tests.factories import create_token
from tests.social_factories import auth, user_with_token
from tests.streaming.support import servers, subscribed, wait_for_message, websocket
from tests.support import probe

if TYPE_CHECKING:
    from tests.conftest import TestEnv


async def test_user_streams_hear_of_announcements(test_env: TestEnv, factory_app: FastAPI) -> None:
    boss = await admin(factory_app)
    alice, _ = await user_with_token(factory_app, "alice")
    statuses_only = await create_token(factory_app, alice.id, scopes=frozenset({"read:statuses"}))
    with servers(test_env, 1, JOBS_IN_SERVER="true") as [server]:
        async with (
            websocket(server, statuses_only) as socket,
            httpx.AsyncClient(base_url=server.url, verify=probe.ssl_context()) as http,
        ):
            await socket.send(json.dumps({"type": "subscribe", "stream": "user"}))
            await subscribed(socket, server, statuses_only)
            created = await http.post(
                "/api/v1/admin/announcements", headers=auth(boss), json={"text": "Hello"}
            )
            note_id = created.json()["id"]
            message, _ = await wait_for_message(socket, lambda m: m.get("event") == "announcement")
            assert message["stream"] == ["user"]
            entity = json.loads(message["payload"])
            assert entity["id"] == note_id
            assert "read" not in entity

            alice_token = await create_token(factory_app, alice.id)
            await http.put(
                f"/api/v1/announcements/{note_id}/reactions/%F0%9F%91%8D", headers=auth(alice_token)
            )
            message, _ = await wait_for_message(
                socket, lambda m: m.get("event") == "announcement.reaction"
            )
            assert json.loads(message["payload"]) == {
                "name": "\N{THUMBS UP SIGN}",
                "count": 1,
                "announcement_id": note_id,
            }
            await http.delete(f"/api/v1/admin/announcements/{note_id}", headers=auth(boss))
            message, _ = await wait_for_message(
                socket, lambda m: m.get("event") == "announcement.delete"
            )
            assert message["payload"] == note_id
