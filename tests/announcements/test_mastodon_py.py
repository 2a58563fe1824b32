"""Mastodon.py against a real server: custom emojis, announcements, dismissing, reacting
and taking a reaction back, and the `announcement` events of the user stream, as a client
app would use them."""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import TYPE_CHECKING, Any

import httpx
from fastapi import FastAPI
from mastodon import Mastodon, StreamListener

from tests.emojis.support import admin
from tests.media.files import png
from tests.social_factories import auth, user_with_token
from tests.streaming.support import WAIT_SECONDS, servers
from tests.support import probe

if TYPE_CHECKING:
    from tests.conftest import TestEnv


class Announcements(StreamListener):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.ready = threading.Event()

    def on_announcement(self, announcement: Any) -> None:
        self.events.put(("announcement", announcement))

    def on_announcement_reaction(self, reaction: Any) -> None:
        self.events.put(("announcement.reaction", reaction))

    def on_announcement_delete(self, announcement_id: Any) -> None:
        self.events.put(("announcement.delete", announcement_id))

    def handle_heartbeat(self) -> None:
        self.ready.set()

    def next(self, kind: str) -> Any:
        while True:
            name, item = self.events.get(timeout=WAIT_SECONDS)
            if name == kind:
                return item


def _client_session(url: str, token: str, announcement_id: str) -> dict[str, Any]:
    api = Mastodon(access_token=token, api_base_url=url, version_check_mode="none")
    seen: dict[str, Any] = {"emojis": api.custom_emojis(), "before": api.announcements()}
    api.announcement_reaction_create(announcement_id, "blob")
    api.announcement_reaction_create(announcement_id, "\N{THUMBS UP SIGN}")
    seen["reacted"] = api.announcements()
    api.announcement_reaction_delete(announcement_id, "\N{THUMBS UP SIGN}")
    api.announcement_dismiss(announcement_id)
    seen["after"] = api.announcements()
    return seen


async def test_mastodon_py_reads_and_reacts_to_announcements(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    boss = await admin(factory_app)
    _alice, alice = await user_with_token(factory_app, "alice")
    # The broadcast of announcement events is a job: run here in every mode.
    with servers(test_env, 1, STREAMING_HEARTBEAT_SECONDS="0.2", JOBS_IN_SERVER="true") as [server]:
        async with httpx.AsyncClient(base_url=server.url, verify=probe.ssl_context()) as http:
            emoji = await http.post(
                "/api/v1/admin/custom_emojis",
                headers=auth(boss),
                files={"image": ("blob.png", png(), "image/png")},
                data={"shortcode": "blob"},
            )
            assert emoji.status_code == 200, emoji.text
            api = Mastodon(access_token=alice, api_base_url=server.url, version_check_mode="none")
            listener = Announcements()
            handle = await asyncio.to_thread(api.stream_user, listener, run_async=True)
            try:
                assert await asyncio.to_thread(listener.ready.wait, WAIT_SECONDS)
                created = await http.post(
                    "/api/v1/admin/announcements",
                    headers=auth(boss),
                    json={"text": "Welcome :blob:"},
                )
                assert created.status_code == 200, created.text
                note_id = created.json()["id"]
                streamed = await asyncio.to_thread(listener.next, "announcement")
                assert str(streamed["id"]) == note_id
                assert streamed["emojis"][0]["shortcode"] == "blob"

                seen = await asyncio.to_thread(_client_session, server.url, alice, note_id)
                reaction = await asyncio.to_thread(listener.next, "announcement.reaction")
                assert reaction["name"] in ("blob", "\N{THUMBS UP SIGN}")
                assert str(reaction["announcement_id"]) == note_id

                deleted = await http.delete(
                    f"/api/v1/admin/announcements/{note_id}", headers=auth(boss)
                )
                assert deleted.status_code == 200
                gone = await asyncio.to_thread(listener.next, "announcement.delete")
                assert str(gone) == note_id
            finally:
                handle.close()

    assert [e["shortcode"] for e in seen["emojis"]] == ["blob"]
    [before] = seen["before"]
    assert before["read"] is False
    assert before["content"].startswith("<p>Welcome :blob:")
    [reacted] = seen["reacted"]
    names = {r["name"]: r for r in reacted["reactions"]}
    assert (names["blob"]["count"], names["blob"]["me"]) == (1, True)
    assert names["blob"]["url"] == emoji.json()["url"]
    assert names["\N{THUMBS UP SIGN}"]["count"] == 1
    assert seen["after"] == []
