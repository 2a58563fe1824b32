"""Who may use the admin reports API: the Manage Reports permission (moderators and
admins) with admin:read:reports / admin:write:reports (or their parents); everyone else is
refused with 403 on every route, and the refusal is audited."""

from __future__ import annotations

import logging
from typing import Any

from connecthub.accounts.models import Role
from connecthub.ops.logging import AUDIT_LOGGER
from tests.admin.support import audit_lines
from tests.factories import create_token, create_user
from tests.reports.support import REPORT_SCOPES, filed
from tests.social_factories import auth, post_status, user_with_token

ADMIN_ROUTES = (
    ("GET", ""),
    ("GET", "/{id}"),
    ("PUT", "/{id}"),
    ("POST", "/{id}/assign_to_self"),
    ("POST", "/{id}/unassign"),
    ("POST", "/{id}/resolve"),
    ("POST", "/{id}/reopen"),
    ("GET", "/{id}/notes"),
    ("POST", "/{id}/notes"),
    ("DELETE", "/{id}/notes/1"),
    ("POST", "/{id}/statuses/{status}/delete"),
    ("POST", "/{id}/statuses/{status}/sensitive"),
)
READS = {("GET", ""), ("GET", "/{id}"), ("GET", "/{id}/notes")}


async def _call(client: Any, token: str, method: str, path: str) -> Any:
    body = {"content": "a note", "category": "spam"} if method in ("POST", "PUT") else None
    return await client.request(
        method, f"/api/v1/admin/reports{path}", json=body, headers=auth(token)
    )


async def _a_report(app: Any, client: Any) -> tuple[str, str]:
    _, token = await user_with_token(app, "reporter")
    target, target_token = await user_with_token(app, "target")
    status = await post_status(client, target_token, "bad")
    report = await filed(client, token, target.id, status_ids=[status["id"]])
    return report["id"], status["id"]


async def test_plain_users_are_refused_on_every_route(app: Any, client: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    report_id, status_id = await _a_report(app, client)
    plain, _ = await create_user(app, "plain")
    token = await create_token(app, plain.id, scopes=REPORT_SCOPES)

    for method, path in ADMIN_ROUTES:
        response = await _call(client, token, method, path.format(id=report_id, status=status_id))
        assert response.status_code == 403, (method, path, response.text)
        assert response.json() == {"error": "This action is not allowed"}
        anonymous = await client.request(
            method, f"/api/v1/admin/reports{path.format(id=report_id, status=status_id)}"
        )
        assert anonymous.status_code == 401
    refused = [line for line in audit_lines(caplog) if line["outcome"] == "refused"]
    assert len(refused) == len(ADMIN_ROUTES)
    assert all(line["actor"] == f"account:{plain.id}" for line in refused)


async def test_the_report_scopes_are_required(app: Any, client: Any) -> None:
    report_id, status_id = await _a_report(app, client)
    mod, _ = await create_user(app, "moddy", role=Role.MODERATOR)
    no_admin = await create_token(app, mod.id, scopes=frozenset({"read", "write"}))
    accounts_only = await create_token(
        app, mod.id, scopes=frozenset({"admin:read:accounts", "admin:write:accounts"})
    )
    read_only = await create_token(app, mod.id, scopes=frozenset({"admin:read:reports"}))
    write_only = await create_token(app, mod.id, scopes=frozenset({"admin:write:reports"}))
    parents = await create_token(app, mod.id, scopes=frozenset({"admin:read", "admin:write"}))

    for method, path in ADMIN_ROUTES:
        formatted = path.format(id=report_id, status=status_id)
        for token in (no_admin, accounts_only):
            response = await _call(client, token, method, formatted)
            assert response.status_code == 403, (method, path)
            assert "scopes" in response.json()["error"]
        wrong = write_only if (method, path) in READS else read_only
        assert (await _call(client, wrong, method, formatted)).status_code == 403
    assert (await _call(client, read_only, "GET", f"/{report_id}")).status_code == 200
    assert (await _call(client, parents, "GET", "")).status_code == 200
    assert (await _call(client, write_only, "POST", f"/{report_id}/resolve")).status_code == 200
