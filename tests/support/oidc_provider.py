"""A small OpenID Connect provider for tests only: never run it anywhere else.

It is a real server process (Starlette under uvicorn) with discovery, JWKS, an authorize
endpoint that approves at once, a token endpoint and userinfo, and RS256-signed ID tokens.
Who "signs in" next is set by the test through `POST /test/next-login`:

    {"sub": "...", "email": "...", "email_verified": true, "preferred_username": "...",
     "name": "...", "mode": "ok"}

`mode` makes the provider misbehave on purpose:
    ok              a correct sign-in
    deny            the person refuses: the browser comes back with error=access_denied
    bad_signature   the ID token is signed with a key that is not in the JWKS (same kid)
    wrong_audience  the ID token is for another client
    expired         the ID token expired an hour ago
    wrong_nonce     the ID token carries a nonce other than the one requested
    userinfo_email  the ID token has no e-mail; only /userinfo gives it

Run: python -m tests.support.oidc_provider --port 9000 --client-id ID --client-secret S
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

KEY_ID = "test-signing-key"
PROFILE_CLAIMS = ("email", "email_verified", "preferred_username", "name")


@dataclass
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": KEY_ID})
    )
    # Signs "bad signature" tokens: same kid, but not the published key.
    rogue_key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": KEY_ID})
    )
    next_login: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", *PROFILE_CLAIMS],
        }

    def id_token(self, login: dict[str, Any], nonce: str) -> str:
        mode = login.get("mode", "ok")
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": login["sub"],
            "aud": "another-client" if mode == "wrong_audience" else self.client_id,
            "iat": now - 3600 if mode == "expired" else now,
            "exp": now - 3000 if mode == "expired" else now + 600,
            "nonce": "not-the-nonce-you-sent" if mode == "wrong_nonce" else nonce,
        }
        if mode != "userinfo_email":
            claims.update({k: login[k] for k in PROFILE_CLAIMS if k in login})
        key = self.rogue_key if mode == "bad_signature" else self.key
        return jwt.encode({"alg": "RS256", "kid": KEY_ID}, claims, key)


def _redirect(uri: str, **params: str) -> RedirectResponse:
    separator = "&" if "?" in uri else "?"
    return RedirectResponse(f"{uri}{separator}{urlencode(params)}", status_code=302)


def _token_error(error: str, status_code: int = 400) -> JSONResponse:
    return JSONResponse({"error": error}, status_code, headers={"Cache-Control": "no-store"})


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        decoded = base64.b64decode(header[6:]).decode()
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    return form.get("client_id", ""), form.get("client_secret", "")


def build_app(provider: Provider) -> Starlette:
    async def discovery(_: Request) -> Response:
        return JSONResponse(provider.discovery())

    async def jwks(_: Request) -> Response:
        return JSONResponse(KeySet([provider.key]).as_dict(private=False))

    async def next_login(request: Request) -> Response:
        provider.next_login = dict(await request.json())
        return JSONResponse({"ok": True})

    async def authorize(request: Request) -> Response:
        q = request.query_params
        redirect_uri = q.get("redirect_uri", "")
        if q.get("client_id") != provider.client_id or not redirect_uri:
            return PlainTextResponse("unknown client or missing redirect_uri", 400)
        if q.get("response_type") != "code" or "openid" not in q.get("scope", "").split():
            return _redirect(redirect_uri, error="invalid_request", state=q.get("state", ""))
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return _redirect(redirect_uri, error="invalid_request", state=q.get("state", ""))
        if not q.get("state") or not q.get("nonce"):
            return _redirect(redirect_uri, error="invalid_request", state=q.get("state", ""))
        login = dict(provider.next_login)
        if not login:
            return PlainTextResponse("no next login set: POST /test/next-login first", 400)
        if login.get("mode") == "deny":
            return _redirect(
                redirect_uri,
                error="access_denied",
                error_description="The user refused",
                state=q["state"],
            )
        code = secrets.token_urlsafe(24)
        provider.codes[code] = {
            "login": login,
            "nonce": q["nonce"],
            "challenge": q["code_challenge"],
            "redirect_uri": redirect_uri,
        }
        return _redirect(redirect_uri, code=code, state=q["state"])

    async def token(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        client_id, secret = _client_credentials(request, form)
        if client_id != provider.client_id or not secrets.compare_digest(
            secret, provider.client_secret
        ):
            return _token_error("invalid_client", 401)
        if form.get("grant_type") != "authorization_code":
            return _token_error("unsupported_grant_type")
        grant = provider.codes.pop(form.get("code", ""), None)  # single use
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return _token_error("invalid_grant")
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if not verifier or challenge != grant["challenge"]:
            return _token_error("invalid_grant")
        access_token = secrets.token_urlsafe(24)
        provider.access_tokens[access_token] = grant["login"]
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 600,
            "scope": "openid email profile",
            "id_token": provider.id_token(grant["login"], grant["nonce"]),
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def userinfo(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        login = provider.access_tokens.get(header.removeprefix("Bearer ").strip())
        if login is None:
            return JSONResponse({"error": "invalid_token"}, 401)
        return JSONResponse(
            {"sub": login["sub"], **{k: login[k] for k in PROFILE_CLAIMS if k in login}}
        )

    return Starlette(
        routes=[
            Route("/.well-known/openid-configuration", discovery),
            Route("/jwks", jwks),
            Route("/authorize", authorize),
            Route("/token", token, methods=["POST"]),
            Route("/userinfo", userinfo),
            Route("/test/next-login", next_login, methods=["POST"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Test-only OpenID Connect provider")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    args = parser.parse_args()
    issuer = f"http://127.0.0.1:{args.port}"
    provider = Provider(issuer=issuer, client_id=args.client_id, client_secret=args.client_secret)
    uvicorn.run(build_app(provider), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
