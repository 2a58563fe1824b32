"""`filters_changed` arrives, without a payload (as Mastodon sends it), on the owner's
user stream after each change to their filters, and on nobody else's; streamed statuses
respect the recipient's filters (hide: left out; warn: marked)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from tests.social_factories import follow, user_with_token
from tests.streaming.support import (
    api,
    multi_process,
    payload,
    post_status,
    servers,
    subscribed,
    wait_for_message,
    websocket,
)

if TYPE_CHECKING:
    from tests.conftest import TestEnv


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
            assert first["event"] == "filters_changed"
            assert before == []


async def test_streamed_updates_respect_the_recipients_filters(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    alice, alice_token = await user_with_token(factory_app, "alice")
    bob, bob_token = await user_with_token(factory_app, "bob")
    await follow(factory_app, alice.id, bob.id)
    with servers(test_env, 1) as (server,):
        async with websocket(server, alice_token, query={"stream": "user"}) as ws:
            await subscribed(ws, server, alice_token)
            first = await post_status(server, bob_token, "first of the day")
            await wait_for_message(ws, lambda m: _update_of(m, first["id"]))

            # Alice's rules were read (none) for that status; a new filter applies at once.
            hiding = {"title": "h", "context": ["home"], "filter_action": "hide"}
            hidden = await api(
                server,
                "POST",
                "/api/v2/filters",
                alice_token,
                json={**hiding, "keywords_attributes": [{"keyword": "secret"}]},
            )
            assert hidden.status_code == 200, hidden.text
            await wait_for_message(ws, lambda m: m.get("event") == "filters_changed")
            warning = {
                "title": "w",
                "context": ["home"],
                "keywords_attributes": [{"keyword": "soup"}],
            }
            warned = await api(server, "POST", "/api/v2/filters", alice_token, json=warning)
            assert warned.status_code == 200, warned.text
            await wait_for_message(ws, lambda m: m.get("event") == "filters_changed")

            secret = await post_status(server, bob_token, "a secret recipe")
            soup = await post_status(server, bob_token, "tomato soup")
            message, before = await wait_for_message(ws, lambda m: _update_of(m, soup["id"]))
    assert not [m for m in before if _update_of(m, secret["id"])]
    [result] = payload(message)["filtered"]
    assert result["filter"]["id"] == warned.json()["id"]
    assert result["keyword_matches"] == ["soup"]


def _update_of(message: dict[str, Any], status_id: str) -> bool:
    return message.get("event") == "update" and payload(message)["id"] == status_id


async def test_a_topic_only_connection_on_another_process_applies_a_new_filter_at_once(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    """Alice listens to `public` only, on one server process; she adds a `hide` filter
    through another. The process holding her socket kept her (empty) rules from the last
    post and has no user stream of hers to hear `filters_changed` on: the account's control
    channel tells it, so the very next matching post is left out."""
    _alice, alice_token = await user_with_token(factory_app, "alice")
    _bob, bob_token = await user_with_token(factory_app, "bob")
    count = 2 if multi_process() else 1
    with servers(test_env, count) as started:
        streaming, writing = started[0], started[-1]
        async with websocket(streaming, alice_token, query={"stream": "public"}) as ws:
            await subscribed(ws, streaming, alice_token)
            first = await post_status(writing, bob_token, "nothing to hide")
            await wait_for_message(ws, lambda m: _update_of(m, first["id"]))

            hiding = {
                "title": "h",
                "context": ["public"],
                "filter_action": "hide",
                "keywords_attributes": [{"keyword": "spoiler"}],
            }
            created = await api(writing, "POST", "/api/v2/filters", alice_token, json=hiding)
            assert created.status_code == 200, created.text
            hidden = await post_status(writing, bob_token, "a spoiler for tonight")
            shown = await post_status(writing, bob_token, "the weather tomorrow")
            _message, before = await wait_for_message(ws, lambda m: _update_of(m, shown["id"]))
    assert not [m for m in before if _update_of(m, hidden["id"])]
