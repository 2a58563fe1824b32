"""Notifications reach a push service: the loopback receiver (tests/push/support.py) holds
the subscriber's keys, decrypts each message and checks its VAPID signature. Jobs run as
the engines under test run them (in-process, or the Redis queue the server consumes)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.push.support import Device, PushService, vapid_claims
from tests.social_factories import auth, post_status, user_with_token
from tests.timelines.support import settle

SETTINGS = {"PUSH_ENDPOINT_TEST_HOSTS": "127.0.0.1", "JOBS_RETRY_BASE_SECONDS": "0.05"}
ALL_ALERTS = {"mention": True, "favourite": True, "follow": True, "reblog": True}


@asynccontextmanager
async def pushing(
    app_factory: Any,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, PushService]]:
    with PushService() as service:
        async with app_factory(**SETTINGS) as (app, client):
            yield app, client, service


async def subscribe(
    client: httpx.AsyncClient,
    token: str,
    device: Device,
    endpoint: str,
    *,
    standard: bool = True,
    alerts: dict[str, bool] | None = None,
    policy: str = "all",
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/push/subscription",
        json={
            "subscription": {"endpoint": endpoint, "keys": device.keys(), "standard": standard},
            "data": {"alerts": alerts or ALL_ALERTS, "policy": policy},
        },
        headers=auth(token),
    )
    assert response.status_code == 200, response.text
    entity: dict[str, Any] = response.json()
    return entity


async def notifications(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/notifications", headers=auth(token))
    result: list[dict[str, Any]] = response.json()
    return result


@pytest.mark.slow
@pytest.mark.parametrize("standard", [True, False], ids=["aes128gcm", "aesgcm"])
async def test_a_mention_arrives_encrypted_and_signed(app_factory: Any, standard: bool) -> None:
    async with pushing(app_factory) as (app, client, service):
        _alice, token = await user_with_token(app, "alice")
        _bob, bob_token = await user_with_token(app, "bob")
        named = await client.patch(
            "/api/v1/accounts/update_credentials",
            json={"display_name": "Bob B"},
            headers=auth(bob_token),
        )
        assert named.status_code == 200, named.text
        device = Device()
        subscription = await subscribe(client, token, device, service.endpoint(), standard=standard)
        await post_status(client, bob_token, "@alice the lunch is at noon")

        message = await service.next()
        assert message.path == "/push/device"
        assert message.headers["content-encoding"] == ("aes128gcm" if standard else "aesgcm")
        assert message.headers["ttl"] == "172800"
        assert message.headers["urgency"] == "normal"
        claims = vapid_claims(message, subscription["server_key"])
        assert claims["aud"] == f"http://127.0.0.1:{service.port}"
        assert claims["exp"] > time.time()
        assert claims["sub"]

        [notification] = await notifications(client, token)
        bob = notification["account"]
        assert device.decrypt(message) == {
            "access_token": token,
            "preferred_locale": "en",
            "notification_id": int(notification["id"]),
            "notification_type": "mention",
            "icon": bob["avatar_static"],
            "title": "Bob B mentioned you",
            "body": "@alice the lunch is at noon",
        }
        await settle(app)
        assert service.none_waiting()


@pytest.mark.slow
async def test_policy_followed_drops_strangers(app_factory: Any) -> None:
    async with pushing(app_factory) as (app, client, service):
        _alice, token = await user_with_token(app, "alice")
        bob, bob_token = await user_with_token(app, "bob")
        carol, carol_token = await user_with_token(app, "carol")
        followed = await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=auth(token))
        assert followed.status_code == 200
        device = Device()
        await subscribe(client, token, device, service.endpoint(), policy="followed")
        status = await post_status(client, token, "mine")

        stranger = await client.post(
            f"/api/v1/statuses/{status['id']}/favourite", headers=auth(carol_token)
        )
        assert stranger.status_code == 200
        await settle(app)
        assert service.none_waiting()  # carol's favourite: no push (alice does not follow her)

        friend = await client.post(
            f"/api/v1/statuses/{status['id']}/favourite", headers=auth(bob_token)
        )
        assert friend.status_code == 200
        payload = device.decrypt(await service.next())
        assert (payload["notification_type"], payload["body"]) == ("favourite", "mine")
        kinds = {(n["type"], n["account"]["id"]) for n in await notifications(client, token)}
        assert kinds == {("favourite", str(bob.id)), ("favourite", str(carol.id))}
        await settle(app)
        assert service.none_waiting()


@pytest.mark.slow
async def test_alerts_choose_the_types(app_factory: Any) -> None:
    async with pushing(app_factory) as (app, client, service):
        alice, token = await user_with_token(app, "alice")
        _bob, bob_token = await user_with_token(app, "bob")
        device = Device()
        await subscribe(
            client,
            token,
            device,
            service.endpoint(),
            standard=False,
            alerts={"favourite": False, "mention": True, "follow": True},
        )
        status = await post_status(client, token, "mine")
        liked = await client.post(
            f"/api/v1/statuses/{status['id']}/favourite", headers=auth(bob_token)
        )
        assert liked.status_code == 200
        await settle(app)
        assert service.none_waiting()

        await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=auth(bob_token))
        payload = device.decrypt(await service.next())
        assert payload["notification_type"] == "follow"
        assert payload["title"] == "bob followed you"


@pytest.mark.slow
async def test_gone_removes_the_subscription(app_factory: Any) -> None:
    async with pushing(app_factory) as (app, client, service):
        _alice, token = await user_with_token(app, "alice")
        _bob, bob_token = await user_with_token(app, "bob")
        await subscribe(client, token, Device(), service.endpoint())
        service.script = [410]
        await post_status(client, bob_token, "@alice are you there?")
        await service.next()
        await settle(app)
        shown = await client.get("/api/v1/push/subscription", headers=auth(token))
        assert shown.status_code == 404
        await post_status(client, bob_token, "@alice hello?")
        await settle(app)
        assert service.none_waiting()


@pytest.mark.slow
async def test_server_errors_are_retried(app_factory: Any) -> None:
    async with pushing(app_factory) as (app, client, service):
        _alice, token = await user_with_token(app, "alice")
        _bob, bob_token = await user_with_token(app, "bob")
        device = Device()
        await subscribe(client, token, device, service.endpoint())
        service.script = [500, 429]
        await post_status(client, bob_token, "@alice third time lucky")
        attempts = [device.decrypt(await service.next()) for _ in range(3)]
        assert len({a["notification_id"] for a in attempts}) == 1
        assert attempts[0]["notification_type"] == "mention"
        await settle(app)
        shown = await client.get("/api/v1/push/subscription", headers=auth(token))
        assert shown.status_code == 200


@pytest.mark.slow
async def test_a_revoked_token_gets_no_push(app_factory: Any) -> None:
    from sqlalchemy import func, select, update

    from connecthub.accounts.models import OAuthToken
    from connecthub.push.models import WebPushSubscription

    async with pushing(app_factory) as (app, client, service):
        alice, token = await user_with_token(app, "alice")
        _bob, bob_token = await user_with_token(app, "bob")
        await subscribe(client, token, Device(), service.endpoint())
        async with app.state.engines.db.transaction() as session:
            await session.execute(
                update(OAuthToken)
                .where(OAuthToken.account_id == alice.id)
                .values(revoked_at=func.now())
            )
        await post_status(client, bob_token, "@alice still there?")
        await settle(app)
        assert service.none_waiting()
        async with app.state.engines.db.session() as session:
            left = await session.scalar(select(func.count()).select_from(WebPushSubscription))
        assert left == 0


@pytest.mark.slow
async def test_private_addresses_are_refused_on_the_way_out() -> None:
    """Without the test-host setting, a name that resolves to loopback is never called,
    and neither is a private literal (checked again at send time)."""
    import aiohttp

    from connecthub.push import delivery, sending
    from connecthub.push.keys import VapidKeys

    device = Device()
    keys = VapidKeys.generate()
    with PushService() as service:
        for endpoint, error in [
            (f"https://localhost:{service.port}/push/x", (aiohttp.ClientError, OSError)),
            (f"http://127.0.0.1:{service.port}/push/x", (delivery.EndpointRefused,)),
            (f"https://127.0.0.1:{service.port}/push/x", (delivery.EndpointRefused,)),
        ]:
            message = delivery.Message(endpoint, device.p256dh, device.keys()["auth"], True, b"{}")
            with pytest.raises(error):
                await sending.send(message, keys, "mailto:ops@example.net", frozenset())
        assert service.none_waiting()
