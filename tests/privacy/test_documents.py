"""The privacy policy and the terms of service as versioned documents: the admin API, the
Mastodon instance routes (4.0 / 4.4 shapes), the version sign-up records, and re-acceptance
when a new version of the terms takes effect."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from connecthub.accounts.models import Role, User
from connecthub.clock import utcnow
from connecthub.privacy.models import Consent
from tests.accounts.support import (
    STRONG_PASSWORD,
    api_sign_up,
    bearer,
    csrf,
    hidden_fields,
    web_sign_in,
)
from tests.factories import create_token, create_user

DOCS = "/api/v1/admin/legal_documents"
ACCEPTANCE = "/api/v1/connecthub/terms_acceptance"
ADMIN_SCOPES = frozenset({"read", "write", "admin:read", "admin:write"})


def _day(offset: int = 0) -> str:
    return (utcnow().date() + timedelta(days=offset)).isoformat()


async def _admin(app: FastAPI) -> str:
    account, _ = await create_user(app, "boss", role=Role.ADMIN)
    return await create_token(app, account.id, scopes=ADMIN_SCOPES)


async def _published(
    client: httpx.AsyncClient, admin: str, kind: str, effective: str, text: str
) -> dict[str, Any]:
    made = await client.post(
        DOCS,
        json={"kind": kind, "text": text, "effective_date": effective, "changelog": "new"},
        headers=bearer(admin),
    )
    assert made.status_code == 200, made.text
    assert made.json()["published_at"] is None
    published = await client.post(f"{DOCS}/{made.json()['id']}/publish", headers=bearer(admin))
    assert published.status_code == 200, published.text
    return dict(published.json())


async def test_documents_are_versioned_and_served_in_mastodons_shapes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/api/v1/instance/terms_of_service")).status_code == 404
    assert (await client.get("/api/v1/instance/privacy_policy")).status_code == 404
    assert (await client.get("/terms-of-service")).status_code == 404
    admin = await _admin(app)
    await _published(client, admin, "privacy_policy", _day(-30), "# Privacy\n\nOn %{domain}.")
    old = await _published(
        client, admin, "terms_of_service", _day(-10), "Be **kind**. <script>x</script>"
    )
    assert old["content"].startswith("<p>Be <strong>kind</strong>. &lt;script&gt;")
    policy = (await client.get("/api/v1/instance/privacy_policy")).json()
    assert set(policy) == {"updated_at", "content"}
    assert "<h1>Privacy</h1>" in policy["content"]
    assert app.state.engines.settings.local_domain in policy["content"]

    terms = (await client.get("/api/v1/instance/terms_of_service")).json()
    assert terms == {
        "effective_date": _day(-10),
        "effective": True,
        "content": old["content"],
        "succeeded_by": None,
    }
    # A version announced ahead: the one in effect names its successor.
    await _published(client, admin, "terms_of_service", _day(14), "Be kinder.")
    terms = (await client.get("/api/v1/instance/terms_of_service")).json()
    assert (terms["effective_date"], terms["succeeded_by"]) == (_day(-10), _day(14))
    page = await client.get("/terms-of-service")
    assert page.status_code == 200
    assert "<strong>kind</strong>" in page.text
    assert "<script>x" not in page.text
    assert "<h1>Privacy</h1>" in (await client.get("/privacy-policy")).text
    upcoming = (await client.get(f"/api/v1/instance/terms_of_service/{_day(14)}")).json()
    assert (upcoming["effective"], upcoming["succeeded_by"]) == (False, None)
    for missing in (_day(-11), "yesterday"):
        gone = await client.get(f"/api/v1/instance/terms_of_service/{missing}")
        assert gone.status_code == 404
        assert gone.json() == {"error": "Record not found"}

    listed = (await client.get(DOCS, headers=bearer(admin))).json()
    assert [(d["kind"], d["effective_date"]) for d in listed] == [
        ("privacy_policy", _day(-30)),
        ("terms_of_service", _day(14)),
        ("terms_of_service", _day(-10)),
    ]


async def test_bad_document_input_is_refused_by_name(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await _admin(app)
    cases = [
        ({"text": "x", "effective_date": _day()}, "kind"),
        ({"kind": "cookie_policy", "text": "x", "effective_date": _day()}, "kind"),
        ({"kind": "terms_of_service", "effective_date": _day()}, "text"),
        ({"kind": "terms_of_service", "text": "x"}, "effective_date"),
        ({"kind": "terms_of_service", "text": "x", "effective_date": "soon"}, "effective_date"),
    ]
    for body, field in cases:
        refused = await client.post(DOCS, json=body, headers=bearer(admin))
        assert refused.status_code == 422, body
        assert field in refused.json()["error"]
    published = await _published(client, admin, "terms_of_service", _day(), "v1")
    again = await client.post(
        DOCS,
        json={"kind": "terms_of_service", "text": "v2", "effective_date": _day()},
        headers=bearer(admin),
    )
    assert again.status_code == 422
    assert "effective_date" in again.json()["error"]
    frozen = await client.put(
        f"{DOCS}/{published['id']}", json={"text": "rewritten"}, headers=bearer(admin)
    )
    assert frozen.status_code == 422
    assert (
        await client.delete(f"{DOCS}/{published['id']}", headers=bearer(admin))
    ).status_code == 422
    assert (await client.get(f"{DOCS}/123", headers=bearer(admin))).status_code == 404


async def test_only_admins_edit_documents(app: FastAPI, client: httpx.AsyncClient) -> None:
    moderator, _ = await create_user(app, "moddy", role=Role.MODERATOR)
    moderator_token = await create_token(app, moderator.id, scopes=ADMIN_SCOPES)
    user, _ = await create_user(app, "plain")
    user_token = await create_token(app, user.id)
    body = {"kind": "terms_of_service", "text": "x", "effective_date": _day()}
    assert (await client.post(DOCS, json=body, headers=bearer(moderator_token))).status_code == 403
    assert (await client.post(DOCS, json=body, headers=bearer(user_token))).status_code == 403
    assert (await client.get(DOCS, headers=bearer(user_token))).status_code == 403
    assert (await client.get(DOCS)).status_code == 401


async def _consents(app: FastAPI, purpose: str) -> list[tuple[str, str]]:
    async with app.state.engines.db.session(readonly=True) as session:
        rows = await session.scalars(
            select(Consent).where(Consent.purpose == purpose).order_by(Consent.granted_at)
        )
        return [(row.policy_version, row.method) for row in rows]


async def test_a_new_terms_version_must_be_accepted_again(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await _admin(app)
    first = await _published(client, admin, "terms_of_service", _day(-30), "Version one.")
    await _published(client, admin, "privacy_policy", _day(-40), "We keep little.")
    signed_up = await api_sign_up(app, client, "newcomer")
    assert signed_up.status_code == 200, signed_up.text
    token = signed_up.json()["access_token"]
    async with app.state.engines.db.transaction() as session:
        await session.execute(update(User).values(confirmed_at=utcnow()))
    # Sign-up recorded the versions in effect.
    assert await _consents(app, "terms") == [(first["effective_date"], "api")]
    assert await _consents(app, "privacy_policy") == [(_day(-40), "api")]
    state = (await client.get(ACCEPTANCE, headers=bearer(token))).json()
    assert state["acceptance_required"] is False
    assert state["current_version"] == state["accepted_version"] == _day(-30)

    # Announced for later: nothing to accept yet.
    await _published(client, admin, "terms_of_service", _day(7), "Version three.")
    assert (await client.get(ACCEPTANCE, headers=bearer(token))).json()[
        "acceptance_required"
    ] is False

    # In effect today: everyone who accepted an older version is asked again.
    await _published(client, admin, "terms_of_service", _day(), "Version two.")
    state = (await client.get(ACCEPTANCE, headers=bearer(token))).json()
    assert state == {
        "acceptance_required": True,
        "current_version": _day(),
        "accepted_version": _day(-30),
        "accepted_at": state["accepted_at"],
    }
    stale = await client.post(ACCEPTANCE, json={"version": _day(-30)}, headers=bearer(token))
    assert stale.status_code == 422
    assert "version" in stale.json()["error"]
    missing = await client.post(ACCEPTANCE, json={}, headers=bearer(token))
    assert missing.status_code == 422
    assert "version" in missing.json()["error"]
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))).json()
    read_only = await create_token(app, int(me["id"]), scopes=frozenset({"read"}))
    assert (
        await client.post(ACCEPTANCE, json={"version": _day()}, headers=bearer(read_only))
    ).status_code == 403

    accepted = await client.post(ACCEPTANCE, json={"version": _day()}, headers=bearer(token))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["acceptance_required"] is False
    assert accepted.json()["accepted_version"] == _day()
    # Accepting again records nothing more; the history keeps both versions.
    await client.post(ACCEPTANCE, json={"version": _day()}, headers=bearer(token))
    assert await _consents(app, "terms") == [(_day(-30), "api"), (_day(), "api")]
    history = (
        await client.get("/api/v1/connecthub/consents/history", headers=bearer(token))
    ).json()
    assert (history[0]["purpose"], history[0]["policy_version"]) == ("terms", _day())
    assert sorted((h["purpose"], h["policy_version"]) for h in history[1:]) == [
        ("privacy_policy", _day(-40)),
        ("terms", _day(-30)),
    ]
    # Someone who signs up now accepts the version in effect.
    await api_sign_up(app, client, "latecomer")
    assert (await _consents(app, "terms"))[-1] == (_day(), "api")


async def test_web_sign_in_asks_for_new_terms_before_the_session(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account, _ = await create_user(app, "reader", password=STRONG_PASSWORD)
    admin = await _admin(app)
    await _published(client, admin, "terms_of_service", _day(), "Version **two**.")
    page = await web_sign_in(client, "reader@example.com")
    assert page.status_code == 200
    assert "<strong>two</strong>" in page.text
    assert "connecthub_session" not in page.headers.get("set-cookie", "")
    fields = hidden_fields(page.text)
    assert fields["version"] == _day()
    # A two-factor challenge cannot pass for the terms step, nor a forged one.
    for challenge in ("forged", fields["challenge"] + "x"):
        refused = await client.post("/auth/terms", data={**fields, "challenge": challenge})
        assert refused.status_code == 401
    accepted = await client.post("/auth/terms", data=fields)
    assert accepted.status_code == 303
    assert "set-cookie" in accepted.headers
    async with app.state.engines.db.session(readonly=True) as session:
        rows = await session.scalars(
            select(Consent).where(Consent.account_id == account.id, Consent.purpose == "terms")
        )
        assert sorted((row.policy_version, row.method) for row in rows) == [(_day(), "web")]
    # Next time, straight in.
    await client.post(
        "/auth/sign_out", data={"authenticity_token": await csrf(client, "/auth/sign_in")}
    )
    again = await web_sign_in(client, "reader@example.com")
    assert again.status_code == 303
