"""Plain factory functions that put rows in the test database through the real services."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from connecthub.accounts import service as accounts
from connecthub.accounts.models import Account, User
from connecthub.oauth.tokens import issue_token

DEFAULT_PASSWORD = "correct horse battery staple"


async def create_user(
    app: FastAPI,
    username: str = "alice",
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    **options: Any,
) -> tuple[Account, User]:
    """A confirmed, approved local user (override with `confirmed=False`, `role=...`, …),
    committed in its own transaction on the app's engines."""
    engines = app.state.engines
    async with engines.db.transaction() as session:
        return await accounts.create_user(
            session,
            username=username,
            email=email or f"{username}@example.com",
            password=password,
            **options,
        )


async def create_token(
    app: FastAPI,
    account_id: int | None,
    *,
    scopes: frozenset[str] = frozenset({"read", "write", "follow", "push"}),
    application_id: int | None = None,
) -> str:
    """An access token for `account_id` (None: an app-only token), committed in its own
    transaction; returns the raw bearer secret."""
    async with app.state.engines.db.transaction() as session:
        issued = await issue_token(
            session, account_id=account_id, application_id=application_id, scopes=scopes
        )
        return issued.access_token


async def register_oauth_app(
    client: Any,
    *,
    name: str = "Test client",
    redirect_uris: str | list[str] = "urn:ietf:wg:oauth:2.0:oob",
    scopes: str = "read write follow push",
) -> dict[str, Any]:
    """`POST /api/v1/apps` through the API; returns Mastodon's CredentialApplication."""
    response = await client.post(
        "/api/v1/apps",
        json={"client_name": name, "redirect_uris": redirect_uris, "scopes": scopes},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def password_grant(
    client: Any,
    oauth_app: dict[str, Any],
    email: str,
    password: str = DEFAULT_PASSWORD,
    **extra: str,
) -> Any:
    """`POST /oauth/token` with the password grant; returns the raw response."""
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": oauth_app["client_id"],
            "client_secret": oauth_app["client_secret"],
            "username": email,
            "password": password,
            "scope": "read write follow push",
            **extra,
        },
    )


async def create_app_token(
    app: FastAPI, *, scopes: str = "read write follow push", name: str = "Sign-up client"
) -> str:
    """An OAuth app row and an app-only (client_credentials-like) token for it, as a
    client would hold before `POST /api/v1/accounts`; returns the raw bearer secret."""
    from connecthub.accounts.models import OAuthApplication
    from connecthub.oauth.scopes import parse_scopes
    from connecthub.oauth.tokens import generate_secret, hash_secret

    async with app.state.engines.db.transaction() as session:
        oauth_app = OAuthApplication(
            name=name,
            redirect_uris=["urn:ietf:wg:oauth:2.0:oob"],
            scopes=scopes,
            client_id=generate_secret(),
            client_secret_hash=hash_secret(generate_secret()),
        )
        session.add(oauth_app)
        await session.flush()
        issued = await issue_token(
            session, account_id=None, application_id=oauth_app.id, scopes=parse_scopes(scopes)
        )
        return issued.access_token
