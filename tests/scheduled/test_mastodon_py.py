"""Mastodon.py end to end against a real server: schedule (with media), list, read,
reschedule to a moment away, see it published by the job queue, cancel another."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mastodon import Mastodon

from tests.media import files
from tests.servers import start_inprocess_server
from tests.social_factories import user_with_token

pytestmark = pytest.mark.slow  # over the fast loop's bar (tests/conftest.py)

PUBLISH_DEADLINE_SECONDS = 60.0  # the job queue's, on a busy machine; not a timing


def _session(url: str, token: str, account_id: int) -> dict[str, Any]:
    api = Mastodon(access_token=token, api_base_url=url)
    now = datetime.now(UTC)
    photo = api.media_post(files.png(24, 24, seed=91), mime_type="image/png")
    first = api.status_post("Scheduled by Mastodon.py", scheduled_at=now + timedelta(hours=1))
    second = api.status_post(
        "With a photo", media_ids=[photo], scheduled_at=now + timedelta(hours=2)
    )
    listed = api.scheduled_statuses()
    shown = api.scheduled_status(first)
    moved = api.scheduled_status_update(first, datetime.now(UTC) + timedelta(seconds=4))
    api.scheduled_status_delete(second)
    deadline = time.monotonic() + PUBLISH_DEADLINE_SECONDS
    posted: list[Any] = []
    while time.monotonic() < deadline and not posted:
        posted = list(api.account_statuses(account_id))
        time.sleep(0.2)
    return {
        "photo": photo,
        "first": first,
        "second": second,
        "listed": listed,
        "shown": shown,
        "moved": moved,
        "posted": posted,
        "left": api.scheduled_statuses(),
    }


@pytest.mark.slow
async def test_mastodon_py_scheduled_statuses(app: Any, test_env: Any) -> None:
    alice, token = await user_with_token(app, "alice")
    # A few seconds' wait instead of Mastodon's five minutes (the rule: test_api.py).
    server = start_inprocess_server(
        test_env, SCHEDULED_STATUS_MIN_LEAD_SECONDS="1", JOBS_IN_SERVER="true"
    )
    try:
        result = await asyncio.to_thread(_session, server.url, token, alice.id)
    finally:
        server.stop()
    first, second = result["first"], result["second"]
    assert first["params"]["text"] == "Scheduled by Mastodon.py"
    assert first["params"]["scheduled_at"] is None
    assert [item["id"] for item in second["media_attachments"]] == [result["photo"]["id"]]
    assert [item["id"] for item in result["listed"]] == [second["id"], first["id"]]
    assert result["shown"]["id"] == first["id"]
    assert result["moved"]["scheduled_at"] < first["scheduled_at"]
    [status] = result["posted"]
    assert status["content"] == "<p>Scheduled by Mastodon.py</p>"
    assert result["left"] == []
