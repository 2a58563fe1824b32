"""The admin dashboard (Mastodon's measures, dimensions and retention): figures per UTC day
from the tables that hold them, for staff with the View Dashboard permission."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from connecthub.accounts.models import Role, User
from connecthub.reports.models import Report
from connecthub.statuses.models import Favourite, Status, Tag
from tests.admin.support import staff
from tests.factories import create_token
from tests.notifications.support import status_action
from tests.social_factories import auth, post_status, user_with_token

WINDOW = {"start_at": "2026-03-10", "end_at": "2026-03-12T18:00:00Z"}


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


async def _set(app: FastAPI, model: Any, row_id: int, **values: Any) -> None:
    key = model.account_id if model is User else model.id
    async with app.state.engines.db.transaction() as session:
        await session.execute(update(model).where(key == row_id).values(**values))


async def _post(client: httpx.AsyncClient, token: str, path: str, **body: Any) -> Any:
    response = await client.post(f"/api/v1/admin/{path}", json=body, headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


def _series(measure: dict[str, Any]) -> list[str]:
    return [point["value"] for point in measure["data"]]


async def test_measures_count_per_day_and_against_the_window_before(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _admin, token = await staff(app, "boss", Role.ADMIN)
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, _ = await user_with_token(app, "carol")
    await _set(app, User, alice.id, created_at=_at(10), last_sign_in_at=_at(12))
    await _set(app, User, bob.id, created_at=_at(10, 23))
    await _set(app, User, carol.id, created_at=_at(8))  # the window before
    post = await post_status(client, alice_token, "hello")
    reply = await post_status(client, bob_token, "hi", in_reply_to_id=post["id"])
    await status_action(client, bob_token, post["id"], "favourite")
    await _set(app, Status, int(post["id"]), created_at=_at(11))
    await _set(app, Status, int(reply["id"]), created_at=_at(11))
    async with app.state.engines.db.transaction() as session:
        await session.execute(update(Favourite).values(created_at=_at(12)))

    for _ in range(2):
        filed = await client.post(
            "/api/v1/reports", json={"account_id": str(bob.id)}, headers=auth(alice_token)
        )
        assert filed.status_code == 200, filed.text
        await _set(app, Report, int(filed.json()["id"]), created_at=_at(11))
    await _set(app, Report, int(filed.json()["id"]), action_taken_at=_at(12))

    keys = ["new_users", "interactions", "active_users", "opened_reports", "resolved_reports"]
    keys += ["tag_servers", "nope"]
    found = await _post(client, token, "measures", keys=keys, **WINDOW)
    by_key = {m["key"]: m for m in found}
    assert [m["key"] for m in found] == keys[:5]  # unknown ones left out, order kept
    assert by_key["new_users"]["data"][0] == {"date": "2026-03-10T00:00:00Z", "value": "2"}
    assert _series(by_key["new_users"]) == ["2", "0", "0"]
    assert (by_key["new_users"]["total"], by_key["new_users"]["previous_total"]) == ("2", "1")
    assert _series(by_key["interactions"]) == ["0", "1", "1"]  # the reply, the favourite
    assert by_key["interactions"]["total"] == "2"
    # Alice posted on the 11th and signed in on the 12th; bob replied and favourited.
    assert _series(by_key["active_users"]) == ["0", "2", "2"]
    assert by_key["active_users"]["total"] == "2"  # distinct over the window
    assert by_key["opened_reports"] == {
        "key": "opened_reports",
        "total": "2",
        "previous_total": "0",
        "data": [
            {"date": f"2026-03-{d}T00:00:00Z", "value": v}
            for d, v in ((10, "0"), (11, "2"), (12, "0"))
        ],
    }
    assert _series(by_key["resolved_reports"]) == ["0", "0", "1"]


async def test_hashtag_measures_take_the_tags_id(app: FastAPI, client: httpx.AsyncClient) -> None:
    _admin, token = await staff(app, "boss")
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    posts = [
        await post_status(client, alice_token, "#cats one"),
        await post_status(client, alice_token, "#cats two"),
        await post_status(client, bob_token, "#cats three"),
        await post_status(client, bob_token, "#dogs"),
    ]
    for post, day in zip(posts, (10, 12, 12, 12), strict=True):
        await _set(app, Status, int(post["id"]), created_at=_at(day))
    async with app.state.engines.db.transaction() as session:
        cats = await session.scalar(select(Tag.id).where(Tag.name_key == "cats"))
    body = {"tag_uses": {"id": str(cats)}, "tag_accounts": {"id": str(cats)}}
    uses, accounts = await _post(
        client, token, "measures", keys=["tag_uses", "tag_accounts"], **body, **WINDOW
    )
    assert (uses["total"], _series(uses)) == ("3", ["1", "0", "2"])
    assert (accounts["total"], _series(accounts)) == ("2", ["1", "0", "2"])
    missing = await client.post(
        "/api/v1/admin/measures", json={"keys": ["tag_uses"], **WINDOW}, headers=auth(token)
    )
    assert missing.status_code == 400
    assert "tag_uses[id]" in missing.json()["error"]


async def test_dimensions(app: FastAPI, client: httpx.AsyncClient) -> None:
    _admin, token = await staff(app, "boss")
    alice, _ = await user_with_token(app, "alice")
    bob, _ = await user_with_token(app, "bob")
    carol, _ = await user_with_token(app, "carol")
    await _set(app, User, alice.id, locale="id", last_sign_in_at=_at(11))
    await _set(app, User, bob.id, locale="id", last_sign_in_at=_at(12))
    await _set(app, User, carol.id, locale="en", last_sign_in_at=_at(12))
    keys = ["languages", "software_versions", "space_usage", "servers"]
    found = await _post(client, token, "dimensions", keys=keys, **WINDOW)
    assert [d["key"] for d in found] == keys[:3]
    languages, software, space = (d["data"] for d in found)
    assert languages == [
        {"key": "id", "human_key": "Indonesian", "value": "2"},
        {"key": "en", "human_key": "English", "value": "1"},
    ]
    limited = await _post(client, token, "dimensions", keys=["languages"], limit=1, **WINDOW)
    assert [e["key"] for e in limited[0]["data"]] == ["id"]
    assert {"connecthub", "python"} <= {e["key"] for e in software}
    assert {e["key"] for e in software} & {"postgresql", "sqlite"}
    database = space[0]
    assert database["key"] in ("postgresql", "sqlite")
    assert database["unit"] == "bytes"
    assert int(database["value"]) > 0
    assert database["human_value"].split()[1] in ("Bytes", "KB", "MB", "GB")
    assert space[-1]["key"] == "media"


async def test_retention_cohorts(app: FastAPI, client: httpx.AsyncClient) -> None:
    _admin, token = await staff(app, "boss")
    accounts = [(await user_with_token(app, name))[0] for name in ("a", "b", "c")]
    await _set(app, User, accounts[0].id, created_at=_at(10), last_sign_in_at=_at(12))
    await _set(app, User, accounts[1].id, created_at=_at(10), last_sign_in_at=None)
    await _set(app, User, accounts[2].id, created_at=_at(11), last_sign_in_at=_at(11))
    days = await _post(client, token, "retention", frequency="day", **WINDOW)
    assert [c["period"] for c in days] == [f"2026-03-{d}T00:00:00+00:00" for d in (10, 11, 12)]
    assert {c["frequency"] for c in days} == {"day"}
    first, second, third = days
    assert [(p["value"], p["rate"]) for p in first["data"]] == [
        ("1", 0.5),
        ("1", 0.5),
        ("1", 0.5),
    ]
    assert first["data"][0]["date"] == "2026-03-10T00:00:00+00:00"
    assert [(p["value"], p["rate"]) for p in second["data"]] == [("1", 1.0), ("0", 0.0)]
    assert [(p["value"], p["rate"]) for p in third["data"]] == [("0", 0.0)]

    months = await _post(
        client, token, "retention", frequency="month", start_at="2026-02-01", end_at="2026-03-31"
    )
    assert [c["period"] for c in months] == [
        "2026-02-01T00:00:00+00:00",
        "2026-03-01T00:00:00+00:00",
    ]
    assert [p["value"] for p in months[1]["data"]] == ["2"]
    # An unknown frequency is a day, as Mastodon's.
    assert await _post(client, token, "retention", frequency="week", **WINDOW) == days


async def test_view_dashboard_and_admin_read_are_required(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, _ = await user_with_token(app, "alice")
    user_token = await create_token(app, user.id, scopes=frozenset({"admin:read"}))
    moderator, _ = await staff(app, "keeper")
    unscoped = await create_token(app, moderator.id, scopes=frozenset({"read", "write"}))
    narrow = await create_token(app, moderator.id, scopes=frozenset({"admin:read:accounts"}))
    for path in ("measures", "dimensions", "retention"):
        body = {"keys": ["new_users"], **WINDOW}
        for token, status in ((user_token, 403), (unscoped, 403), (narrow, 403)):
            response = await client.post(f"/api/v1/admin/{path}", json=body, headers=auth(token))
            assert response.status_code == status, (path, response.text)
            assert "error" in response.json()
        assert (await client.post(f"/api/v1/admin/{path}", json=body)).status_code == 401


async def test_bad_input_names_the_field(app: FastAPI, client: httpx.AsyncClient) -> None:
    _admin, token = await staff(app, "boss")
    cases = [
        ("measures", {"keys": ["new_users"], "end_at": "2026-03-12"}, "start_at"),
        ("measures", {"keys": ["new_users"], "start_at": "2026-03-12"}, "end_at"),
        (
            "measures",
            {"keys": ["new_users"], "start_at": "March", "end_at": "2026-03-12"},
            "start_at",
        ),
        (
            "measures",
            {"keys": ["new_users"], "start_at": "2026-03-12", "end_at": "2026-03-01"},
            "end_at",
        ),
        (
            "measures",
            {"keys": ["new_users"], "start_at": "2020-01-01", "end_at": "2026-03-01"},
            "end_at",
        ),
        ("measures", {"keys": [{"a": 1}], **WINDOW}, "keys"),
        ("dimensions", {"keys": ["languages"], "limit": "many", **WINDOW}, "limit"),
        (
            "retention",
            {"frequency": "day", "start_at": "2020-01-01", "end_at": "2026-03-01"},
            "end_at",
        ),
    ]
    for path, body, field in cases:
        response = await client.post(f"/api/v1/admin/{path}", json=body, headers=auth(token))
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["error"], (body, response.text)
    # Form bodies, as Mastodon's web client sends them, work as JSON does.
    form = await client.post(
        "/api/v1/admin/measures",
        data={"keys[]": ["new_users"], **WINDOW},
        headers=auth(token),
    )
    assert form.status_code == 200, form.text
    assert [m["key"] for m in form.json()] == ["new_users"]
