"""Mastodon.py's `stream_user` as a real client would use it: a listener connected to one
server process receives what another account does through ANOTHER server process.

Server processes share events through Redis (distributed mode): with TEST_REDIS_URL set
this test starts two servers on the same engines (two apps with their own engines, in
threads of the test process, sharing nothing but the database and Redis, as processes
would). In embedded mode one process is the whole deployment (events are in-process), so
the same test runs with the listener and the actor on that one server: `actor_server`
says which ran.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI
from mastodon import Mastodon, StreamListener

from tests.social_factories import follow, user_with_token
from tests.streaming.support import WAIT_SECONDS, multi_process, post_status, servers

if TYPE_CHECKING:
    from tests.conftest import TestEnv


class Collector(StreamListener):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.ready = threading.Event()

    def on_update(self, status: Any) -> None:
        self.events.put(("update", status))

    def on_notification(self, notification: Any) -> None:
        self.events.put(("notification", notification))

    def on_conversation(self, conversation: Any) -> None:
        self.events.put(("conversation", conversation))

    def handle_heartbeat(self) -> None:
        self.ready.set()


def _wait_for(collector: Collector, kind: str, status_id: str | None = None) -> Any:
    """The next event of `kind` (about `status_id` when given). Other events are skipped:
    the fan-out job delivers earlier posts' `update`s in no fixed order with later events."""
    while True:
        name, item = collector.events.get(timeout=WAIT_SECONDS)
        if name == kind and (status_id is None or str(item["id"]) == status_id):
            return item


@pytest.mark.slow
async def test_stream_user_receives_events_made_through_another_process(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    alice, alice_token = await user_with_token(factory_app, "alice")
    bob, bob_token = await user_with_token(factory_app, "bob")
    await follow(factory_app, alice.id, bob.id)
    count = 2 if multi_process() else 1
    with servers(test_env, count, STREAMING_HEARTBEAT_SECONDS="0.2") as started:
        listener_server, actor_server = started[0], started[-1]
        assert (listener_server is not actor_server) == multi_process()
        client = Mastodon(
            access_token=alice_token,
            api_base_url=listener_server.url,
            version_check_mode="none",
        )
        collector = Collector()
        handle = await asyncio.to_thread(client.stream_user, collector, run_async=True)
        try:
            # A heartbeat proves the stream is open (and subscribed) before bob acts.
            assert await asyncio.to_thread(collector.ready.wait, WAIT_SECONDS)
            mention = await post_status(actor_server, bob_token, "@alice hi there")
            notification = await asyncio.to_thread(_wait_for, collector, "notification")
            assert notification["type"] == "mention"
            assert str(notification["status"]["id"]) == mention["id"]

            direct = await post_status(
                actor_server, bob_token, "@alice a secret", visibility="direct"
            )
            conversation = await asyncio.to_thread(_wait_for, collector, "conversation")
            assert str(conversation["last_status"]["id"]) == direct["id"]
            assert [str(a["id"]) for a in conversation["accounts"]] == [str(bob.id)]

            # Home timeline updates come from the fan-out job (timelines), which publishes
            # `update` on each follower's user channel.
            post = await post_status(actor_server, bob_token, "Hello followers")
            update = await asyncio.to_thread(_wait_for, collector, "update", post["id"])
            assert update["content"] == "<p>Hello followers</p>"
        finally:
            handle.close()
