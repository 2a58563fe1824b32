"""The OpenID Connect relying party: discovery, the authorization request (code flow with
PKCE S256, state and nonce) and the checks on what comes back (ID token signature via the
provider's JWKS, issuer, audience, expiry, nonce).

Nothing here touches the database; `oidc_service` decides what a verified identity means.
"""

from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass
from typing import Any, TypeGuard
from urllib.parse import quote

# Imported first so its own warning filter is in place before ours below.
import authlib.deprecate  # type: ignore[import-untyped]  # noqa: F401
import httpx
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from connecthub.clock import monotonic
from connecthub.config import OidcProvider, Settings
from connecthub.infra import tls

with warnings.catch_warnings():
    # Authlib would rather run on the `httpx2` fork and warns when it falls back to httpx;
    # the warning is about Authlib's future, not about our use. (httpx2 is installed today,
    # by huggingface-hub, so Authlib's client runs on it.)
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import (  # type: ignore[import-untyped]
        AsyncOAuth2Client,
    )
    from authlib.integrations.httpx_client import (
        OAuthError as AuthlibOAuthError,
    )

DISCOVERY_PATH = "/.well-known/openid-configuration"
# Discovery documents and key sets are re-read after this long; a key id we have not seen
# (the provider rotated its keys) triggers an early re-read.
METADATA_TTL_SECONDS = 3600
HTTP_TIMEOUT_SECONDS = 10.0
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]
# Clock skew tolerated between us and the provider when checking exp and iat (joserfc
# checks them against the OS clock: its validate() takes no "now" to pass from clock.py).
LEEWAY_SECONDS = 60


class OidcFailure(Exception):
    """Sign-in with a provider failed; the message is safe to show the person."""

    status_code = 400

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class ProviderUnreachable(OidcFailure):
    status_code = 502


@dataclass(frozen=True)
class ProviderLink:
    """What a sign-in page needs to draw a "Sign in with …" button."""

    name: str
    label: str
    start_url: str


def provider_links(settings: Settings, return_to: str | None = None) -> list[ProviderLink]:
    """The configured providers, for the sign-in page's buttons."""
    suffix = f"?return_to={quote(return_to, safe='/')}" if safe_return_path(return_to) else ""
    return [
        ProviderLink(
            name=provider.name,
            label=provider.display_name,
            start_url=f"/auth/oidc/{provider.name}{suffix}",
        )
        for provider in settings.sign_in_providers
    ]


def find_provider(settings: Settings, name: str) -> OidcProvider | None:
    return next((p for p in settings.sign_in_providers if p.name == name), None)


def safe_return_path(value: str | None) -> TypeGuard[str]:
    """Only a path on this site: never another origin (`//host`, `/\\host`, `https://…`)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return False
    return all(ch.isprintable() and ch != "\\" for ch in value)


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser, and the secrets to keep until it comes back."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class VerifiedIdentity:
    """Claims from an ID token that passed every check."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    preferred_username: str | None
    name: str | None


@dataclass
class _Metadata:
    document: dict[str, Any]
    keys: KeySet | None
    fetched_at: float


_metadata: dict[str, _Metadata] = {}


def _http() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=HTTP_TIMEOUT_SECONDS,
        follow_redirects=False,
        verify=tls.client_context(trust_env=True),
    )


async def _get_json(url: str) -> dict[str, Any]:
    try:
        async with _http() as client:
            response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnreachable("The sign-in provider could not be reached") from exc
    if not isinstance(body, dict):
        raise ProviderUnreachable("The sign-in provider sent an unreadable answer")
    return body


async def discover(provider: OidcProvider, *, refresh: bool = False) -> dict[str, Any]:
    """The provider's discovery document, checked to be about this issuer."""
    cached = _metadata.get(provider.issuer)
    if cached and not refresh and monotonic() - cached.fetched_at < METADATA_TTL_SECONDS:
        return cached.document
    document = await _get_json(provider.issuer + DISCOVERY_PATH)
    if document.get("issuer", "").rstrip("/") != provider.issuer:
        raise ProviderUnreachable("The sign-in provider's configuration names another issuer")
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(field), str):
            raise ProviderUnreachable(f"The sign-in provider's configuration lacks {field}")
    _metadata[provider.issuer] = _Metadata(document, None, monotonic())
    return document


async def _key_set(provider: OidcProvider, *, refresh: bool) -> KeySet:
    document = await discover(provider)
    cached = _metadata[provider.issuer]
    if cached.keys is None or refresh:
        try:
            cached.keys = KeySet.import_key_set(await _get_json(document["jwks_uri"]))  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise ProviderUnreachable("The sign-in provider's keys are unreadable") from exc
    return cached.keys


def _client(provider: OidcProvider, redirect_uri: str, document: dict[str, Any]) -> Any:
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth_method = "client_secret_basic"
    if "client_secret_basic" not in methods and "client_secret_post" in methods:
        auth_method = "client_secret_post"
    return AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret.get_secret_value(),
        scope=provider.scopes,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method=auth_method,
        timeout=HTTP_TIMEOUT_SECONDS,
        verify=tls.client_context(trust_env=True),  # not a CA bundle loaded per sign-in
    )


async def authorization_request(provider: OidcProvider, redirect_uri: str) -> AuthorizationRequest:
    document = await discover(provider)
    state = secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(24)
    code_verifier = secrets.token_urlsafe(48)
    async with _client(provider, redirect_uri, document) as client:
        url, _ = client.create_authorization_url(
            document["authorization_endpoint"],
            state=state,
            nonce=nonce,
            code_verifier=code_verifier,
        )
    return AuthorizationRequest(url=url, state=state, nonce=nonce, code_verifier=code_verifier)


async def complete(
    provider: OidcProvider,
    *,
    redirect_uri: str,
    code: str,
    code_verifier: str,
    nonce: str,
) -> VerifiedIdentity:
    """Exchange the code, verify the ID token and return who signed in."""
    document = await discover(provider)
    async with _client(provider, redirect_uri, document) as client:
        try:
            token = await client.fetch_token(
                document["token_endpoint"], code=code, code_verifier=code_verifier
            )
        except AuthlibOAuthError as exc:
            raise OidcFailure(
                "The sign-in provider refused the authorization code; please try again"
            ) from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnreachable("The sign-in provider could not be reached") from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OidcFailure("The sign-in provider sent no ID token")
        claims = await verify_id_token(provider, id_token, nonce)
        if not claims.get("email") and isinstance(document.get("userinfo_endpoint"), str):
            claims = {**claims, **await _userinfo(client, document, claims["sub"])}
    return _identity(provider, claims)


async def verify_id_token(provider: OidcProvider, id_token: str, nonce: str) -> dict[str, Any]:
    """Signature (JWKS), then iss, aud (and azp), exp, iat, sub and nonce."""
    decoded = None
    for refresh in (False, True):
        keys = await _key_set(provider, refresh=refresh)
        try:
            decoded = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
            break
        except InvalidKeyIdError:
            # No key with this id: the provider may have rotated its keys; read them again.
            continue
        except (JoseError, ValueError) as exc:
            raise OidcFailure("The sign-in provider's ID token has an invalid signature") from exc
    if decoded is None:
        raise OidcFailure("The sign-in provider's ID token is signed with an unknown key")
    claims = decoded.claims
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": provider.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise OidcFailure("The sign-in provider's ID token has expired") from exc
    except JoseError as exc:
        claim = getattr(exc, "claim", None) or str(exc)
        raise OidcFailure(f"The sign-in provider's ID token is invalid ({claim})") from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != provider.client_id:
        raise OidcFailure("The sign-in provider's ID token is invalid (azp)")
    return dict(claims)


async def _userinfo(client: Any, document: dict[str, Any], subject: str) -> dict[str, Any]:
    try:
        response = await client.get(document["userinfo_endpoint"])
        response.raise_for_status()
        info = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnreachable("The sign-in provider could not be reached") from exc
    # Userinfo about someone else must never be merged into this ID token's claims.
    if not isinstance(info, dict) or info.get("sub") != subject:
        raise OidcFailure("The sign-in provider's user information is about someone else")
    return {
        key: info[key]
        for key in ("email", "email_verified", "preferred_username", "name")
        if key in info
    }


def _identity(provider: OidcProvider, claims: dict[str, Any]) -> VerifiedIdentity:
    def text(key: str) -> str | None:
        value = claims.get(key)
        return value.strip() or None if isinstance(value, str) else None

    verified = claims.get("email_verified")
    return VerifiedIdentity(
        provider=provider.name,
        subject=str(claims["sub"]),
        email=text("email"),
        # Some providers send the string "true"; anything else is unverified.
        email_verified=verified is True or verified == "true",
        preferred_username=text("preferred_username"),
        name=text("name"),
    )
