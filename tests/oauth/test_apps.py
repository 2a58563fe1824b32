"""App registration, app tokens, server metadata and the password-grant switch."""

from __future__ import annotations

import pytest

from tests.factories import create_user, password_grant, register_oauth_app

OOB = "urn:ietf:wg:oauth:2.0:oob"


async def test_register_app_with_form_returns_mastodon_credential_application(client):
    response = await client.post(
        "/api/v1/apps",
        data={
            "client_name": "My App",
            "redirect_uris": "https://app.example/callback\nurn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write:statuses",
            "website": "https://app.example",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "My App"
    assert body["website"] == "https://app.example"
    assert body["scopes"] == ["read", "write:statuses"]
    assert body["redirect_uris"] == ["https://app.example/callback", OOB]
    assert body["redirect_uri"] == f"https://app.example/callback\n{OOB}"
    assert body["client_secret_expires_at"] == 0
    assert body["client_id"]
    assert body["client_secret"]
    assert isinstance(body["id"], str)
    assert "vapid_key" in body


async def test_register_app_accepts_json_arrays_and_query_parameters(client):
    by_json = await client.post(
        "/api/v1/apps",
        json={"client_name": "J", "redirect_uris": ["https://a.example/cb", "myapp://auth"]},
    )
    assert by_json.status_code == 200, by_json.text
    assert by_json.json()["redirect_uris"] == ["https://a.example/cb", "myapp://auth"]
    assert by_json.json()["scopes"] == ["read"]  # Mastodon's default

    by_query = await client.post(
        "/api/v1/apps", params={"client_name": "Q", "redirect_uris": OOB, "scopes": "read write"}
    )
    assert by_query.status_code == 200, by_query.text
    assert by_query.json()["scopes"] == ["read", "write"]


async def test_register_app_refuses_bad_input_naming_the_field(client):
    cases = [
        ({"redirect_uris": OOB}, "client_name"),
        ({"client_name": "x"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": "/relative/path"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": "javascript:alert(1)"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": "https://a.example/#frag"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": OOB, "scopes": "read bogus"}, "scopes"),
        ({"client_name": "x", "redirect_uris": OOB, "website": "not a url"}, "website"),
    ]
    for fields, field in cases:
        response = await client.post("/api/v1/apps", data=fields)
        assert response.status_code == 422, (fields, response.text)
        assert field in response.json()["error"], (fields, response.json())
    assert (
        await client.post(
            "/api/v1/apps", content=b"{", headers={"content-type": "application/json"}
        )
    ).status_code == 422


@pytest.mark.parametrize(
    "uri",
    [
        "https://exämple.com/cb",  # non-ASCII host: its IDNA form (xn--…) is accepted
        "https://example.com/cällback",
        "https://a.example;script-src/cb",  # would add a CSP directive
        "https://a.example,b.example/cb",  # would add a CSP policy
        "http:/cb",  # no host: would have allowed form-action to any http: URL
        "https:cb",
        "https:///cb",
        "https://a_b.example/cb",
        "https://a.example:99999/cb",
        "https://a.example:port/cb",
        "https://a.example\\@b.example/cb",  # browsers read the backslash as a slash
        "https://[not-ipv6]/cb",
        "blob:https://a.example/x",
        "about:blank",
        "myapp://callback#frag",
        "//a.example/cb",
    ],
)
async def test_register_app_refuses_redirect_uris_that_are_not_valid_ascii_uris(client, uri):
    response = await client.post("/api/v1/apps", data={"client_name": "x", "redirect_uris": uri})

    assert response.status_code == 422, (uri, response.text)
    assert "redirect_uris" in response.json()["error"]


async def test_register_app_accepts_native_loopback_and_idna_redirect_uris(client):
    uris = [
        "myapp://callback",
        "myapp://oauth_callback",
        "com.example.app:/oauth2redirect/example-provider",
        "http://127.0.0.1:8765/callback",
        "http://[::1]:8765/callback",
        "http://localhost/cb",
        "https://xn--exmple-cua.com/cb",
        "HTTPS://Client.Example:8443/cb;p?a=1,2",
    ]
    response = await client.post("/api/v1/apps", json={"client_name": "x", "redirect_uris": uris})

    assert response.status_code == 200, response.text
    assert response.json()["redirect_uris"] == uris  # kept exactly: clients send them back


async def test_client_credentials_token_verifies_app_but_not_user_routes(client):
    oauth_app = await register_oauth_app(client)
    response = await client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": oauth_app["client_id"],
            "client_secret": oauth_app["client_secret"],
            "scope": "read write",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert set(body["scope"].split()) == {"read", "write"}
    assert isinstance(body["created_at"], int)
    assert "refresh_token" not in body
    assert "expires_in" not in body
    headers = {"Authorization": f"Bearer {body['access_token']}"}

    verified = await client.get("/api/v1/apps/verify_credentials", headers=headers)
    assert verified.status_code == 200, verified.text
    assert verified.json()["name"] == oauth_app["name"]
    assert "client_secret" not in verified.json()

    # An app token has no user: user routes refuse it.
    assert (await client.get("/api/v1/connecthub/sessions", headers=headers)).status_code in (
        401,
        403,
    )
    user_route = await client.get("/api/v1/accounts/verify_credentials", headers=headers)
    assert user_route.status_code in (401, 403)


async def test_client_credentials_scope_beyond_app_is_invalid_scope(client):
    oauth_app = await register_oauth_app(client, scopes="read")
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": oauth_app["client_id"],
            "client_secret": oauth_app["client_secret"],
            "scope": "write",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_bad_client_credentials_are_invalid_client_401(client):
    oauth_app = await register_oauth_app(client)
    for client_id, secret in [
        (oauth_app["client_id"], "wrong"),
        ("unknown", oauth_app["client_secret"]),
        (oauth_app["client_id"], ""),
    ]:
        response = await client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.json()["error_description"]


async def test_http_basic_client_authentication(client):
    oauth_app = await register_oauth_app(client)
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(oauth_app["client_id"], oauth_app["client_secret"]),
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"


async def test_unknown_or_missing_grant_type(client):
    oauth_app = await register_oauth_app(client)
    creds = {"client_id": oauth_app["client_id"], "client_secret": oauth_app["client_secret"]}
    response = await client.post("/oauth/token", data={"grant_type": "implicit", **creds})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    response = await client.post("/oauth/token", data=creds)
    assert response.json()["error"] == "invalid_request"


async def test_metadata_lists_password_grant_when_enabled(client):
    response = await client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    meta = response.json()
    assert meta["issuer"] == "http://localhost:8000/"
    assert meta["authorization_endpoint"] == "http://localhost:8000/oauth/authorize"
    assert meta["token_endpoint"] == "http://localhost:8000/oauth/token"
    assert meta["revocation_endpoint"] == "http://localhost:8000/oauth/revoke"
    assert meta["app_registration_endpoint"] == "http://localhost:8000/api/v1/apps"
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "password" in meta["grant_types_supported"]
    assert {"authorization_code", "client_credentials", "refresh_token"} <= set(
        meta["grant_types_supported"]
    )
    assert {"read", "write", "follow", "push", "read:statuses", "admin:read"} <= set(
        meta["scopes_supported"]
    )
    assert "client_secret_basic" in meta["token_endpoint_auth_methods_supported"]
    assert meta["service_documentation"]

    # The advertised endpoints are the ones that work.
    registered = await client.post(
        meta["app_registration_endpoint"], data={"client_name": "m", "redirect_uris": OOB}
    )
    assert registered.status_code == 200
    token = await client.post(
        meta["token_endpoint"],
        data={
            "grant_type": "client_credentials",
            "client_id": registered.json()["client_id"],
            "client_secret": registered.json()["client_secret"],
        },
    )
    assert token.status_code == 200, token.text


async def test_password_grant_off_is_unsupported_and_absent_from_metadata(app_factory):
    async with app_factory(enable_password_grant=False) as (app, client):
        await create_user(app, "pat")
        meta = (await client.get("/.well-known/oauth-authorization-server")).json()
        assert "password" not in meta["grant_types_supported"]
        oauth_app = await register_oauth_app(client)
        response = await password_grant(client, oauth_app, "pat@example.com")
        assert response.status_code == 400
        assert response.json()["error"] == "unsupported_grant_type"
