"""`/api/v1/push/subscription` through the HTTP API, as a Mastodon app calls it."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import create_token
from tests.push.support import Device, unb64
from tests.social_factories import auth, user_with_token

ENDPOINT = "https://push.example.net/send/abc"
TEST_HOSTS = {"PUSH_ENDPOINT_TEST_HOSTS": "127.0.0.1"}


def body(device: Device, endpoint: str = ENDPOINT, **data: Any) -> dict[str, Any]:
    return {"subscription": {"endpoint": endpoint, "keys": device.keys()}, "data": data}


async def server_key(client: httpx.AsyncClient) -> str:
    response = await client.get("/api/v2/instance")
    key: str = response.json()["configuration"]["vapid"]["public_key"]
    return key


async def test_subscribe_show_update_delete(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    device = Device()
    assert (await client.get("/api/v1/push/subscription", headers=auth(token))).status_code == 404

    created = await client.post(
        "/api/v1/push/subscription",
        json=body(device, alerts={"mention": True, "favourite": "true", "admin.sign_up": True}),
        headers=auth(token),
    )
    assert created.status_code == 200, created.text
    entity = created.json()
    assert entity == {
        "id": entity["id"],
        "endpoint": ENDPOINT,
        "standard": False,
        "alerts": {
            "mention": True,
            "status": False,
            "reblog": False,
            "follow": False,
            "follow_request": False,
            "favourite": True,
            "poll": False,
            "update": False,
            "admin.sign_up": True,
            "admin.report": False,
        },
        "server_key": await server_key(client),
        "policy": "all",
    }
    assert isinstance(entity["id"], str)
    assert len(entity["server_key"]) == 87  # a P-256 point, base64url

    shown = await client.get("/api/v1/push/subscription", headers=auth(token))
    assert shown.json() == entity

    # PUT replaces what is pushed (alerts not given are off), as Mastodon's update does.
    updated = await client.put(
        "/api/v1/push/subscription",
        json={"data": {"alerts": {"follow": True}, "policy": "followed"}},
        headers=auth(token),
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["policy"] == "followed"
    assert [k for k, on in updated.json()["alerts"].items() if on] == ["follow"]
    assert updated.json()["endpoint"] == ENDPOINT

    deleted = await client.delete("/api/v1/push/subscription", headers=auth(token))
    assert (deleted.status_code, deleted.json()) == (200, {})
    assert (await client.get("/api/v1/push/subscription", headers=auth(token))).status_code == 404
    assert (
        await client.put("/api/v1/push/subscription", json={}, headers=auth(token))
    ).status_code == 404
    # Deleting nothing is not an error (Mastodon answers {} too).
    again = await client.delete("/api/v1/push/subscription", headers=auth(token))
    assert again.status_code == 200


async def test_form_parameters_as_mastodon_apps_send_them(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, token = await user_with_token(app, "alice")
    device = Device()
    # Standard base64 with padding, as Mastodon.py encodes the keys.
    standard_p256dh = base64.b64encode(unb64(device.p256dh)).decode()
    standard_auth = base64.b64encode(device.auth).decode()
    form = {
        "subscription[endpoint]": ENDPOINT,
        "subscription[keys][p256dh]": standard_p256dh,
        "subscription[keys][auth]": standard_auth,
        "subscription[standard]": "true",
        "data[alerts][reblog]": "1",
        "data[alerts][poll]": "false",
        "data[policy]": "follower",
    }
    response = await client.post("/api/v1/push/subscription", data=form, headers=auth(token))
    assert response.status_code == 200, response.text
    entity = response.json()
    assert (entity["standard"], entity["policy"]) == (True, "follower")
    assert (entity["alerts"]["reblog"], entity["alerts"]["poll"]) == (True, False)


async def test_one_subscription_per_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    other_token = await create_token(app, alice.id)
    _bob, bob_token = await user_with_token(app, "bob")

    first = await client.post("/api/v1/push/subscription", json=body(Device()), headers=auth(token))
    second = await client.post(
        "/api/v1/push/subscription",
        json=body(Device(), "https://push.example.net/send/second"),
        headers=auth(token),
    )
    assert first.json()["id"] != second.json()["id"]
    shown = await client.get("/api/v1/push/subscription", headers=auth(token))
    assert shown.json()["endpoint"] == "https://push.example.net/send/second"

    # Another token of the same person, and another person, have none of their own.
    for other in (other_token, bob_token):
        response = await client.get("/api/v1/push/subscription", headers=auth(other))
        assert response.status_code == 404
        deleted = await client.delete("/api/v1/push/subscription", headers=auth(other))
        assert deleted.status_code == 200
    still = await client.get("/api/v1/push/subscription", headers=auth(token))
    assert still.json()["id"] == second.json()["id"]


async def test_scope_push_is_required(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, _token = await user_with_token(app, "alice")
    read_write = await create_token(app, alice.id, scopes=frozenset({"read", "write"}))
    for method in ("GET", "POST", "PUT", "DELETE"):
        response = await client.request(
            method, "/api/v1/push/subscription", headers=auth(read_write)
        )
        assert response.status_code == 403, (method, response.text)
        anonymous = await client.request(method, "/api/v1/push/subscription")
        assert anonymous.status_code == 401, method


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subscription": {"keys": {}}}, "subscription[endpoint]"),
        ({"subscription": "x"}, "subscription"),
        ({"endpoint": "http://push.example.net/x"}, "subscription[endpoint]"),
        ({"endpoint": "https://10.1.2.3/x"}, "subscription[endpoint]"),
        ({"endpoint": "https://[::ffff:127.0.0.1]/x"}, "subscription[endpoint]"),
        ({"endpoint": "https://169.254.169.254/latest"}, "subscription[endpoint]"),
        ({"endpoint": "ftp://push.example.net/x"}, "subscription[endpoint]"),
        ({"endpoint": "https://user:pw@push.example.net/x"}, "subscription[endpoint]"),
        ({"p256dh": "bm90IGEga2V5"}, "subscription[keys][p256dh]"),
        ({"p256dh": "%%%"}, "subscription[keys][p256dh]"),
        ({"auth": "c2hvcnQ"}, "subscription[keys][auth]"),
        ({"data": {"policy": "friends"}}, "data[policy]"),
        ({"data": {"alerts": {"mention": "maybe"}}}, "data[alerts][mention]"),
        ({"data": {"alerts": ["mention"]}}, "alerts"),
        ({"standard": "sometimes"}, "subscription[standard]"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    _alice, token = await user_with_token(app, "alice")
    payload = body(Device())
    subscription = payload["subscription"]
    if "subscription" in change:
        payload["subscription"] = change["subscription"]
    for key in ("endpoint", "standard"):
        if key in change:
            subscription[key] = change[key]
    for key in ("p256dh", "auth"):
        if key in change:
            subscription["keys"][key] = change[key]
    if "data" in change:
        payload["data"] = change["data"]
    response = await client.post("/api/v1/push/subscription", json=payload, headers=auth(token))
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]
    assert (await client.get("/api/v1/push/subscription", headers=auth(token))).status_code == 404


async def test_loopback_endpoints_only_for_named_test_hosts(app_factory: Any) -> None:
    device = Device()
    async with app_factory() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        refused = await client.post(
            "/api/v1/push/subscription",
            json=body(device, "http://127.0.0.1:9/push"),
            headers=auth(token),
        )
        assert refused.status_code == 422
    async with app_factory(**TEST_HOSTS) as (app, client):
        _bob, token = await user_with_token(app, "bob")
        allowed = await client.post(
            "/api/v1/push/subscription",
            json=body(device, "http://127.0.0.1:9/push"),
            headers=auth(token),
        )
        assert allowed.status_code == 200, allowed.text


async def test_vapid_key_is_one_per_instance_and_shown_everywhere(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    key = await server_key(client)
    assert key
    registered = await client.post(
        "/api/v1/apps",
        json={"client_name": "Pusher", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
    )
    assert registered.json()["vapid_key"] == key
    app_token = await create_token(app, None, application_id=int(registered.json()["id"]))
    shown = await client.get("/api/v1/apps/verify_credentials", headers=auth(app_token))
    assert shown.status_code == 200
    assert shown.json()["vapid_key"] == key


async def test_vapid_key_survives_a_restart_and_settings_win(app_factory: Any) -> None:
    from connecthub.push.keys import VapidKeys

    async with app_factory() as (_app, client):
        first = await server_key(client)
    async with app_factory() as (_app, client):
        assert await server_key(client) == first
    configured = VapidKeys.generate()
    async with app_factory(VAPID_PRIVATE_KEY=configured.private_key) as (_app, client):
        assert await server_key(client) == configured.public_key


async def test_the_first_start_makes_the_key_pair_and_later_starts_read_it(
    app_factory: Any,
) -> None:
    """The test template holds a key pair (tests/engines.py, TEMPLATE_SEED), so here the
    database is first left without one, as an instance's is before its first start."""
    from sqlalchemy import delete, select

    from connecthub.push.models import VapidKeyPair

    async with app_factory() as (app, client):
        seeded = await server_key(client)
        async with app.state.engines.db.transaction() as session:
            await session.execute(delete(VapidKeyPair))
    async with app_factory() as (app, client):
        made = await server_key(client)
        assert made != seeded
        async with app.state.engines.db.session() as session:
            rows = (await session.execute(select(VapidKeyPair))).scalars().all()
        assert [(row.id, row.public_key) for row in rows] == [(1, made)]
    async with app_factory() as (_app, client):
        assert await server_key(client) == made


async def test_rotating_the_vapid_key_removes_subscriptions(
    app_factory: Any, test_env: Any
) -> None:
    import asyncio

    from tests.cli_runner import run_cli

    async with app_factory() as (app, client):
        _alice, token = await user_with_token(app, "alice")
        old = await server_key(client)
        subscribed = await client.post(
            "/api/v1/push/subscription", json=body(Device()), headers=auth(token)
        )
        assert subscribed.json()["server_key"] == old
    result = await asyncio.to_thread(run_cli, test_env.environ(), "admin", "rotate-vapid-key")
    assert result.returncode == 0, result.stderr
    assert "1 push subscription(s) removed" in result.stdout
    async with app_factory() as (app, client):
        new = await server_key(client)
        assert new != old
        assert f"New VAPID public key: {new}" in result.stdout
        gone = await client.get("/api/v1/push/subscription", headers=auth(token))
        assert gone.status_code == 404
