"""Distributed mode: the web process only queues; a real `connecthub worker` process
encrypts and sends the push (the request never does)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import start_connecthub, stop_process
from tests.engines import redis_url
from tests.push.support import Device, PushService
from tests.push.test_delivery import subscribe
from tests.social_factories import post_status, user_with_token
from tests.timelines.support import settle

if TYPE_CHECKING:
    from tests.conftest import TestEnv

# The durable queue needs Redis: the test's own when the run has one, else the local one
# every session of this project has running.
QUEUE_REDIS_URL = redis_url() or "redis://127.0.0.1:6379/0"
TEST_HOSTS = "127.0.0.1"


@pytest.mark.processes
async def test_a_worker_process_sends_the_push(test_env: TestEnv, app_factory: Any) -> None:
    log_path = test_env.workdir / "push-worker.log"
    with PushService() as service:
        async with app_factory(
            REDIS_URL=QUEUE_REDIS_URL, JOBS_IN_SERVER=False, PUSH_ENDPOINT_TEST_HOSTS=TEST_HOSTS
        ) as (app, client):
            _alice, token = await user_with_token(app, "alice")
            _bob, bob_token = await user_with_token(app, "bob")
            device = Device()
            await subscribe(client, token, device, service.endpoint())
            await post_status(client, bob_token, "@alice from the worker")
            assert service.none_waiting()  # nothing sent by the web process itself

            worker = start_connecthub(
                "worker", "--concurrency", "2",
                env=test_env.environ(
                    REDIS_URL=QUEUE_REDIS_URL, PUSH_ENDPOINT_TEST_HOSTS=TEST_HOSTS
                ),
                output=log_path,
            )  # fmt: skip
            try:
                payload = device.decrypt(await service.next())
                await settle(app)
            finally:
                stop_process(worker)
    assert payload["notification_type"] == "mention", log_path.read_text()
    assert payload["body"] == "@alice from the worker"
    assert payload["access_token"] == token
