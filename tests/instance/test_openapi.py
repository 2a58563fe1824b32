"""Every route is in the OpenAPI schema, tagged and summarised, and the docs page answers."""

from __future__ import annotations

import httpx
import pytest

INSTANCE_PATHS = [
    "/api/v1/instance",
    "/api/v2/instance",
    "/api/v1/instance/rules",
    "/api/v1/instance/peers",
    "/api/v1/instance/activity",
    "/api/v1/instance/extended_description",
    "/api/v1/instance/languages",
    "/api/v1/instance/translation_languages",
    "/api/v1/instance/domain_blocks",
    "/.well-known/nodeinfo",
    "/nodeinfo/2.0",
]


@pytest.mark.slow
async def test_openapi_lists_the_instance_routes(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in INSTANCE_PATHS:
        operation = paths[path]["get"]
        assert operation["tags"] == ["instance"], path
        assert operation["summary"], path
        content = operation["responses"]["200"]["content"]
        assert any(kind.startswith("application/json") for kind in content), path
    schema = paths["/api/v2/instance"]["get"]["responses"]["200"]["content"]["application/json"]
    assert schema["schema"]["$ref"].endswith("/Instance")
    # The trailing-slash twins answer but are not listed twice.
    assert "/api/v2/instance/" not in paths


@pytest.mark.slow
async def test_openapi_lists_the_pages(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    for path in ("/", "/about"):
        assert paths[path]["get"]["tags"] == ["web"]
        assert "text/html" in paths[path]["get"]["responses"]["200"]["content"]


async def test_interactive_docs_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")

    assert response.status_code == 200
    assert "/openapi.json" in response.text


FILTER_ROUTES = [
    ("get", "/api/v2/filters"),
    ("post", "/api/v2/filters"),
    ("get", "/api/v2/filters/{filter_id}"),
    ("put", "/api/v2/filters/{filter_id}"),
    ("delete", "/api/v2/filters/{filter_id}"),
    ("get", "/api/v2/filters/{filter_id}/keywords"),
    ("post", "/api/v2/filters/{filter_id}/keywords"),
    ("get", "/api/v2/filters/keywords/{keyword_id}"),
    ("put", "/api/v2/filters/keywords/{keyword_id}"),
    ("delete", "/api/v2/filters/keywords/{keyword_id}"),
    ("get", "/api/v2/filters/{filter_id}/statuses"),
    ("post", "/api/v2/filters/{filter_id}/statuses"),
    ("get", "/api/v2/filters/statuses/{row_id}"),
    ("delete", "/api/v2/filters/statuses/{row_id}"),
    ("get", "/api/v1/filters"),
    ("post", "/api/v1/filters"),
    ("get", "/api/v1/filters/{keyword_id}"),
    ("put", "/api/v1/filters/{keyword_id}"),
    ("delete", "/api/v1/filters/{keyword_id}"),
]


@pytest.mark.slow
async def test_openapi_lists_the_filter_routes(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    for method, path in FILTER_ROUTES:
        operation = paths[path][method]
        assert operation["tags"] == ["filters"], path
        assert operation["summary"], path
