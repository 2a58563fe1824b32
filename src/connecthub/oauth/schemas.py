"""Request and response shapes of the OAuth endpoints (Mastodon's entities) and the
ConnectHub extensions for authorised apps and sessions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from connecthub.accounts.models import OAuthApplication, OAuthToken
from connecthub.core.datetimes import iso


def iso_time(moment: datetime) -> str:
    """Mastodon's timestamp format (UTC, milliseconds, `Z`), from the one converter."""
    return iso(moment)


class AppRegistration(BaseModel):
    """`POST /api/v1/apps` (form, JSON or query parameters)."""

    client_name: str = Field(description="The application's name, shown on the consent page.")
    redirect_uris: str | list[str] = Field(
        description="Absolute ASCII URIs without a fragment (one per line, space-separated "
        "or an array): http(s) with a host (an international domain in its xn-- form), or "
        "an app's own scheme (`myapp://callback`); or `urn:ietf:wg:oauth:2.0:oob` to show "
        "the code instead of redirecting."
    )
    scopes: str = Field(default="read", description="Space-separated scopes the app may ask for.")
    website: str | None = Field(default=None, description="The application's home page.")


class Application(BaseModel):
    """Mastodon's Application entity."""

    id: str
    name: str
    website: str | None
    scopes: list[str]
    redirect_uri: str
    redirect_uris: list[str]
    vapid_key: str

    @classmethod
    def of(cls, app: OAuthApplication, vapid_key: str) -> Application:
        return cls(**_application_fields(app, vapid_key))


class CredentialApplication(Application):
    """The Application entity with its client credentials, shown once at registration."""

    client_id: str
    client_secret: str
    client_secret_expires_at: int = 0


def _application_fields(app: OAuthApplication, vapid_key: str) -> dict[str, object]:
    """`vapid_key` is the instance's Web Push key, as Mastodon shows it for every app."""
    return {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split(),
        "redirect_uri": "\n".join(app.redirect_uris),
        "redirect_uris": list(app.redirect_uris),
        "vapid_key": vapid_key,
    }


def credential_application(
    app: OAuthApplication, client_secret: str, vapid_key: str
) -> CredentialApplication:
    return CredentialApplication(
        **_application_fields(app, vapid_key),
        client_id=app.client_id,
        client_secret=client_secret,
    )


class TokenRequest(BaseModel):
    """`POST /oauth/token` (form or JSON). Client credentials may come by HTTP Basic."""

    grant_type: str = Field(
        description="authorization_code, client_credentials, refresh_token or password."
    )
    client_id: str | None = None
    client_secret: str | None = None
    code: str | None = Field(default=None, description="authorization_code: the code.")
    redirect_uri: str | None = Field(
        default=None, description="authorization_code: the same URI as at authorization."
    )
    code_verifier: str | None = Field(default=None, description="PKCE verifier (S256).")
    refresh_token: str | None = Field(default=None, description="refresh_token grant.")
    username: str | None = Field(default=None, description="password grant: the e-mail.")
    password: str | None = None
    otp_attempt: str | None = Field(
        default=None, description="password grant: the one-time code when 2FA is on."
    )
    scope: str | None = Field(default=None, description="Space-separated scopes.")
    issue_refresh_token: bool | None = Field(
        default=None,
        description="ConnectHub extension (authorization_code and password grants): also "
        "issue a refresh token; the access token then expires (`expires_in`).",
    )


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (the scheme name, not a secret)
    scope: str
    created_at: int
    refresh_token: str | None = None
    expires_in: int | None = None


class RevokeRequest(BaseModel):
    token: str
    client_id: str | None = None
    client_secret: str | None = None


class ServerMetadata(BaseModel):
    """RFC 8414 authorization server metadata, as Mastodon 4.3 serves it."""

    issuer: str
    service_documentation: str
    authorization_endpoint: str
    token_endpoint: str
    app_registration_endpoint: str
    revocation_endpoint: str
    userinfo_endpoint: str
    scopes_supported: list[str]
    response_types_supported: list[str]
    response_modes_supported: list[str]
    code_challenge_methods_supported: list[str]
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]


class Userinfo(BaseModel):
    """OpenID Connect userinfo for the token's account, as Mastodon 4.4 serves it."""

    iss: str = Field(description="This server's root URL.")
    sub: str = Field(description="The account's URI.")
    name: str
    preferred_username: str
    profile: str = Field(description="The account's profile page.")
    picture: str = Field(description="The account's avatar.")


class AuthorizedApp(BaseModel):
    """An app holding live tokens for the user (ConnectHub extension)."""

    id: str = Field(description="The application's id.")
    name: str
    website: str | None
    scopes: list[str] = Field(description="Every scope the user granted it, combined.")
    created_at: str = Field(description="When the user first authorised it (of live tokens).")
    last_used_at: str = Field(
        description="When it last signed in or refreshed a token. Per-request use is not "
        "tracked, so the token check stays free of writes."
    )
    sessions_count: int


class SessionInfo(BaseModel):
    """One live token of the user (ConnectHub extension)."""

    id: str
    application: str | None = Field(description="The app's name (null for tokens without one).")
    application_id: str | None
    scopes: list[str]
    created_at: str
    expires_at: str | None
    last_used_ip: str | None = Field(description="The address that obtained the token.")
    user_agent: str | None
    current: bool = Field(description="Whether this request is made with this token.")

    @classmethod
    def of(cls, token: OAuthToken, app: OAuthApplication | None, current_id: int) -> SessionInfo:
        return cls(
            id=str(token.id),
            application=app.name if app else None,
            application_id=str(app.id) if app else None,
            scopes=token.scopes.split(),
            created_at=iso_time(token.created_at),
            expires_at=iso_time(token.expires_at) if token.expires_at else None,
            last_used_ip=token.last_used_ip,
            user_agent=token.user_agent,
            current=token.id == current_id,
        )
