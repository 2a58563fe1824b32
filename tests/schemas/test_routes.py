"""The route table (mastodon/routes.toml) against the routes the app serves, and the table
against the entity schemas: the known gap can only shrink, and every Mastodon route the app
serves has its answer checked (tests/schemas/checking.py)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from scripts.mastodon_routes import allowances, compare, served_routes

from connecthub import MASTODON_API_COMPAT
from connecthub.instance.service import MASTODON_API_VERSION
from tests.schemas.contract import HERE, entity_names, routes, validator

# Mastodon routes the app serves whose answer is not checked, and why.
UNCHECKED = {
    "GET /api/v1/instance/peers": "an array of domain names, not an entity",
    "GET /api/v1/instance/activity": "an array of weekly counts, not an entity",
    "GET /api/v1/instance/translation_languages": "an object of language codes, not an entity",
    "GET /api/v1/notifications/unread_count": "`{count}`, not an entity",
    "GET /api/v2/notifications/unread_count": "`{count}`, not an entity",
    "GET /api/v1/notifications/requests/merged": "`{merged}`, not an entity",
    "GET /api/v1/accounts/:id/identity_proofs": "always an empty list (identity proofs are gone)",
    "GET /api/v1/domain_blocks": "an array of domain names, not an entity",
    "GET /health": "plain text `OK`, not an entity",
    "POST /api/v1/statuses/:id/translate": "no translation service: 403 or 404, no Translation",
    "GET /oauth/userinfo": "OpenID Connect claims, not a Mastodon entity",
    "GET /api/oembed": "an oEmbed document, not a Mastodon entity",
    "GET /.well-known/oauth-authorization-server": "RFC 8414 metadata, not a Mastodon entity",
    "GET /oauth/authorize": "an HTML page or a redirect",
    **{
        f"GET /api/v1/streaming/{name}": "a WebSocket or an event stream"
        for name in (
            "health",
            "user",
            "user/notification",
            "public",
            "public/local",
            "hashtag",
            "hashtag/local",
            "list",
            "direct",
        )
    },
}


@pytest.fixture
async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    return (await client.get("/openapi.json")).json()


@pytest.mark.slow
async def test_the_known_gap_only_shrinks(openapi: dict[str, Any]) -> None:
    result = compare(served_routes(openapi), MASTODON_API_COMPAT)
    missing = {route.key for route in result.missing}
    now_served = result.not_yet_implemented - missing
    assert not now_served, f"served now: take them out of not_yet_implemented: {now_served}"
    newly_missing = missing - result.not_yet_implemented
    assert not newly_missing, f"Mastodon routes no longer (or not yet) served: {newly_missing}"


@pytest.mark.slow
async def test_federation_only_routes_are_mastodon_routes_not_served(
    openapi: dict[str, Any],
) -> None:
    federation_only, _pending = allowances()
    assert set(federation_only) <= {route.key for route in routes()}
    assert not set(federation_only) & served_routes(openapi)


@pytest.mark.slow
async def test_every_served_mastodon_route_has_its_answer_checked(
    openapi: dict[str, Any],
) -> None:
    served = served_routes(openapi)
    unchecked = {
        f"{route.method} {route.path}"
        for route in routes()
        if route.key in served and not route.returns
    }
    assert unchecked == set(UNCHECKED)


def test_every_answer_names_a_schema_that_compiles() -> None:
    names = entity_names()
    for route in routes():
        for kind in filter(None, route.returns.split("|")):
            assert kind.strip("[]{}") in names, f"{route.key}: no schema {kind}"
            validator(kind)
    for file in HERE.glob("*.json"):
        schema = json.loads(file.read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == file.name


@pytest.mark.slow
async def test_the_advertised_api_level_matches_the_grouped_notifications(
    openapi: dict[str, Any],
) -> None:
    """Clients use grouped notifications from `api_versions.mastodon` 2 (Mastodon 4.3) on,
    and open 4.3's notification policy and requests screens too: the level and the version
    say 4.3 only when all of them are served (grouped notifications alone are not enough,
    a client would meet 404s). Serving them comes first; the bump follows, once every
    piece of 4.3 the lead wants in is in."""
    four_three = {
        "GET /api/v2/notifications",
        "GET /api/v2/notifications/policy",
        "GET /api/v1/notifications/requests",
    }
    served = four_three <= served_routes(openapi)
    if MASTODON_API_VERSION >= 2:
        assert served
    if tuple(map(int, MASTODON_API_COMPAT.split("."))) >= (4, 3, 0):
        assert served
