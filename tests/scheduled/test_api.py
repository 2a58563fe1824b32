"""Scheduling through `POST /api/v1/statuses` and `/api/v1/scheduled_statuses`: Mastodon's
entity, rules, limits, pagination, scopes and ownership, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import insert

from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.scheduled.models import ScheduledStatus
from tests.factories import create_token
from tests.scheduled.support import SCHEDULED, ahead, schedule, scheduled_count, statuses_of
from tests.social_factories import auth, post_status, user_with_token

PARAM_KEYS = {
    "text", "poll", "media_ids", "sensitive", "spoiler_text", "visibility", "in_reply_to_id",
    "language", "application_id", "scheduled_at", "idempotency", "with_rate_limit",
}  # fmt: skip
TOO_SOON = "Validation failed: Scheduled at The scheduled date must be in the future"


async def test_scheduling_keeps_the_status_and_answers_a_scheduled_status(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, token = await user_with_token(app, "alice")
    when = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
    response = await schedule(client, token, "See you later", when=when.isoformat())
    assert response.status_code == 200, response.text
    entity = response.json()
    assert set(entity) == {"id", "scheduled_at", "params", "media_attachments"}
    assert entity["scheduled_at"] == when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert entity["media_attachments"] == []
    params = entity["params"]
    assert set(params) == PARAM_KEYS
    assert params["text"] == "See you later"
    for unset in ("poll", "media_ids", "sensitive", "spoiler_text", "visibility", "language"):
        assert params[unset] is None, unset
    assert params["in_reply_to_id"] is None
    assert params["scheduled_at"] is None
    assert params["idempotency"] is None
    assert params["with_rate_limit"] is False
    assert await statuses_of(app, alice.id) == []  # nothing posted
    shown = await client.get(f"{SCHEDULED}/{entity['id']}", headers=auth(token))
    assert shown.status_code == 200
    assert shown.json() == entity


async def test_parameters_are_kept_as_sent(app: FastAPI, client: AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    parent = await post_status(client, token, "First")
    response = await schedule(
        client,
        token,
        "Second",
        in_reply_to_id=parent["id"],
        visibility="unlisted",
        sensitive=True,
        spoiler_text="cw",
        language="en",
        poll={"options": ["a", "b"], "expires_in": 3600, "multiple": True},
    )
    assert response.status_code == 200, response.text
    params = response.json()["params"]
    assert params["in_reply_to_id"] == int(parent["id"])
    assert params["visibility"] == "unlisted"
    assert params["sensitive"] is True
    assert params["spoiler_text"] == "cw"
    assert params["language"] == "en"
    assert params["poll"] == {
        "options": ["a", "b"],
        "expires_in": 3600,
        "multiple": True,
        "hide_totals": False,
    }


async def test_too_soon_is_422_and_a_past_time_posts_now(app: FastAPI, client: AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    soon = await schedule(client, token, when=ahead(240))
    assert soon.status_code == 422
    assert soon.json()["error"] == TOO_SOON
    # Mastodon posts a status whose time has already passed at once.
    past = await schedule(client, token, "Now", when=ahead(-60))
    assert past.status_code == 200
    assert past.json()["content"] == "<p>Now</p>"
    assert len(await statuses_of(app, alice.id)) == 1
    assert await scheduled_count(app, alice.id) == 0


@pytest.mark.parametrize("value", ["tomorrow", "2026-13-40T00:00:00Z", ["x"]])
async def test_a_bad_time_is_422_naming_the_field(
    app: FastAPI, client: AsyncClient, value: Any
) -> None:
    _alice, token = await user_with_token(app, "alice")
    response = await client.post(
        "/api/v1/statuses", json={"status": "x", "scheduled_at": value}, headers=auth(token)
    )
    assert response.status_code == 422
    assert "scheduled_at" in response.json()["error"]


async def test_the_status_is_checked_when_scheduled(app: FastAPI, client: AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    blank = await schedule(client, token, "")
    assert blank.status_code == 422
    assert "status" in blank.json()["error"]
    orphan = await schedule(client, token, "reply", in_reply_to_id="12345")
    assert orphan.status_code == 404


async def test_daily_and_total_limits(app: FastAPI, client: AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    day = (utcnow() + timedelta(days=3)).replace(hour=1, minute=0, second=0, microsecond=0)
    for minute in range(25):
        answer = await schedule(client, token, when=(day + timedelta(minutes=minute)).isoformat())
        assert answer.status_code == 200, answer.text
    over = await schedule(client, token, when=(day + timedelta(hours=20)).isoformat())
    assert over.status_code == 422
    assert over.json()["error"] == (
        "Validation failed: You have exceeded the limit of 25 scheduled posts for today"
    )
    next_day = await schedule(client, token, when=(day + timedelta(days=1)).isoformat())
    assert next_day.status_code == 200
    # 300 pending in all (rows spread over the days, as the daily limit wants).
    start = day + timedelta(days=2)
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            insert(ScheduledStatus),
            [
                {
                    "id": new_id(),
                    "account_id": alice.id,
                    "scheduled_at": start + timedelta(hours=index),
                    "params": {"text": "filler"},
                    "created_at": utcnow(),
                }
                for index in range(300 - 26)
            ],
        )
    assert await scheduled_count(app, alice.id) == 300
    total = await schedule(client, token, when=(day + timedelta(days=60)).isoformat())
    assert total.status_code == 422
    assert total.json()["error"] == (
        "Validation failed: You have exceeded the limit of 300 scheduled posts"
    )


async def test_list_is_paginated_with_link_headers(app: FastAPI, client: AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    ids = [(await schedule(client, token, f"post {n}")).json()["id"] for n in range(3)]
    first = await client.get(SCHEDULED, params={"limit": 2}, headers=auth(token))
    assert first.status_code == 200
    assert [item["id"] for item in first.json()] == [ids[2], ids[1]]
    link = first.headers["Link"]
    assert f"max_id={ids[1]}" in link
    assert 'rel="next"' in link
    following = await client.get(
        SCHEDULED, params={"limit": 2, "max_id": ids[1]}, headers=auth(token)
    )
    assert [item["id"] for item in following.json()] == [ids[0]]
    newer = await client.get(SCHEDULED, params={"min_id": ids[0]}, headers=auth(token))
    assert [item["id"] for item in newer.json()] == [ids[2], ids[1]]
    bad = await client.get(SCHEDULED, params={"max_id": "x"}, headers=auth(token))
    assert bad.status_code == 422
    assert "max_id" in bad.json()["error"]


async def test_update_changes_the_time_by_the_same_rule(app: FastAPI, client: AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    entity = (await schedule(client, token)).json()
    path = f"{SCHEDULED}/{entity['id']}"
    later = (utcnow() + timedelta(days=2)).replace(microsecond=0, tzinfo=None)
    moved = await client.put(path, json={"scheduled_at": later.isoformat()}, headers=auth(token))
    assert moved.status_code == 200, moved.text
    assert moved.json()["scheduled_at"] == later.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert moved.json()["params"] == entity["params"]
    form = await client.put(path, data={"scheduled_at": ahead(60)}, headers=auth(token))
    assert form.status_code == 422
    assert form.json()["error"] == TOO_SOON
    missing = await client.put(path, json={}, headers=auth(token))
    assert missing.status_code == 422
    assert "scheduled_at" in missing.json()["error"]
    assert (await client.get(path, headers=auth(token))).json()["scheduled_at"] == moved.json()[
        "scheduled_at"
    ]


async def test_delete_cancels(app: FastAPI, client: AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    entity = (await schedule(client, token)).json()
    path = f"{SCHEDULED}/{entity['id']}"
    deleted = await client.delete(path, headers=auth(token))
    assert deleted.status_code == 200
    assert deleted.json() == {}
    assert (await client.get(path, headers=auth(token))).status_code == 404
    assert (await client.delete(path, headers=auth(token))).status_code == 404
    assert await scheduled_count(app, alice.id) == 0


async def test_another_persons_scheduled_status_is_404(app: FastAPI, client: AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    entity = (await schedule(client, alice_token)).json()
    path = f"{SCHEDULED}/{entity['id']}"
    for answer in (
        await client.get(path, headers=auth(bob_token)),
        await client.put(path, json={"scheduled_at": ahead()}, headers=auth(bob_token)),
        await client.delete(path, headers=auth(bob_token)),
    ):
        assert answer.status_code == 404
        assert answer.json() == {"error": "Record not found"}
    assert (await client.get(SCHEDULED, headers=auth(bob_token))).json() == []
    assert (await client.get(path, headers=auth(alice_token))).status_code == 200
    assert (await client.get(f"{SCHEDULED}/notanid", headers=auth(alice_token))).status_code == 404


async def test_scopes(app: FastAPI, client: AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    entity = (await schedule(client, token)).json()
    path = f"{SCHEDULED}/{entity['id']}"
    reader = await create_token(app, alice.id, scopes=frozenset({"read:statuses"}))
    writer = await create_token(app, alice.id, scopes=frozenset({"write:statuses"}))
    assert (await client.get(SCHEDULED, headers=auth(reader))).status_code == 200
    assert (await client.get(path, headers=auth(reader))).status_code == 200
    assert (await client.get(SCHEDULED, headers=auth(writer))).status_code == 403
    assert (await client.get(path, headers=auth(writer))).status_code == 403
    assert (await schedule(client, reader)).status_code == 403
    put = {"scheduled_at": ahead()}
    assert (await client.put(path, json=put, headers=auth(reader))).status_code == 403
    assert (await client.delete(path, headers=auth(reader))).status_code == 403
    assert (await client.put(path, json=put, headers=auth(writer))).status_code == 200
    assert (await client.get(SCHEDULED)).status_code == 401
    assert (await client.delete(path, headers=auth(writer))).status_code == 200


async def test_idempotency_key_answers_the_first_scheduled_status(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, token = await user_with_token(app, "alice")
    first = await schedule(client, token, "Once", key="retry-1")
    again = await schedule(client, token, "Once", key="retry-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    other = await schedule(client, token, "Once", key="retry-2")
    assert other.json()["id"] != first.json()["id"]
    assert await scheduled_count(app, alice.id) == 2


async def test_a_date_alone_and_an_offset_are_read_as_iso_8601(
    app: FastAPI, client: AsyncClient
) -> None:
    _alice, token = await user_with_token(app, "alice")
    day = (utcnow() + timedelta(days=5)).date()
    dated = await schedule(client, token, when=day.isoformat())
    assert dated.status_code == 200
    assert dated.json()["scheduled_at"] == f"{day.isoformat()}T00:00:00.000Z"
    utc = datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)
    local = utc.astimezone(timezone(timedelta(hours=7)))
    offset = await schedule(client, token, when=local.isoformat())
    assert offset.json()["scheduled_at"] == f"{day.isoformat()}T09:30:00.000Z"
