"""Token lifecycle: the password grant, refresh-token rotation and reuse, revocation,
scopes, the authorised-apps and sessions lists, and what the database holds."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from connecthub.accounts import two_factor
from connecthub.accounts.models import OAuthApplication, OAuthGrant, OAuthToken
from connecthub.oauth import repository, tokens
from tests.engines import redis_url
from tests.factories import (
    DEFAULT_PASSWORD,
    create_user,
    password_grant,
    register_oauth_app,
)
from tests.oauth.test_code_flow import (
    REDIRECT,
    authorize_params,
    code_from,
    exchange,
    sign_in_on_page,
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def refresh(client: Any, oauth_app: dict[str, Any], refresh_token: str) -> Any:
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": oauth_app["client_id"],
            "client_secret": oauth_app["client_secret"],
            "refresh_token": refresh_token,
        },
    )


async def revoke(client: Any, oauth_app: dict[str, Any], token: str) -> Any:
    """The client revokes its own token (RFC 7009)."""
    return await client.post(
        "/oauth/revoke",
        data={
            "token": token,
            "client_id": oauth_app["client_id"],
            "client_secret": oauth_app["client_secret"],
        },
    )


async def test_password_grant_issues_a_non_expiring_token(app, client):
    await create_user(app, "alice")
    oauth_app = await register_oauth_app(client)
    response = await password_grant(client, oauth_app, "ALICE@example.com")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert set(body["scope"].split()) == {"read", "write", "follow", "push"}
    assert "expires_in" not in body
    assert "refresh_token" not in body
    assert abs(body["created_at"] - time.time()) < 3600
    assert (
        await client.get("/api/v1/apps/verify_credentials", headers=bearer(body["access_token"]))
    ).json()["name"] == oauth_app["name"]


async def test_password_grant_refuses_bad_credentials_without_saying_why(app, client):
    await create_user(app, "alice")
    oauth_app = await register_oauth_app(client)
    wrong = await password_grant(client, oauth_app, "alice@example.com", "not the password")
    unknown = await password_grant(client, oauth_app, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"] == "invalid_grant"


async def test_password_grant_tells_the_client_a_one_time_code_is_needed(app, client):
    _account, user = await create_user(app, "alice")
    secret_key = app.state.settings.secret_key
    async with app.state.engines.db.transaction() as session:
        user = await session.merge(user)
        enrolment = two_factor.begin(user, secret_key=secret_key, account_label="a", issuer="C")
        await two_factor.confirm(
            session, user, pyotp.TOTP(enrolment.secret).now(), secret_key=secret_key
        )
    oauth_app = await register_oauth_app(client)

    asked = await password_grant(client, oauth_app, "alice@example.com")
    assert asked.status_code == 400
    assert asked.json()["error"] == "invalid_grant"
    assert "one-time code required" in asked.json()["error_description"].lower()

    bad = await password_grant(client, oauth_app, "alice@example.com", otp_attempt="000000")
    assert bad.json()["error"] == "invalid_grant"

    code = pyotp.TOTP(enrolment.secret).at(int(time.time()) + 30)
    ok = await password_grant(client, oauth_app, "alice@example.com", otp_attempt=code)
    assert ok.status_code == 200, ok.text


async def test_refresh_tokens_rotate_and_a_reused_one_kills_the_family(app, client):
    await create_user(app, "alice")
    oauth_app = await register_oauth_app(client)
    first = await password_grant(client, oauth_app, "alice@example.com", issue_refresh_token="true")
    assert first.status_code == 200, first.text
    first_body = first.json()
    assert first_body["expires_in"] > 0
    assert first_body["refresh_token"]

    rotated = await refresh(client, oauth_app, first_body["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first_body["refresh_token"]
    assert second["access_token"] != first_body["access_token"]
    assert second["expires_in"] > 0
    assert set(second["scope"].split()) == set(first_body["scope"].split())
    # Rotation retires the old pair at once.
    assert (
        await client.get(
            "/api/v1/apps/verify_credentials", headers=bearer(first_body["access_token"])
        )
    ).status_code == 401
    assert (
        await client.get("/api/v1/apps/verify_credentials", headers=bearer(second["access_token"]))
    ).status_code == 200

    # The old refresh token comes back (stolen copy): refused, and the family dies.
    replay = await refresh(client, oauth_app, first_body["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert (
        await client.get("/api/v1/apps/verify_credentials", headers=bearer(second["access_token"]))
    ).status_code == 401
    dead = await refresh(client, oauth_app, second["refresh_token"])
    assert dead.json()["error"] == "invalid_grant"


async def test_refresh_token_belongs_to_its_client(app, client):
    await create_user(app, "alice")
    oauth_app = await register_oauth_app(client)
    other_app = await register_oauth_app(client, name="Other")
    issued = await password_grant(client, oauth_app, "alice@example.com", issue_refresh_token="1")
    stolen = await refresh(client, other_app, issued.json()["refresh_token"])
    assert stolen.json()["error"] == "invalid_grant"
    assert (await refresh(client, oauth_app, issued.json()["refresh_token"])).status_code == 200


async def test_revoked_token_is_refused_right_away(app, client):
    await create_user(app, "alice")
    oauth_app = await register_oauth_app(client)
    token = (await password_grant(client, oauth_app, "alice@example.com")).json()["access_token"]
    # Warm the token cache first, so revocation must evict it.
    assert (
        await client.get("/api/v1/connecthub/sessions", headers=bearer(token))
    ).status_code == 200

    response = await revoke(client, oauth_app, token)
    assert response.status_code == 200
    assert response.json() == {}
    assert (
        await client.get("/api/v1/connecthub/sessions", headers=bearer(token))
    ).status_code == 401
    assert (
        await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    ).status_code == 401


@pytest.mark.skipif(
    redis_url() is None,
    reason="two server processes share Redis: TEST_REDIS_URL=redis://127.0.0.1:6379/0",
)
async def test_a_token_revoked_through_one_process_is_refused_by_the_others(app_factory):
    """Each process keeps its own copy of a token it has seen (the near cache): a
    revocation through one process must drop the copies in the others."""
    async with app_factory() as (first, client), app_factory() as (_, other):
        await create_user(first, "alice")
        oauth_app = await register_oauth_app(client)
        token = (await password_grant(client, oauth_app, "alice@example.com")).json()
        token = token["access_token"]
        for _ in range(2):  # the second request is answered from the near copy
            assert (
                await other.get("/api/v1/apps/verify_credentials", headers=bearer(token))
            ).status_code == 200
        response = await revoke(client, oauth_app, token)
        assert response.status_code == 200
        # The invalidation crosses Redis pub/sub: allow it a moment, well under a second.
        deadline = time.monotonic() + 1.0
        while True:
            status = (
                await other.get("/api/v1/apps/verify_credentials", headers=bearer(token))
            ).status_code
            if status == 401 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.02)
        assert status == 401


async def test_a_lookup_racing_a_revocation_cannot_bring_the_token_back(app, client):
    """A request reads the live token from the database (nothing cached yet), the token is
    revoked and that commits, and only then does the request fill the cache."""
    await create_user(app, "alice")
    oauth_app = await register_oauth_app(client)
    token = (await password_grant(client, oauth_app, "alice@example.com")).json()["access_token"]
    engines = app.state.engines
    token_hash = tokens.hash_secret(token)
    async with engines.db.session(readonly=True) as session:
        read_before = await repository.find_live_token(session, token_hash)
    assert read_before is not None

    response = await revoke(client, oauth_app, token)
    assert response.status_code == 200
    await tokens.remember_token(engines, token_hash, read_before)  # the late fill

    for path in ("/api/v1/apps/verify_credentials", "/api/v1/connecthub/sessions"):
        assert (await client.get(path, headers=bearer(token))).status_code == 401


async def test_revoke_answers_200_for_unknown_tokens_and_ignores_other_clients(app, client):
    await create_user(app, "alice")
    oauth_app = await register_oauth_app(client)
    other_app = await register_oauth_app(client, name="Other")
    token = (await password_grant(client, oauth_app, "alice@example.com")).json()["access_token"]
    creds = {"client_id": other_app["client_id"], "client_secret": other_app["client_secret"]}
    assert (await client.post("/oauth/revoke", data={"token": "unknown", **creds})).json() == {}
    assert (await client.post("/oauth/revoke", data={"token": token, **creds})).status_code == 200
    assert (
        await client.get("/api/v1/connecthub/sessions", headers=bearer(token))
    ).status_code == 200
    bad_client = await client.post(
        "/oauth/revoke",
        data={"token": token, "client_id": other_app["client_id"], "client_secret": "wrong"},
    )
    assert bad_client.status_code == 401


async def test_read_token_cannot_write(app, client):
    await create_user(app, "alice")
    oauth_app = await register_oauth_app(client)
    read_only = await password_grant(client, oauth_app, "alice@example.com", scope="read")
    assert read_only.json()["scope"] == "read"
    headers = bearer(read_only.json()["access_token"])
    sessions = await client.get("/api/v1/connecthub/sessions", headers=headers)
    assert sessions.status_code == 200
    session_id = sessions.json()[0]["id"]
    refused = await client.delete(f"/api/v1/connecthub/sessions/{session_id}", headers=headers)
    assert refused.status_code == 403
    assert (await client.get("/api/v1/connecthub/sessions", headers=headers)).status_code == 200


async def test_sessions_and_authorized_apps_list_and_revoke(app, client):
    await create_user(app, "alice")
    await create_user(app, "bob")
    phone = await register_oauth_app(client, name="Phone app")
    desk = await register_oauth_app(client, name="Desk app")
    t1 = (await password_grant(client, phone, "alice@example.com")).json()["access_token"]
    t2 = (await password_grant(client, phone, "alice@example.com", scope="read")).json()[
        "access_token"
    ]
    t3 = (await password_grant(client, desk, "alice@example.com")).json()["access_token"]
    bobs = (await password_grant(client, desk, "bob@example.com")).json()["access_token"]

    listed = await client.get(
        "/api/v1/connecthub/sessions", headers={**bearer(t3), "User-Agent": "test-agent"}
    )
    assert listed.status_code == 200
    sessions = listed.json()
    assert len(sessions) == 3  # bob's session is not alice's business
    assert [s["application"] for s in sessions if s["current"]] == ["Desk app"]
    assert all(s["last_used_ip"] == "127.0.0.1" for s in sessions)

    apps = (await client.get("/api/v1/connecthub/authorized_apps", headers=bearer(t3))).json()
    by_name = {item["name"]: item for item in apps}
    assert set(by_name) == {"Phone app", "Desk app"}
    assert by_name["Phone app"]["sessions_count"] == 2
    assert set(by_name["Phone app"]["scopes"]) == {"read", "write", "follow", "push"}
    assert by_name["Phone app"]["created_at"].endswith("Z")

    # Revoke the phone app: both of its tokens die at once; the desk app lives.
    gone = await client.delete(
        f"/api/v1/connecthub/authorized_apps/{by_name['Phone app']['id']}", headers=bearer(t3)
    )
    assert gone.status_code == 200
    for token in (t1, t2):
        assert (
            await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
        ).status_code == 401
    assert (
        await client.get("/api/v1/apps/verify_credentials", headers=bearer(t3))
    ).status_code == 200

    # Sign one session out by id; another user's session id is simply not found.
    bob_sessions = (await client.get("/api/v1/connecthub/sessions", headers=bearer(bobs))).json()
    foreign = await client.delete(
        f"/api/v1/connecthub/sessions/{bob_sessions[0]['id']}", headers=bearer(t3)
    )
    assert foreign.status_code == 404
    mine = (await client.get("/api/v1/connecthub/sessions", headers=bearer(t3))).json()
    assert (
        await client.delete(f"/api/v1/connecthub/sessions/{mine[0]['id']}", headers=bearer(t3))
    ).status_code == 200
    assert (await client.get("/api/v1/connecthub/sessions", headers=bearer(t3))).status_code == 401
    assert (
        await client.get("/api/v1/connecthub/sessions", headers=bearer(bobs))
    ).status_code == 200
    bad_id = await client.delete("/api/v1/connecthub/sessions/abc", headers=bearer(bobs))
    assert bad_id.status_code == 404  # a path id that is no id names no record


async def test_storage_holds_no_plaintext_secret(app, client):
    """An audit of the OAuth tables: no client secret, code, access or refresh token."""
    await create_user(app, "alice")
    oauth_app = await register_oauth_app(client, redirect_uris=REDIRECT)
    code = code_from(
        await sign_in_on_page(client, authorize_params(oauth_app), email="alice@example.com")
    )["code"][0]
    by_code = (await exchange(client, oauth_app, code)).json()
    by_password = (
        await password_grant(client, oauth_app, "alice@example.com", issue_refresh_token="true")
    ).json()
    rotated = (await refresh(client, oauth_app, by_password["refresh_token"])).json()
    secrets_shown = [
        oauth_app["client_secret"],
        code,
        by_code["access_token"],
        by_password["access_token"],
        by_password["refresh_token"],
        rotated["access_token"],
        rotated["refresh_token"],
        DEFAULT_PASSWORD,
    ]

    stored: list[str] = []
    async with app.state.engines.db.session(readonly=True) as session:
        for model in (OAuthApplication, OAuthGrant, OAuthToken):
            for row in (await session.execute(select(model))).scalars():
                stored.extend(str(getattr(row, column.key)) for column in model.__table__.columns)
    assert len(stored) > 20
    dump = "\n".join(stored)
    for secret in secrets_shown:
        assert secret not in dump
