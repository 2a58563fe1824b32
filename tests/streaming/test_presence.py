"""Presence (ConnectHub extension): online followed accounts over REST and as `presence`
events, typing indicators in direct conversations, and the privacy setting that hides
both. With Redis the accounts connect through two server processes."""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def _presence_of(account_id: int, online: bool) -> object:
    return lambda m: (
        m["event"] == "presence"
        and payload(m)
        == {
            "account_id": str(account_id),
            "online": online,
        }
    )


async def test_followed_accounts_come_online_and_go_offline(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    alice, alice_token = await user_with_token(factory_app, "alice")
    bob, bob_token = await user_with_token(factory_app, "bob")
    carol, carol_token = await user_with_token(factory_app, "carol")
    await follow(factory_app, alice.id, bob.id)
    await follow(factory_app, alice.id, carol.id)
    with servers(test_env, 2 if _redis() else 1) as started:
        here, there = started[0], started[-1]
        hidden = await api(
            there,
            "PATCH",
            "/api/v1/connecthub/presence_settings",
            carol_token,
            json={"hide_presence": True},
        )
        assert hidden.json() == {"hide_presence": True}
        async with websocket(here, alice_token, query={"stream": "user"}) as alice_ws:
            await subscribed(alice_ws, here, alice_token)
            assert (await api(here, "GET", "/api/v1/connecthub/presence", alice_token)).json() == []
            async with websocket(there, carol_token, query={"stream": "user"}) as carol_ws:
                await subscribed(carol_ws, there, carol_token)
                async with websocket(there, bob_token, query={"stream": "user"}) as bob_ws:
                    await subscribed(bob_ws, there, bob_token)
                    _, before = await wait_for_message(alice_ws, _presence_of(bob.id, True))
                    # Carol connected first but hides her presence: never announced.
                    assert [m for m in before if m["event"] == "presence"] == []
                    snapshot = await api(here, "GET", "/api/v1/connecthub/presence", alice_token)
                    assert snapshot.json() == [{"account_id": str(bob.id), "online": True}]
                    # A second connection of bob's changes nothing; closing it neither.
                    async with websocket(there, bob_token) as second:
                        await subscribed(second, there, bob_token)
                await wait_for_message(alice_ws, _presence_of(bob.id, False))
                snapshot = await api(here, "GET", "/api/v1/connecthub/presence", alice_token)
                assert snapshot.json() == []


async def test_typing_reaches_the_other_participants(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    _alice, alice_token = await user_with_token(factory_app, "alice")
    bob, bob_token = await user_with_token(factory_app, "bob")
    with servers(test_env, 2 if _redis() else 1) as started:
        here, there = started[0], started[-1]
        await post_status(there, bob_token, "@alice psst", visibility="direct")
        bob_view = (await api(there, "GET", "/api/v1/conversations", bob_token)).json()[0]["id"]
        alice_view = (await api(here, "GET", "/api/v1/conversations", alice_token)).json()[0]["id"]
        async with websocket(here, alice_token, query={"stream": "user"}) as alice_ws:
            await subscribed(alice_ws, here, alice_token)
            async with websocket(there, bob_token) as bob_ws:
                await subscribed(bob_ws, there, bob_token)
                typed = await api(
                    there, "POST", f"/api/v1/connecthub/conversations/{bob_view}/typing", bob_token
                )
                assert typed.status_code == 200, typed.text
                assert typed.json()["conversation_id"] == bob_view
                message, _ = await wait_for_message(alice_ws, lambda m: m["event"] == "typing")
                assert payload(message) == {
                    "conversation_id": alice_view,
                    "account_id": str(bob.id),
                    "typing": True,
                    "expires_in": 6,
                }
            # Bob's connection dropped while typing: the indicator is withdrawn.
            stopped, _ = await wait_for_message(
                alice_ws, lambda m: m["event"] == "typing" and not payload(m)["typing"]
            )
            assert payload(stopped)["account_id"] == str(bob.id)
        other = await api(
            here, "POST", f"/api/v1/connecthub/conversations/{alice_view}/typing", bob_token
        )
        assert other.status_code == 404  # someone else's view of the conversation


async def test_hidden_presence_hides_typing_and_bad_settings_are_refused(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    _alice, alice_token = await user_with_token(factory_app, "alice")
    _bob, bob_token = await user_with_token(factory_app, "bob")
    with servers(test_env, 1) as (server,):
        bad = await api(
            server,
            "PATCH",
            "/api/v1/connecthub/presence_settings",
            bob_token,
            json={"hide_presence": "maybe"},
        )
        assert bad.status_code == 422
        assert "hide_presence" in bad.json()["error"]
        await api(
            server,
            "PATCH",
            "/api/v1/connecthub/presence_settings",
            bob_token,
            json={"hide_presence": True},
        )
        current = await api(server, "GET", "/api/v1/connecthub/presence_settings", bob_token)
        assert current.json() == {"hide_presence": True}
        await post_status(server, bob_token, "@alice psst", visibility="direct")
        bob_view = (await api(server, "GET", "/api/v1/conversations", bob_token)).json()[0]["id"]
        async with websocket(server, alice_token, query={"stream": "user"}) as alice_ws:
            await subscribed(alice_ws, server, alice_token)
            await api(
                server, "POST", f"/api/v1/connecthub/conversations/{bob_view}/typing", bob_token
            )
            fence = await post_status(server, bob_token, "@alice again", visibility="direct")
            _, before = await wait_for_message(
                alice_ws,
                lambda m: (
                    m["event"] == "conversation" and payload(m)["last_status"]["id"] == fence["id"]
                ),
            )
        assert [m for m in before if m["event"] == "typing"] == []


def _redis() -> bool:
    return multi_process()
