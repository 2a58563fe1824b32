"""NodeInfo 2.0: discovery at /.well-known/nodeinfo, then the document it points at."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from connecthub import __version__

AppFactory = Callable[..., Any]
SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.0"


async def test_discovery_links_to_the_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/nodeinfo", headers={"Origin": "https://a.example"})

    assert response.status_code == 200
    assert response.json() == {
        "links": [{"rel": SCHEMA, "href": "http://localhost:8000/nodeinfo/2.0"}]
    }
    assert response.headers["access-control-allow-origin"] == "*"


async def test_discovery_uses_https_behind_tls(app_factory: AppFactory) -> None:
    async with app_factory(behind_tls=True) as (_, client):
        links = (await client.get("/.well-known/nodeinfo")).json()["links"]

    assert links[0]["href"] == "https://localhost:8000/nodeinfo/2.0"


async def test_discovery_ignores_the_host_header(app_factory: AppFactory) -> None:
    async with app_factory(local_domain="social.example") as (_, client):
        response = await client.get(
            "/.well-known/nodeinfo", headers={"Host": "evil.example/path?x="}
        )

    assert response.json()["links"][0]["href"] == "http://social.example/nodeinfo/2.0"


async def test_document_describes_the_server(app_factory: AppFactory) -> None:
    async with app_factory(instance_title="Kopi Club") as (_, client):
        href = (await client.get("/.well-known/nodeinfo")).json()["links"][0]["href"]
        response = await client.get(urlsplit(href).path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert f'profile="{SCHEMA}#"' in response.headers["content-type"]
    body = response.json()
    assert body["version"] == "2.0"
    assert body["software"] == {"name": "connecthub", "version": __version__}
    assert body["protocols"] == []
    assert body["services"] == {"inbound": [], "outbound": []}
    assert body["usage"] == {
        "users": {"total": 0, "activeMonth": 0, "activeHalfyear": 0},
        "localPosts": 0,
    }
    assert body["openRegistrations"] is True
    assert body["metadata"]["nodeName"] == "Kopi Club"
