"""The admin API: who may read and change flags, validation naming the field, the audit
trail, and the kill switch."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connecthub.accounts.models import Role
from connecthub.ops.logging import AUDIT_LOGGER
from tests.admin.support import audit_lines, staff
from tests.factories import create_token
from tests.flags.support import admin_token, create_flag, features
from tests.social_factories import auth, user_with_token

BOOLEAN = {"key": "new_thing", "kind": "boolean", "default_value": False}


async def test_create_show_list_change_and_delete(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    token = await admin_token(app)
    created = await create_flag(client, token, **BOOLEAN, description="Try it")
    assert created["key"] == "new_thing"
    assert created["enabled"] is True
    assert created["version"] == 1
    assert created["rules"] == []

    shown = await client.get("/api/v1/admin/flags/new_thing", headers=auth(token))
    assert shown.json() == created
    listed = await client.get("/api/v1/admin/flags", headers=auth(token))
    assert [f["key"] for f in listed.json()] == ["new_thing"]

    rules = [{"name": "staff", "conditions": [], "value": True, "percentage": 5}]
    changed = await client.patch(
        "/api/v1/admin/flags/new_thing", json={"rules": rules}, headers=auth(token)
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["version"], changed.json()["rules"]) == (2, rules)

    widened = await client.post(
        "/api/v1/admin/flags/new_thing/rollout", json={"percentage": 25}, headers=auth(token)
    )
    assert widened.json()["rules"][0]["percentage"] == 25

    gone = await client.delete("/api/v1/admin/flags/new_thing", headers=auth(token))
    assert (gone.status_code, gone.json()) == (200, {})
    missing = await client.get("/api/v1/admin/flags/new_thing", headers=auth(token))
    assert missing.status_code == 404

    actions = [(line["action"], line["outcome"]) for line in audit_lines(caplog)]
    assert actions == [
        ("flag.create", "done"),
        ("flag.update", "done"),
        ("flag.rollout", "done"),
        ("flag.delete", "done"),
    ]
    assert all(line["actor"].startswith("account:") for line in audit_lines(caplog))
    assert audit_lines(caplog)[1]["changed"] == ["rules"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "boolean", "default_value": False}, "key"),
        ({"key": "Not A Key", "kind": "boolean", "default_value": False}, "key"),
        ({"key": "k", "kind": "colour", "default_value": False}, "kind"),
        ({"key": "k", "kind": "boolean"}, "default_value"),
        ({"key": "k", "kind": "number", "default_value": "3"}, "default_value"),
        ({"key": "k", "kind": "boolean", "default_value": False, "rules": "all"}, "rules"),
        ({"key": "k", "kind": "boolean", "default_value": False, "colour": 1}, "colour"),
        (
            {"key": "k", "kind": "boolean", "default_value": False, "rules": [{"value": 1}]},
            "rules[0].value",
        ),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    token = await admin_token(app)
    response = await client.post("/api/v1/admin/flags", json=body, headers=auth(token))
    assert response.status_code == 422, response.text
    assert response.json()["error"].startswith(f"Validation failed: {field}:")


async def test_bad_changes_are_refused_too(app: FastAPI, client: httpx.AsyncClient) -> None:
    token = await admin_token(app)
    await create_flag(client, token, **BOOLEAN)
    for body, field in [
        ({"kind": "string"}, "kind"),
        ({"enabled": "no"}, "enabled"),
        ({"experiment": {"variants": []}}, "experiment.variants"),
    ]:
        response = await client.patch(
            "/api/v1/admin/flags/new_thing", json=body, headers=auth(token)
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"].startswith(f"Validation failed: {field}:")
    for percentage in (101, "lots", None):
        response = await client.post(
            "/api/v1/admin/flags/new_thing/rollout",
            json={"percentage": percentage},
            headers=auth(token),
        )
        assert response.status_code == 422, response.text
        assert "percentage" in response.json()["error"]
    response = await client.post(
        "/api/v1/admin/flags", content=b"{not json", headers={
            **auth(token), "Content-Type": "application/json"
        },
    )  # fmt: skip
    assert response.status_code in (400, 422)
    taken = await client.post("/api/v1/admin/flags", json=BOOLEAN, headers=auth(token))
    assert taken.status_code == 409
    unknown = await client.patch("/api/v1/admin/flags/nope", json={}, headers=auth(token))
    assert unknown.status_code == 404


async def test_who_may_read_and_change_flags(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    token = await admin_token(app)
    await create_flag(client, token, **BOOLEAN)
    _mod, moderator = await staff(app, "moderator_may", role=Role.MODERATOR)
    user, user_token = await user_with_token(app, "plain")
    admin_scoped_user = await create_token(
        app, user.id, scopes=frozenset({"read", "admin:read", "admin:write"})
    )

    assert (await client.get("/api/v1/admin/flags", headers=auth(moderator))).status_code == 200
    refused = await client.patch(
        "/api/v1/admin/flags/new_thing", json={"enabled": False}, headers=auth(moderator)
    )
    assert refused.status_code == 403
    # Without the admin scopes, or without the role.
    for bearer in (user_token, admin_scoped_user):
        assert (await client.get("/api/v1/admin/flags", headers=auth(bearer))).status_code == 403
    assert (await client.get("/api/v1/admin/flags")).status_code == 401
    refusals = [line for line in audit_lines(caplog) if line["outcome"] == "refused"]
    assert {line["action"] for line in refusals} >= {"flag.update", "flag.list"}


async def test_the_kill_switch_and_its_undoing(app: FastAPI, client: httpx.AsyncClient) -> None:
    token = await admin_token(app)
    await create_flag(
        client, token, **BOOLEAN, rules=[{"name": "everyone", "conditions": [], "value": True}]
    )
    assert features(app, 1).enabled("new_thing") is True
    killed = await client.post("/api/v1/admin/flags/new_thing/kill", headers=auth(token))
    assert killed.json()["enabled"] is False
    # This process answers with the change: its rules were reloaded before the response.
    assert features(app, 1).enabled("new_thing") is False
    await client.post("/api/v1/admin/flags/new_thing/enable", headers=auth(token))
    assert features(app, 1).enabled("new_thing") is True
