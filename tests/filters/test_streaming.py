"""`filters_changed` arrives, without a payload (as Mastodon sends it), on the owner's
user stream after each change to their filters, and on nobody else's."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI

from tests.social_factories import user_with_token
from tests.streaming.support import api, servers, subscribed, wait_for_message, websocket

if TYPE_CHECKING:
    from tests.conftest import TestEnv

pytestmark = pytest.mark.slow


async def test_filters_changed_on_the_user_stream(test_env: TestEnv, factory_app: FastAPI) -> None:
    _alice, alice_token = await user_with_token(factory_app, "alice")
    _bob, bob_token = await user_with_token(factory_app, "bob")
    with servers(test_env, 1) as (server,):
        async with (
            websocket(server, alice_token, query={"stream": "user"}) as alice_ws,
            websocket(server, bob_token, query={"stream": "user"}) as bob_ws,
        ):
            await subscribed(alice_ws, server, alice_token)
            await subscribed(bob_ws, server, bob_token)
            created = await api(
                server,
                "POST",
                "/api/v2/filters",
                alice_token,
                json={
                    "title": "t",
                    "context": ["home"],
                    "keywords_attributes": [{"keyword": "a"}, {"keyword": "b"}],
                },
            )
            assert created.status_code == 200, created.text
            message, _ = await wait_for_message(
                alice_ws, lambda m: m.get("event") == "filters_changed"
            )
            assert message == {"stream": ["user"], "event": "filters_changed"}

            keyword_id = created.json()["keywords"][0]["id"]
            deleted = await api(
                server, "DELETE", f"/api/v2/filters/keywords/{keyword_id}", alice_token
            )
            assert deleted.status_code == 200
            again, before = await wait_for_message(
                alice_ws, lambda m: m.get("event") == "filters_changed"
            )
            assert "payload" not in again
            assert before == []  # one event per change, not one per row

            # Bob's stream carried none of it: a change of his own is the next thing he sees.
            mine = await api(
                server,
                "POST",
                "/api/v1/filters",
                bob_token,
                json={"phrase": "x", "context": ["home"]},
            )
            assert mine.status_code == 200, mine.text
            first, before = await wait_for_message(bob_ws, lambda m: "event" in m)
            assert first["event"] == "filters_changed" and before == []
