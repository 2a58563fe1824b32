"""Mastodon's admin denylist routes: shapes, validation, permissions, scopes, pages, and
every change on record in the audit log."""

from __future__ import annotations

import hashlib

import httpx
from fastapi import FastAPI

from connecthub.accounts.models import Role
from tests.admin.support import staff
from tests.audit.support import audit_rows
from tests.factories import create_token
from tests.social_factories import auth


async def _admin(app: FastAPI) -> tuple[int, str]:
    account, token = await staff(app, "chief", Role.ADMIN)
    return account.id, token


async def test_ip_blocks_create_show_update_list_delete(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin_id, token = await _admin(app)
    created = await client.post(
        "/api/v1/admin/ip_blocks",
        json={
            "ip": "192.0.2.0/24",
            "severity": "sign_up_block",
            "comment": "spam",
            "expires_in": 3600,
        },
        headers=auth(token),
    )
    assert created.status_code == 200, created.text
    block = created.json()
    assert block["ip"] == "192.0.2.0/24"
    assert block["severity"] == "sign_up_block"
    assert block["comment"] == "spam"
    assert block["expires_at"] is not None
    v6 = await client.post(
        "/api/v1/admin/ip_blocks",
        data={"ip": "2001:db8::1", "severity": "no_access"},
        headers=auth(token),
    )
    assert v6.status_code == 200
    assert v6.json()["ip"] == "2001:db8::1/128"
    assert v6.json()["expires_at"] is None

    shown = await client.get(f"/api/v1/admin/ip_blocks/{block['id']}", headers=auth(token))
    assert shown.json() == block
    changed = await client.put(
        f"/api/v1/admin/ip_blocks/{block['id']}",
        json={"severity": "sign_up_requires_approval", "expires_in": ""},
        headers=auth(token),
    )
    assert changed.status_code == 200
    assert changed.json()["severity"] == "sign_up_requires_approval"
    assert changed.json()["expires_at"] is None
    assert changed.json()["comment"] == "spam"

    listed = await client.get("/api/v1/admin/ip_blocks", params={"limit": 1}, headers=auth(token))
    assert [b["id"] for b in listed.json()] == [v6.json()["id"]]
    assert f"max_id={v6.json()['id']}" in listed.headers["Link"]

    gone = await client.delete(f"/api/v1/admin/ip_blocks/{block['id']}", headers=auth(token))
    assert gone.status_code == 200
    assert gone.json() == {}
    missing = await client.get(f"/api/v1/admin/ip_blocks/{block['id']}", headers=auth(token))
    assert missing.status_code == 404

    rows = [r for r in await audit_rows(app) if r.target_type == "IpBlock"]
    assert [(r.action, r.actor_account_id) for r in rows] == [
        ("create_ip_block", admin_id),
        ("create_ip_block", admin_id),
        ("update_ip_block", admin_id),
        ("delete_ip_block", admin_id),
    ]
    assert '"severity":"sign_up_block"' in (rows[2].before or "")
    assert '"severity":"sign_up_requires_approval"' in (rows[2].after or "")
    assert rows[3].after is None
    assert rows[3].target_id == block["id"]


async def test_ip_block_input_is_checked(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, token = await _admin(app)

    async def post(**fields: object) -> httpx.Response:
        return await client.post("/api/v1/admin/ip_blocks", json=fields, headers=auth(token))

    assert "ip" in (await post(severity="no_access")).json()["error"]
    bad_ip = await post(ip="300.1.1.1", severity="no_access")
    assert bad_ip.status_code == 422
    assert "ip" in bad_ip.json()["error"]
    host_bits = await post(ip="10.0.0.1/8", severity="no_access")
    assert host_bits.status_code == 422
    bad_severity = await post(ip="10.0.0.0/8", severity="everything")
    assert bad_severity.status_code == 422
    assert "severity" in bad_severity.json()["error"]
    bad_expiry = await post(ip="10.0.0.0/8", severity="no_access", expires_in="soon")
    assert bad_expiry.status_code == 422
    assert "expires_in" in bad_expiry.json()["error"]
    assert (await post(ip="10.0.0.0/8", severity="no_access")).status_code == 200
    again = await post(ip="10.0.0.0/8", severity="sign_up_block")
    assert again.status_code == 422
    assert "taken" in again.json()["error"]


async def test_email_domain_blocks(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, token = await _admin(app)
    created = await client.post(
        "/api/v1/admin/email_domain_blocks", json={"domain": "Spam.Example."}, headers=auth(token)
    )
    assert created.status_code == 200, created.text
    assert created.json()["domain"] == "spam.example"
    assert created.json()["history"] == []
    block_id = created.json()["id"]
    shown = await client.get(f"/api/v1/admin/email_domain_blocks/{block_id}", headers=auth(token))
    assert shown.json() == created.json()
    listed = await client.get("/api/v1/admin/email_domain_blocks", headers=auth(token))
    assert [b["id"] for b in listed.json()] == [block_id]
    again = await client.post(
        "/api/v1/admin/email_domain_blocks", json={"domain": "spam.example"}, headers=auth(token)
    )
    assert again.status_code == 422
    for bad in ("", "not a domain", "a..b"):
        refused = await client.post(
            "/api/v1/admin/email_domain_blocks", json={"domain": bad}, headers=auth(token)
        )
        assert refused.status_code == 422
        assert "domain" in refused.json()["error"]
    gone = await client.delete(f"/api/v1/admin/email_domain_blocks/{block_id}", headers=auth(token))
    assert gone.status_code == 200
    actions = [r.action for r in await audit_rows(app) if r.target_type == "EmailDomainBlock"]
    assert actions == ["create_email_domain_block", "delete_email_domain_block"]


async def test_canonical_email_blocks_and_their_test(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, token = await _admin(app)
    created = await client.post(
        "/api/v1/admin/canonical_email_blocks",
        json={"email": "J.Doe+news@Mail.Example"},
        headers=auth(token),
    )
    assert created.status_code == 200, created.text
    digest = hashlib.sha256(b"jdoe@mail.example").hexdigest()
    assert created.json()["canonical_email_hash"] == digest
    matched = await client.post(
        "/api/v1/admin/canonical_email_blocks/test",
        json={"email": "jdoe+other@mail.example"},
        headers=auth(token),
    )
    assert matched.status_code == 200
    assert matched.json() == [created.json()]
    unmatched = await client.post(
        "/api/v1/admin/canonical_email_blocks/test",
        json={"email": "jdoe@other.example"},
        headers=auth(token),
    )
    assert unmatched.json() == []
    by_hash = await client.post(
        "/api/v1/admin/canonical_email_blocks",
        json={"canonical_email_hash": "ab" * 32},
        headers=auth(token),
    )
    assert by_hash.status_code == 200
    bad = await client.post(
        "/api/v1/admin/canonical_email_blocks",
        json={"canonical_email_hash": "nope"},
        headers=auth(token),
    )
    assert bad.status_code == 422
    nothing = await client.post(
        "/api/v1/admin/canonical_email_blocks", json={}, headers=auth(token)
    )
    assert nothing.status_code == 422
    listed = await client.get("/api/v1/admin/canonical_email_blocks", headers=auth(token))
    assert [b["id"] for b in listed.json()] == [by_hash.json()["id"], created.json()["id"]]
    gone = await client.delete(
        f"/api/v1/admin/canonical_email_blocks/{created.json()['id']}", headers=auth(token)
    )
    assert gone.status_code == 200


async def test_moderators_and_narrow_scopes_are_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    moderator, token = await staff(app, "moddy")
    for path in ("ip_blocks", "email_domain_blocks", "canonical_email_blocks"):
        refused = await client.get(f"/api/v1/admin/{path}", headers=auth(token))
        assert refused.status_code == 403
        assert refused.json() == {"error": "This action is not allowed"}
    refused = [r for r in await audit_rows(app) if r.outcome == "refused"]
    assert [r.action for r in refused] == [
        "list_ip_blocks",
        "list_email_domain_blocks",
        "list_canonical_email_blocks",
    ]
    assert all(r.actor_account_id == moderator.id for r in refused)

    admin, _ = await staff(app, "chief", Role.ADMIN)
    reader = await create_token(app, admin.id, scopes=frozenset({"admin:read:ip_blocks"}))
    assert (await client.get("/api/v1/admin/ip_blocks", headers=auth(reader))).status_code == 200
    write = await client.post(
        "/api/v1/admin/ip_blocks",
        json={"ip": "10.0.0.0/8", "severity": "no_access"},
        headers=auth(reader),
    )
    assert write.status_code == 403
    other = await client.get("/api/v1/admin/email_domain_blocks", headers=auth(reader))
    assert other.status_code == 403
