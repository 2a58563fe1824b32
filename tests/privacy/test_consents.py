"""Consent per optional purpose (ConnectHub extension): read, grant, withdraw, history;
withdrawing presence consent stops presence events at once (with Redis, across two
server processes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI

from tests.accounts.support import bearer
from tests.conftest import running_app
from tests.factories import create_token
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

CONSENTS = "/api/v1/connecthub/consents"


@pytest.fixture
async def factory_app(test_env: TestEnv) -> AsyncIterator[FastAPI]:
    """The app in this process, on the live servers' database: writes fixtures only."""
    async with running_app(test_env) as (app, _client):
        yield app


def _presence_of(account_id: int, online: bool) -> object:
    return lambda m: (
        m["event"] == "presence" and payload(m) == {"account_id": str(account_id), "online": online}
    )


async def test_optional_purposes_are_granted_and_withdrawn_with_history(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account, token = await user_with_token(app, "carla")
    states = (await client.get(CONSENTS, headers=bearer(token))).json()
    assert [(s["purpose"], s["granted"], s["updated_at"]) for s in states] == [
        ("analytics", False, None),
        ("email_digests", False, None),
        ("presence", True, None),
    ]
    granted = await client.post(f"{CONSENTS}/analytics", headers=bearer(token))
    assert granted.status_code == 200, granted.text
    assert granted.json()["granted"] is True
    # Granting twice records once.
    await client.post(f"{CONSENTS}/analytics", headers=bearer(token))
    withdrawn = await client.delete(f"{CONSENTS}/analytics", headers=bearer(token))
    assert withdrawn.json()["granted"] is False
    assert (await client.get(f"{CONSENTS}/analytics", headers=bearer(token))).json()[
        "granted"
    ] is False
    history = (await client.get(f"{CONSENTS}/history", headers=bearer(token))).json()
    assert [(h["purpose"], h["method"], h["withdrawn_at"] is not None) for h in history] == [
        ("analytics", "api", True)
    ]
    assert history[0]["policy_version"] == app.state.engines.settings.terms_version

    unknown = await client.post(f"{CONSENTS}/tracking", headers=bearer(token))
    assert unknown.status_code == 404
    assert "tracking" in unknown.json()["error"]
    read_only = await create_token(app, account.id, scopes=frozenset({"read"}))
    assert (
        await client.post(f"{CONSENTS}/analytics", headers=bearer(read_only))
    ).status_code == 403
    assert (await client.get(CONSENTS)).status_code == 401


async def test_withdrawing_presence_consent_stops_presence_events_at_once(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    alice, alice_token = await user_with_token(factory_app, "alice")
    bob, bob_token = await user_with_token(factory_app, "bob")
    await follow(factory_app, alice.id, bob.id)
    with servers(test_env, 2 if multi_process() else 1) as started:
        here, there = started[0], started[-1]
        async with websocket(here, alice_token, query={"stream": "user"}) as alice_ws:
            await subscribed(alice_ws, here, alice_token)
            async with websocket(there, bob_token, query={"stream": "user"}) as bob_ws:
                await subscribed(bob_ws, there, bob_token)
                await wait_for_message(alice_ws, _presence_of(bob.id, True))
                withdrawn = await api(there, "DELETE", f"{CONSENTS}/presence", bob_token)
                assert withdrawn.status_code == 200, withdrawn.text
                assert withdrawn.json()["granted"] is False
                # At once: bob's followers see him leave while he is still connected.
                await wait_for_message(alice_ws, _presence_of(bob.id, False))
                online = await api(here, "GET", "/api/v1/connecthub/presence", alice_token)
                assert online.json() == []
                # A new connection of his announces nothing, nor does closing it.
                async with websocket(there, bob_token) as again:
                    await subscribed(again, there, bob_token)
            fence = await post_status(there, bob_token, "still here")
            _, before = await wait_for_message(
                alice_ws,
                lambda m: m["event"] == "update" and payload(m)["id"] == fence["id"],
            )
            assert [m for m in before if m["event"] == "presence"] == []
            setting = await api(there, "GET", "/api/v1/connecthub/presence_settings", bob_token)
            assert setting.json() == {"hide_presence": True}
            history = (await api(there, "GET", f"{CONSENTS}/history", bob_token)).json()
            assert [(h["purpose"], h["method"]) for h in history] == [("presence", "default")]
            assert history[0]["withdrawn_at"] is not None

            # Granted again: shown online again from his next connection.
            regranted = await api(there, "POST", f"{CONSENTS}/presence", bob_token)
            assert regranted.json()["granted"] is True
            async with websocket(there, bob_token) as back:
                await subscribed(back, there, bob_token)
                await wait_for_message(alice_ws, _presence_of(bob.id, True))
