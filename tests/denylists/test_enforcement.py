"""The blocks at work: sign-up (API and web form) and sign-in (password grant, web form)
from a blocked address, with a blocked e-mail; expired blocks count for nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connecthub.denylists import mx
from tests.accounts.support import api_sign_up, user_and_account
from tests.conftest import running_app
from tests.factories import create_user, password_grant, register_oauth_app

BLOCKED_PEER = "198.51.100.7"


async def _block(app: FastAPI, ip: str, severity: str, *, expired: bool = False) -> None:
    from datetime import timedelta

    from connecthub.clock import utcnow
    from connecthub.denylists.models import IpBlock

    async with app.state.engines.db.transaction() as session:
        now = utcnow()
        session.add(
            IpBlock(
                ip=ip,
                severity=severity,
                comment="",
                created_at=now,
                updated_at=now,
                expires_at=now - timedelta(minutes=1) if expired else None,
            )
        )


async def _block_domain(app: FastAPI, domain: str) -> None:
    from connecthub.denylists.models import EmailDomainBlock

    async with app.state.engines.db.transaction() as session:
        session.add(EmailDomainBlock(domain=domain))


async def _block_canonical(app: FastAPI, email: str) -> None:
    from connecthub.denylists import rules
    from connecthub.denylists.models import CanonicalEmailBlock

    async with app.state.engines.db.transaction() as session:
        session.add(CanonicalEmailBlock(canonical_email_hash=rules.canonical_email_hash(email)))


@pytest.fixture
async def peer_app(test_env: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app(test_env, peer=BLOCKED_PEER) as pair:
        yield pair


async def test_sign_up_block_refuses_sign_up_from_the_range(
    peer_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = peer_app
    await _block(app, "198.51.100.0/24", "sign_up_block")
    refused = await api_sign_up(app, client, "blocked")
    assert refused.status_code == 403
    assert refused.json() == {"error": "This action is not allowed"}
    assert await user_and_account(app, "blocked") is None


async def test_an_expired_block_is_ignored(peer_app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = peer_app
    await _block(app, "198.51.100.0/24", "no_access", expired=True)
    assert (await api_sign_up(app, client, "welcome")).status_code == 200
    await create_user(app, "eve")
    oauth_app = await register_oauth_app(client)
    assert (await password_grant(client, oauth_app, "eve@example.com")).status_code == 200


async def test_requires_approval_leaves_the_account_pending(
    peer_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = peer_app
    await _block(app, "198.51.100.7/32", "sign_up_requires_approval")
    assert (await api_sign_up(app, client, "waiting")).status_code == 200
    found = await user_and_account(app, "waiting")
    assert found is not None
    assert found[0].approved is False


async def test_no_access_refuses_sign_in_but_not_other_addresses(
    peer_app: tuple[FastAPI, httpx.AsyncClient], app: FastAPI, client: httpx.AsyncClient
) -> None:
    blocked_app, blocked_client = peer_app
    await _block(blocked_app, "198.51.100.0/24", "no_access")
    await create_user(blocked_app, "eve")
    oauth_app = await register_oauth_app(blocked_client)
    refused = await password_grant(blocked_client, oauth_app, "eve@example.com")
    assert refused.status_code in (400, 403)
    assert "not allowed" in refused.text
    # From 127.0.0.1 the same account signs in.
    assert (await password_grant(client, oauth_app, "eve@example.com")).status_code == 200


async def test_ipv4_mapped_and_ipv6_ranges(app: FastAPI) -> None:
    from connecthub.denylists import rules

    assert rules.contains("198.51.100.0/24", "::ffff:198.51.100.9")
    assert rules.contains("2001:db8::/32", "2001:db8:1::5")
    assert not rules.contains("2001:db8::/32", "198.51.100.9")
    assert not rules.contains("198.51.100.0/24", "not an address")


async def test_email_domain_and_canonical_blocks_refuse_sign_up(
    app: FastAPI, client: httpx.AsyncClient
) -> None:

    await _block_domain(app, "spam.example")
    sub = await api_sign_up(app, client, "spammer", email="x@mx.spam.example")
    assert sub.status_code == 422
    assert "email" in sub.json()["error"]
    await _block_canonical(app, "jdoe@mail.example")
    variant = await api_sign_up(app, client, "jdoe", email="J.Doe+new@mail.example")
    assert variant.status_code == 422
    assert "email" in variant.json()["error"]
    assert (await api_sign_up(app, client, "fine", email="fine@mail.example")).status_code == 200


@pytest.fixture
def mail_exchangers() -> AsyncIterator[dict[str, list[str]]]:
    """A resolver answering from a table (no DNS here), put back afterwards."""
    table: dict[str, list[str]] = {}

    async def resolve(domain: str) -> list[str]:
        return table.get(domain, [])

    mx.use(resolve)
    yield table  # type: ignore[misc]
    mx.use(None)


async def test_mx_check_is_off_by_default_and_blocks_by_exchanger_when_on(
    test_env: Any, mail_exchangers: dict[str, list[str]]
) -> None:
    mail_exchangers["alias.example"] = ["mx1.spam.example"]
    async with running_app(test_env) as (app, client):
        await _block_domain(app, "spam.example")
        assert (await api_sign_up(app, client, "first", email="a@alias.example")).status_code == 200
    async with running_app(test_env, email_domain_mx_check=True) as (app, client):
        refused = await api_sign_up(app, client, "second", email="b@alias.example")
        assert refused.status_code == 422
        assert "email" in refused.json()["error"]


async def test_refused_sign_ups_are_on_record(peer_app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    from tests.audit.support import audit_rows

    app, client = peer_app
    await _block(app, "198.51.100.0/24", "sign_up_block")
    assert (await api_sign_up(app, client, "blocked")).status_code == 403
    rows = await audit_rows(app)
    assert [(r.action, r.outcome, r.ip) for r in rows] == [("sign_up", "refused", BLOCKED_PEER)]


async def test_web_sign_up_and_sign_in_are_checked_too(
    peer_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    from tests.accounts.support import (
        STRONG_PASSWORD,
        alert_text,
        csrf,
        field_error,
        web_sign_in,
        years_ago,
    )

    app, client = peer_app
    await _block_domain(app, "spam.example")
    token = await csrf(client, "/auth/sign_up")
    form = {
        "authenticity_token": token,
        "username": "wendy",
        "email": "wendy@spam.example",
        "password": STRONG_PASSWORD,
        "password_confirmation": STRONG_PASSWORD,
        "date_of_birth": years_ago(20),
        "agreement": "1",
    }
    refused = await client.post("/auth/sign_up", data=form)
    assert refused.status_code == 422
    assert "blocked" in field_error(refused.text, "email")
    assert await user_and_account(app, "wendy") is None

    await create_user(app, "eve", password=STRONG_PASSWORD)
    await _block(app, "198.51.100.0/24", "no_access")
    page = await web_sign_in(client, "eve@example.com")
    assert "not allowed" in alert_text(page.text)
    assert "connecthub_session" not in client.cookies
