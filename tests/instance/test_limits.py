"""The limits the instance publishes (`configuration` in /api/v2/instance and /api/v1/instance)
are the ones the server enforces: for each, a request at the limit is accepted and one past
it is refused with a 422 naming the field (instance/limits.py is their one home)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.media import files
from tests.media.support import upload
from tests.social_factories import auth, user_with_token


def refused(response: httpx.Response, field: str) -> bool:
    return response.status_code == 422 and field in response.json()["error"]


async def configuration(client: httpx.AsyncClient) -> dict[str, Any]:
    v2 = (await client.get("/api/v2/instance")).json()["configuration"]
    v1 = (await client.get("/api/v1/instance")).json()["configuration"]
    assert v1["statuses"] == v2["statuses"]
    assert v1["polls"] == v2["polls"]
    assert v1["accounts"]["max_featured_tags"] == v2["accounts"]["max_featured_tags"]
    assert v1["media_attachments"] == {
        key: value for key, value in v2["media_attachments"].items() if key != "description_limit"
    }
    return v2


async def test_status_limits(app: FastAPI, client: httpx.AsyncClient) -> None:
    limits = (await configuration(client))["statuses"]
    _alice, token = await user_with_token(app, "alice")

    async def post(body: dict[str, Any]) -> httpx.Response:
        return await client.post("/api/v1/statuses", json=body, headers=auth(token))

    most = limits["max_characters"]
    assert (await post({"status": "a" * most})).status_code == 200
    assert refused(await post({"status": "a" * (most + 1)}), "status")

    # A URL counts as characters_reserved_per_url, however long it is.
    url = "https://example.com/" + "x" * 300
    room = most - limits["characters_reserved_per_url"] - 1
    assert (await post({"status": f"{url} {'b' * room}"})).status_code == 200
    assert refused(await post({"status": f"{url} {'b' * (room + 1)}"}), "status")

    media = [
        (await upload(client, token, files.png(seed=n), filename=f"{n}.png")).json()["id"]
        for n in range(limits["max_media_attachments"] + 1)
    ]
    assert refused(await post({"status": "", "media_ids": media}), "media_ids")
    assert (await post({"status": "", "media_ids": media[1:]})).status_code == 200


async def test_poll_limits(app: FastAPI, client: httpx.AsyncClient) -> None:
    limits = (await configuration(client))["polls"]
    _alice, token = await user_with_token(app, "alice")

    async def post(options: list[str], expires_in: int) -> httpx.Response:
        body = {"status": "?", "poll": {"options": options, "expires_in": expires_in}}
        return await client.post("/api/v1/statuses", json=body, headers=auth(token))

    options = [f"option {n}" for n in range(limits["max_options"])]
    longest = "o" * limits["max_characters_per_option"]
    shortest, longest_time = limits["min_expiration"], limits["max_expiration"]
    assert (await post([*options[:-1], longest], shortest)).status_code == 200
    assert (await post(options, longest_time)).status_code == 200
    assert refused(await post([*options, "one more"], 3600), "poll")
    assert refused(await post(["a", longest + "o"], 3600), "poll")
    assert refused(await post(["a", "b"], shortest - 1), "poll")
    assert refused(await post(["a", "b"], longest_time + 1), "poll")


async def test_account_limits(app: FastAPI, client: httpx.AsyncClient) -> None:
    limits = (await configuration(client))["accounts"]
    _alice, token = await user_with_token(app, "alice")

    async def profile_fields(count: int) -> httpx.Response:
        fields = {str(n): {"name": f"n{n}", "value": f"v{n}"} for n in range(count)}
        return await client.patch(
            "/api/v1/accounts/update_credentials",
            json={"fields_attributes": fields},
            headers=auth(token),
        )

    most = limits["max_profile_fields"]
    assert (await profile_fields(most)).status_code == 200
    assert refused(await profile_fields(most + 1), "fields_attributes")

    pinned = []
    for n in range(limits["max_pinned_statuses"] + 1):
        posted = await client.post(
            "/api/v1/statuses", json={"status": f"pin {n}"}, headers=auth(token)
        )
        pinned.append(
            await client.post(f"/api/v1/statuses/{posted.json()['id']}/pin", headers=auth(token))
        )
    assert [response.status_code for response in pinned[:-1]] == [200] * (len(pinned) - 1)
    assert pinned[-1].status_code == 422


async def test_media_description_limit(app: FastAPI, client: httpx.AsyncClient) -> None:
    limit = (await configuration(client))["media_attachments"]["description_limit"]
    _alice, token = await user_with_token(app, "alice")
    at = await upload(client, token, files.png(), filename="a.png", description="d" * limit)
    assert at.status_code == 200, at.text
    past = await upload(client, token, files.png(), filename="a.png", description="d" * (limit + 1))
    assert refused(past, "description")


async def test_image_and_video_limits_are_the_settings_enforced(
    app_factory: Callable[..., Any],
) -> None:
    large = files.png(64, 64)
    video = files.encoded("webm", seconds=0.5)
    settings = {
        "media_image_max_bytes": len(large) - 1,
        "media_image_max_pixels": 32 * 32 - 1,
        "media_video_max_bytes": len(video) - 1,
    }
    async with app_factory(**settings) as (app, client):
        limits = (await configuration(client))["media_attachments"]
        assert limits["image_size_limit"] == settings["media_image_max_bytes"]
        assert limits["image_matrix_limit"] == settings["media_image_max_pixels"]
        assert limits["video_size_limit"] == settings["media_video_max_bytes"]
        _alice, token = await user_with_token(app, "alice")
        assert refused(await upload(client, token, large, filename="a.png"), "file")
        assert refused(await upload(client, token, files.png(32, 32), filename="b.png"), "file")
        fits = await upload(client, token, files.png(31, 32), filename="c.png")
        assert fits.status_code == 200, fits.text
        assert refused(await upload(client, token, video, filename="a.webm"), "file")


@pytest.mark.slow
async def test_video_frame_rate_limit(app: FastAPI, client: httpx.AsyncClient) -> None:
    limit = (await configuration(client))["media_attachments"]["video_frame_rate_limit"]
    _alice, token = await user_with_token(app, "alice")
    fast = files.encoded("webm", seconds=0.25, frame_rate=limit * 2)
    refusal = await upload(client, token, fast, filename="fast.webm")
    assert refused(refusal, "file")
    assert f"more than {limit} frames per second" in refusal.json()["error"]
    at_limit = files.encoded("webm", seconds=0.25, frame_rate=limit)
    assert (await upload(client, token, at_limit, filename="ok.webm")).status_code in (200, 202)
