"""GET /api/v1/admin/audit_log: who may read it, its filters and its pages."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from connecthub.accounts.models import Role
from tests.admin.support import act, staff
from tests.audit.support import audit_rows
from tests.factories import create_token, create_user
from tests.social_factories import auth


async def _log(client: httpx.AsyncClient, token: str, **params: str) -> httpx.Response:
    return await client.get("/api/v1/admin/audit_log", params=params, headers=auth(token))


async def test_filters_pages_and_entity(app: FastAPI, client: httpx.AsyncClient) -> None:
    moderator, token = await staff(app, "moddy")
    admin, admin_token = await staff(app, "chief", Role.ADMIN)
    target, _ = await create_user(app, "target")
    for kind in ("none", "disable", "none"):
        assert (await act(client, token, target.id, kind)).status_code == 200
    assert (await act(client, admin_token, target.id, "suspend")).status_code == 200

    everything = await _log(client, token)
    assert everything.status_code == 200, everything.text
    entries = everything.json()
    assert [e["action"] for e in entries] == ["suspend", "none", "disable", "none"]
    newest = entries[0]
    assert newest["actor_account_id"] == str(admin.id)
    assert newest["target_type"] == "account"
    assert newest["target_id"] == str(target.id)
    assert newest["outcome"] == "done"
    assert len(newest["hash"]) == 64
    assert newest["details"]["actor_role"] == "admin"

    mine = (await _log(client, token, account_id=str(moderator.id))).json()
    assert [e["action"] for e in mine] == ["none", "disable", "none"]
    nones = (await _log(client, token, action="none")).json()
    assert len(nones) == 2
    by_target = (await _log(client, token, target_type="account", target_id="1")).json()
    assert by_target == []
    assert (await _log(client, token, until="2000-01-01")).json() == []
    assert len((await _log(client, token, since="2000-01-01T00:00:00Z")).json()) == 4

    first = await _log(client, token, limit="2")
    assert [e["id"] for e in first.json()] == ["4", "3"]
    assert 'rel="next"' in first.headers["Link"]
    assert "max_id=3" in first.headers["Link"]
    second = await _log(client, token, limit="2", max_id="3")
    assert [e["id"] for e in second.json()] == ["2", "1"]
    after = await _log(client, token, min_id="2")
    assert [e["id"] for e in after.json()] == ["4", "3"]


async def test_bad_filters_are_422(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, token = await staff(app, "moddy")
    bad_date = await _log(client, token, since="yesterday")
    assert bad_date.status_code == 422
    assert "since" in bad_date.json()["error"]
    bad_id = await _log(client, token, account_id="me")
    assert bad_id.status_code == 422
    assert "account_id" in bad_id.json()["error"]


async def test_users_and_tokens_without_admin_read_are_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, _ = await create_user(app, "plain")
    user_token = await create_token(app, user.id, scopes=frozenset({"admin:read"}))
    refused = await _log(client, user_token)
    assert refused.status_code == 403
    assert refused.json() == {"error": "This action is not allowed"}
    moderator, _ = await staff(app, "moddy")
    narrow = await create_token(app, moderator.id, scopes=frozenset({"read"}))
    assert (await _log(client, narrow)).status_code == 403
    # The refused read is itself on record.
    rows = await audit_rows(app)
    assert [(r.action, r.outcome, r.actor_account_id) for r in rows] == [
        ("read_audit_log", "refused", user.id)
    ]
