"""Mastodon.py end to end: subscribe with keys it generates, receive a mention at the
loopback push service and decrypt it with Mastodon.py's own decrypter, change and remove
the subscription."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from mastodon import Mastodon

from tests.push.support import WAIT_SECONDS, PushService, vapid_claims
from tests.servers import InProcessServer, start_inprocess_server
from tests.social_factories import user_with_token

pytestmark = pytest.mark.slow  # over the fast loop's bar (tests/conftest.py)

if TYPE_CHECKING:
    from tests.conftest import TestEnv


@pytest.fixture
def push_server(test_env: TestEnv) -> Iterator[InProcessServer]:
    server = start_inprocess_server(test_env, PUSH_ENDPOINT_TEST_HOSTS="127.0.0.1")
    yield server
    server.stop()


def _session(url: str, alice_token: str, bob_token: str, service: PushService) -> dict[str, Any]:
    alice = Mastodon(access_token=alice_token, api_base_url=url)
    bob = Mastodon(access_token=bob_token, api_base_url=url)
    private, public = alice.push_subscription_generate_keys()
    result: dict[str, Any] = {}
    result["set"] = alice.push_subscription_set(
        service.endpoint("alice"),
        public,
        mention_events=True,
        favourite_events=True,
        follow_events=False,
        policy="all",
    )
    result["shown"] = alice.push_subscription()
    result["instance"] = alice.instance_v2()
    bob.status_post("@alice push me a note")
    message = service.received.get(True, WAIT_SECONDS)
    result["claims"] = vapid_claims(message, result["set"]["server_key"])
    result["decrypted"] = alice.push_subscription_decrypt_push(
        message.body, private, message.headers["encryption"], message.headers["crypto-key"]
    )
    result["notifications"] = alice.notifications()
    result["updated"] = alice.push_subscription_update(
        favourite_events=False, follow_events=True, policy="followed"
    )
    alice.push_subscription_delete()
    try:
        alice.push_subscription()
    except Exception as error:  # Mastodon.py raises MastodonNotFoundError
        result["after_delete"] = type(error).__name__
    result["waiting"] = not service.received.empty()
    return result


@pytest.mark.slow
async def test_mastodon_py_push(app_factory: Any, push_server: InProcessServer) -> None:
    # With Redis this app's job worker takes jobs from the same queue as the server's: it
    # must be configured as the server is (the push service allowed, the same domain).
    domain = push_server.url.removeprefix("http://")
    async with app_factory(PUSH_ENDPOINT_TEST_HOSTS="127.0.0.1", LOCAL_DOMAIN=domain) as (
        app,
        _client,
    ):
        _alice, alice_token = await user_with_token(app, "alice")
        _bob, bob_token = await user_with_token(app, "bob")
        with PushService() as service:
            result = await asyncio.to_thread(
                _session, push_server.url, alice_token, bob_token, service
            )

    created = result["set"]
    assert created["endpoint"] == service.endpoint("alice")
    assert created["server_key"] == result["instance"]["configuration"]["vapid"]["public_key"]
    assert (created["alerts"]["mention"], created["alerts"]["follow"]) == (True, False)
    assert created["policy"] == "all"
    assert result["shown"]["id"] == created["id"]

    decrypted = result["decrypted"]
    [notification] = result["notifications"]
    assert decrypted["access_token"] == alice_token
    assert decrypted["notification_type"] == "mention"
    assert str(decrypted["notification_id"]) == str(notification["id"])
    assert decrypted["body"] == "@alice push me a note"
    assert decrypted["title"] == "bob mentioned you"
    assert decrypted["icon"] == notification["account"]["avatar_static"]
    assert decrypted["preferred_locale"] == "en"
    assert result["claims"]["aud"] == f"http://127.0.0.1:{service.port}"

    updated = result["updated"]
    assert updated["id"] == created["id"]
    assert (updated["alerts"]["favourite"], updated["alerts"]["follow"]) == (False, True)
    assert updated["alerts"]["mention"] is False  # an update replaces the alerts
    assert updated["policy"] == "followed"  # Mastodon.py sends `policy` at the top level
    assert result["after_delete"] == "MastodonNotFoundError"
    assert result["waiting"] is False
