"""What a production server shows about itself: no metrics without the scrape token, no
API documentation unless asked for; in development both answer. The documentation pages
load their scripts and styles from this server only."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

AppFactory = Callable[..., Any]
PRODUCTION = {"environment": "production", "secret_key": "p" * 40}
DOC_PATHS = ("/docs", "/redoc", "/openapi.json")
METRICS_TOKEN = "scrape-" + "t" * 32
# Any absolute URL, or a protocol-relative one, in a src or href attribute.
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.I)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_production_hides_the_docs_and_metrics(app_factory: AppFactory) -> None:
    async with app_factory(**PRODUCTION) as (_, client):
        for path in (*DOC_PATHS, "/metrics", "/docs/assets/swagger-ui-bundle.js"):
            assert (await client.get(path)).status_code == 404, path
        front_door = await client.get("/")
    assert 'href="/docs"' not in front_door.text


async def test_production_metrics_need_the_scrape_token(app_factory: AppFactory) -> None:
    async with app_factory(**PRODUCTION, metrics_token=METRICS_TOKEN) as (_, client):
        anonymous = await client.get("/metrics")
        wrong = await client.get("/metrics", headers=bearer("t" * 39))
        basic = await client.get("/metrics", headers={"Authorization": f"Basic {METRICS_TOKEN}"})
        scraped = await client.get("/metrics", headers=bearer(METRICS_TOKEN))
        for path in DOC_PATHS:  # the scrape token opens nothing else
            assert (await client.get(path, headers=bearer(METRICS_TOKEN))).status_code == 404

    for refused in (anonymous, wrong, basic):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert "error" in refused.json()
    assert scraped.status_code == 200
    assert "connecthub_http_requests_total" in scraped.text


@pytest.mark.slow
async def test_production_docs_when_asked_for(app_factory: AppFactory) -> None:
    async with app_factory(**PRODUCTION, api_docs_enabled=True) as (_, client):
        for path in DOC_PATHS:
            assert (await client.get(path)).status_code == 200, path
        assert (await client.get("/metrics")).status_code == 404


@pytest.mark.slow
async def test_development_serves_docs_and_metrics(app_factory: AppFactory) -> None:
    async with app_factory(environment="development") as (_, client):
        for path in (*DOC_PATHS, "/metrics"):
            assert (await client.get(path)).status_code == 200, path
        front_door = await client.get("/")
    assert 'href="/docs"' in front_door.text


async def test_a_metrics_token_is_checked_in_development_too(app_factory: AppFactory) -> None:
    async with app_factory(environment="development", metrics_token=METRICS_TOKEN) as (_, client):
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers=bearer(METRICS_TOKEN))).status_code == 200


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_doc_pages_load_nothing_from_other_hosts(app_factory: AppFactory, page: str) -> None:
    async with app_factory(environment="development") as (_, client):
        response = await client.get(page)
        assert response.status_code == 200
        assert EXTERNAL.search(response.text) is None, response.text
        assets = re.findall(r"""(?:src|href)="(/[^"]+)""", response.text)
        assert any(asset.endswith(".js") for asset in assets)
        for asset in assets:
            served = await client.get(asset)
            assert served.status_code == 200, asset
            assert served.content, asset
    # The page runs no script but its own: the inline start-up script is allowed by hash.
    csp = response.headers["content-security-policy"]
    script_src = csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "unsafe-inline" not in script_src
    assert "http" not in script_src
    for inline in re.findall(r"<script>(.*?)</script>", response.text, re.S):
        assert inline.strip() == "" or "'sha256-" in script_src
