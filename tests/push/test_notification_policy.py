"""A notification the recipient's policy filtered is not pushed: the first push the device
receives is the next accepted notification, and nothing else waits."""

from __future__ import annotations

from typing import Any

import pytest

from tests.push.support import Device
from tests.push.test_delivery import pushing, subscribe
from tests.social_factories import post_status, user_with_token
from tests.timelines.support import settle

pytestmark = pytest.mark.slow  # over the fast loop's bar (tests/conftest.py)


async def test_filtered_notifications_are_not_pushed(app_factory: Any) -> None:
    async with pushing(app_factory) as (app, client, service):
        _alice, token = await user_with_token(app, "alice")
        _bob, bob_token = await user_with_token(app, "bob")
        device = Device()
        await subscribe(client, token, device, service.endpoint())
        await post_status(client, bob_token, "@alice psst", visibility="direct")
        await post_status(client, bob_token, "@alice out loud")

        pushed = device.decrypt(await service.next())
        assert pushed["body"] == "@alice out loud"
        await settle(app)
        assert service.none_waiting()
