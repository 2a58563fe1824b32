"""Helpers for filter tests: creating filters through the API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.social_factories import auth


async def create_filter(
    client: httpx.AsyncClient,
    token: str,
    title: str = "Spoilers",
    *,
    context: list[str] | None = None,
    keywords: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """`POST /api/v2/filters` as JSON; asserts success and returns the Filter."""
    body: dict[str, Any] = {"title": title, "context": context or ["home"], **fields}
    if keywords is not None:
        body["keywords_attributes"] = keywords
    response = await client.post("/api/v2/filters", json=body, headers=auth(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


def error_of(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    return str(response.json()["error"])
