"""Statuses held for review before they are published (docs/status-review.md), on both
engines: a held status is readable by its author alone — not in followers' homes, the
public and hashtag timelines, search, notifications or any stream — until a moderator
approves it (then it is published as a new post is) or rejects it (deleted, with a
`delete_statuses` strike the author is told of). Detection's hold threshold keeps an
offensive post back and publishes a benign one once scored."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from connecthub.clock import utcnow
from tests.detection.support import BENIGN, OFFENSIVE, eventually, wait_for_verdicts
from tests.factories import create_token
from tests.relationships.support import set_account
from tests.reports.support import moderator
from tests.social_factories import auth, follow, post_status, user_with_token
from tests.streaming.support import (
    api,
    next_message,
    servers,
    subscribed,
    wait_for_message,
    websocket,
)
from tests.timelines.support import home_ids, settle

HELD = "/api/v1/admin/held_statuses"
PUBLIC = "/api/v1/timelines/public"
NO_SPAM = {"spam_new_account_hours": 0}


async def _ids(client: httpx.AsyncClient, path: str, token: str | None, **params: Any) -> list[str]:
    response = await client.get(path, params=params, headers=auth(token) if token else {})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


async def _searched(client: httpx.AsyncClient, token: str, q: str) -> list[str]:
    response = await client.get(
        "/api/v2/search", params={"q": q, "type": "statuses"}, headers=auth(token)
    )
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["statuses"]]


async def _notified(client: httpx.AsyncClient, token: str) -> list[str | None]:
    response = await client.get("/api/v1/notifications", headers=auth(token))
    assert response.status_code == 200, response.text
    return [(item.get("status") or {}).get("id") for item in response.json()]


async def _unseen_by_everyone_but_the_author(
    app: FastAPI,
    client: httpx.AsyncClient,
    status_id: str,
    author_token: str,
    reader_tokens: list[str],
    words: str,
) -> None:
    await settle(app)
    for token in [*reader_tokens, None]:
        headers = auth(token) if token else {}
        one = await client.get(f"/api/v1/statuses/{status_id}", headers=headers)
        assert one.status_code == 404, one.text
        for params in ({}, {"local": "true"}):
            assert status_id not in await _ids(client, PUBLIC, token, **params)
        assert status_id not in await _ids(client, "/api/v1/timelines/tag/review", token)
    for token in reader_tokens:
        assert status_id not in await home_ids(app, client, token)
        assert status_id not in await _searched(client, token, words)
        assert status_id not in await _notified(client, token)
    # The author sees it, on its own and on the profile.
    mine = await client.get(f"/api/v1/statuses/{status_id}", headers=auth(author_token))
    assert mine.status_code == 200, mine.text


async def test_a_held_status_is_seen_by_its_author_alone_until_approved(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory(status_review="all", **NO_SPAM) as (app, client):
        author, author_token = await user_with_token(app, "author")
        fan, fan_token = await user_with_token(app, "fan")
        _, stranger_token = await user_with_token(app, "stranger")
        mod, mod_token = await moderator(app, "moddy")
        await set_account(app, author.id, indexable=True)
        await follow(app, fan.id, author.id)
        words = "marmalade zeppelin"
        held = await post_status(client, author_token, f"{words} #review @fan")
        # Private statuses are never held: their audience is the author's business.
        private = await post_status(client, author_token, "for my followers", visibility="private")
        assert private["id"] in await home_ids(app, client, fan_token)

        await _unseen_by_everyone_but_the_author(
            app, client, held["id"], author_token, [fan_token, stranger_token], words
        )
        profile = await _ids(client, f"/api/v1/accounts/{author.id}/statuses", author_token)
        assert held["id"] in profile
        assert held["id"] not in await _ids(
            client, f"/api/v1/accounts/{author.id}/statuses", fan_token
        )

        listed = await client.get(HELD, headers=auth(mod_token))
        assert listed.status_code == 200, listed.text
        [entry] = listed.json()
        assert (entry["id"], entry["reason"]) == (held["id"], "review")
        assert entry["account"]["id"] == str(author.id)
        assert entry["status"]["id"] == held["id"]
        assert entry["status"]["content"] == held["content"]
        mine = await client.get(HELD, params={"account_id": str(mod.id)}, headers=auth(mod_token))
        assert mine.json() == []
        shown = await client.get(f"{HELD}/{held['id']}", headers=auth(mod_token))
        assert shown.json() == entry

        approved = await client.post(f"{HELD}/{held['id']}/approve", headers=auth(mod_token))
        assert approved.status_code == 200, approved.text
        assert approved.json()["reason"] == "review"

        # Published as a new post is: the follower's home, the mention, the public
        # timelines, search.
        assert held["id"] in await home_ids(app, client, fan_token)
        assert held["id"] in await _notified(client, fan_token)
        assert held["id"] in await _ids(client, PUBLIC, stranger_token)
        assert held["id"] in await _ids(client, "/api/v1/timelines/tag/review", None)
        assert held["id"] in await _searched(client, stranger_token, words)
        assert (await client.get(HELD, headers=auth(mod_token))).json() == []
        again = await client.post(f"{HELD}/{held['id']}/approve", headers=auth(mod_token))
        assert again.status_code == 404

        trail = await client.get(
            "/api/v1/admin/audit_log",
            params={"action": "approve", "target_id": str(author.id)},
            headers=auth(await create_token(app, mod.id, scopes={"admin:read"})),
        )
        assert trail.status_code == 200, trail.text
        [row] = [r for r in trail.json() if r["event"] == "admin.held_status"]
        assert row["actor_account_id"] == str(mod.id)
        assert row["details"]["status_id"] == int(held["id"])


async def test_a_rejected_status_is_deleted_with_a_strike(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory(status_review="all", **NO_SPAM) as (app, client):
        _, author_token = await user_with_token(app, "author")
        _, mod_token = await moderator(app, "moddy")
        held = await post_status(client, author_token, "buy cheap watches now")

        rejected = await client.post(
            f"{HELD}/{held['id']}/reject",
            json={"text": "Advertising is not allowed here"},
            headers=auth(mod_token),
        )
        assert rejected.status_code == 200, rejected.text
        mine = await client.get(f"/api/v1/statuses/{held['id']}", headers=auth(author_token))
        assert mine.status_code == 404
        strikes = await client.get("/api/v1/strikes", headers=auth(author_token))
        assert strikes.status_code == 200, strikes.text
        [strike] = strikes.json()
        assert strike["action"] == "delete_statuses"
        assert strike["text"] == "Advertising is not allowed here"
        assert strike["status_ids"] == [held["id"]]
        notified = await client.get(
            "/api/v1/notifications",
            params={"types[]": "moderation_warning"},
            headers=auth(author_token),
        )
        assert [n["type"] for n in notified.json()] == ["moderation_warning"]
        assert notified.json()[0]["moderation_warning"]["id"] == strike["id"]

        # Not told when the moderator says so.
        quiet = await post_status(client, author_token, "more watches")
        rejected = await client.post(
            f"{HELD}/{quiet['id']}/reject",
            json={"send_email_notification": "false"},
            headers=auth(mod_token),
        )
        assert rejected.status_code == 200, rejected.text
        notified = await client.get(
            "/api/v1/notifications",
            params={"types[]": "moderation_warning"},
            headers=auth(author_token),
        )
        assert len(notified.json()) == 1
        too_long = await client.post(
            f"{HELD}/{quiet['id']}/reject", json={"text": "x" * 5001}, headers=auth(mod_token)
        )
        assert too_long.status_code == 422
        assert "text" in too_long.json()["error"]


async def test_only_moderators_decide_and_never_on_their_own_status(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory(status_review="all", **NO_SPAM) as (app, client):
        _, user_token = await user_with_token(app, "plain")
        mod, mod_token = await moderator(app, "moddy")
        _, other_mod_token = await moderator(app, "other")
        own = await post_status(client, mod_token, "a moderator's own post")
        theirs = await post_status(client, user_token, "a user's post")

        for path in (HELD, f"{HELD}/{theirs['id']}"):
            assert (await client.get(path, headers=auth(user_token))).status_code == 403
        for verb in ("approve", "reject"):
            refused = await client.post(f"{HELD}/{theirs['id']}/{verb}", headers=auth(user_token))
            assert refused.status_code == 403
            refused = await client.post(f"{HELD}/{own['id']}/{verb}", headers=auth(mod_token))
            assert refused.status_code == 403
        # A token without the admin scope.
        assert (await client.get(HELD, headers=auth(user_token))).status_code == 403
        assert (await client.get(f"{HELD}/123456")).status_code == 401
        missing = await client.post(f"{HELD}/123456/approve", headers=auth(mod_token))
        assert missing.status_code == 404
        # Another moderator may.
        approved = await client.post(f"{HELD}/{own['id']}/approve", headers=auth(other_mod_token))
        assert approved.status_code == 200, approved.text
        assert approved.json()["account"]["id"] == str(mod.id)


async def test_review_of_new_accounts_only(app_factory: Callable[..., Any]) -> None:
    async with app_factory(status_review="new_accounts") as (app, client):
        old, old_token = await user_with_token(app, "veteran")
        await set_account(app, old.id, created_at=_long_ago())
        _, new_token = await user_with_token(app, "newcomer")
        _, mod_token = await moderator(app, "moddy")
        veteran = await post_status(client, old_token, "an old hand's post")
        newcomer = await post_status(client, new_token, "a newcomer's post")
        held = [entry["id"] for entry in (await client.get(HELD, headers=auth(mod_token))).json()]
        assert held == [newcomer["id"]]
        assert veteran["id"] in await _ids(client, PUBLIC, None)


def _long_ago() -> datetime:
    return utcnow() - timedelta(days=30)


async def test_streams_carry_a_held_status_only_once_approved(
    test_env: Any, factory_app: FastAPI
) -> None:
    with servers(test_env, 1, STATUS_REVIEW="all", DETECTION_ENABLED="false") as [server]:
        app = factory_app
        author, author_token = await user_with_token(app, "author")
        fan, fan_token = await user_with_token(app, "fan")
        _, mod_token = await moderator(app, "moddy")
        await follow(app, fan.id, author.id)
        async with (
            websocket(server, fan_token, query={"stream": "user"}) as user_ws,
            websocket(server, fan_token, query={"stream": "public"}) as public_ws,
        ):
            for ws in (user_ws, public_ws):
                await subscribed(ws, server, fan_token)
            posted = await api(
                server, "POST", "/api/v1/statuses", author_token, json={"status": "held back"}
            )
            held_id = posted.json()["id"]
            # A status posted after it is private (never held): the fan's stream carries
            # it, and nothing of the held one before it.
            marker = await api(
                server,
                "POST",
                "/api/v1/statuses",
                author_token,
                json={"status": "a marker", "visibility": "private"},
            )
            marker_id = marker.json()["id"]

            def is_marker(message: dict[str, Any]) -> bool:
                return (
                    message.get("event") == "update"
                    and json.loads(message["payload"])["id"] == marker_id
                )

            _, before = await wait_for_message(user_ws, is_marker)
            assert held_id not in json.dumps(before)
            approved = await api(server, "POST", f"{HELD}/{held_id}/approve", mod_token)
            assert approved.status_code == 200, approved.text

            def is_held(message: dict[str, Any]) -> bool:
                return (
                    message.get("event") == "update"
                    and json.loads(message["payload"])["id"] == held_id
                )

            await wait_for_message(user_ws, is_held)
            # The public stream's first status event is the approved one: the held post
            # was never announced there.
            first = await next_message(public_ws)
            assert first["event"] == "update"
            assert json.loads(first["payload"])["id"] == held_id


async def test_detection_holds_an_offensive_post_and_publishes_a_benign_one(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory(detection_hold_threshold=0.9, **NO_SPAM) as (app, client):
        author, author_token = await user_with_token(app, "author")
        _, reader_token = await user_with_token(app, "reader")
        _, mod_token = await moderator(app, "moddy")
        offensive = await post_status(client, author_token, OFFENSIVE)
        benign = await post_status(client, author_token, BENIGN)

        async def published() -> bool | None:
            shown = await client.get(f"/api/v1/statuses/{benign['id']}", headers=auth(reader_token))
            return True if shown.status_code == 200 else None

        await eventually(published, 60)
        [verdict] = await wait_for_verdicts(app, author.id)
        assert verdict.subject_id == int(offensive["id"])
        await settle(app)
        listed = (await client.get(HELD, headers=auth(mod_token))).json()
        assert [(e["id"], e["reason"]) for e in listed] == [(offensive["id"], "detection")]
        hidden = await client.get(f"/api/v1/statuses/{offensive['id']}", headers=auth(reader_token))
        assert hidden.status_code == 404
        assert benign["id"] in await _ids(client, PUBLIC, reader_token)
        assert offensive["id"] not in await _ids(client, PUBLIC, reader_token)
        # The system report names the status as evidence, for a moderator to decide on.
        reports = await client.get("/api/v1/admin/reports", headers=auth(mod_token))
        [report] = reports.json()
        assert [s["id"] for s in report["statuses"]] == [offensive["id"]]


async def test_a_spam_hold_takes_the_statuses_back_and_leaves_the_login(
    app_factory: Callable[..., Any],
) -> None:
    settings = {
        "spam_repeats_limit": 2,
        "spam_action": "hold",
        "spam_hold": "statuses",
        "detection_report_threshold": 1.0,
    }
    async with app_factory(**settings) as (app, client):
        spammer, token = await user_with_token(app, "spammer")
        fan, fan_token = await user_with_token(app, "fan")
        _, mod_token = await moderator(app, "moddy")
        await follow(app, fan.id, spammer.id)
        first = await post_status(client, token, "buy cheap watches")
        assert first["id"] in await home_ids(app, client, fan_token)
        second = await post_status(client, token, "buy cheap watches")
        [verdict] = await wait_for_verdicts(app, spammer.id)
        assert verdict.action == "hold"
        await settle(app)

        held = [e["id"] for e in (await client.get(HELD, headers=auth(mod_token))).json()]
        assert held == [second["id"]]
        assert second["id"] not in await home_ids(app, client, fan_token)
        assert second["id"] not in await _ids(client, PUBLIC, fan_token)
        gone = await client.get(f"/api/v1/statuses/{second['id']}", headers=auth(fan_token))
        assert gone.status_code == 404
        # The login is untouched: the spammer still reads their own held status.
        mine = await client.get(f"/api/v1/statuses/{second['id']}", headers=auth(token))
        assert mine.status_code == 200


async def test_an_edit_over_the_hold_threshold_takes_the_status_back(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory(detection_hold_threshold=0.9, **NO_SPAM) as (app, client):
        author, author_token = await user_with_token(app, "author")
        _, reader_token = await user_with_token(app, "reader")
        _, mod_token = await moderator(app, "moddy")
        posted = await post_status(client, author_token, BENIGN)

        async def published() -> bool | None:
            shown = await client.get(f"/api/v1/statuses/{posted['id']}", headers=auth(reader_token))
            return True if shown.status_code == 200 else None

        await eventually(published, 60)
        edited = await client.put(
            f"/api/v1/statuses/{posted['id']}",
            json={"status": OFFENSIVE},
            headers=auth(author_token),
        )
        assert edited.status_code == 200, edited.text
        await wait_for_verdicts(app, author.id)

        async def taken_back() -> bool | None:
            shown = await client.get(f"/api/v1/statuses/{posted['id']}", headers=auth(reader_token))
            return True if shown.status_code == 404 else None

        await eventually(taken_back, 30)
        listed = (await client.get(HELD, headers=auth(mod_token))).json()
        assert [(e["id"], e["reason"]) for e in listed] == [(posted["id"], "detection")]
        approved = await client.post(f"{HELD}/{posted['id']}/approve", headers=auth(mod_token))
        assert approved.status_code == 200, approved.text
        assert posted["id"] in await _ids(client, PUBLIC, reader_token)
