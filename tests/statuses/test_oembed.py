"""`GET /api/oembed?url=`: the oEmbed of a status anyone may read (public, unlisted), by its
URL or URI; 404 for anything else."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.social_factories import auth, post_status, user_with_token


async def test_oembed_of_a_public_status(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    await client.patch(
        "/api/v1/accounts/update_credentials", headers=auth(token), data={"display_name": "Al"}
    )
    status = await post_status(client, token, "hello world")
    root = app.state.engines.settings.base_url
    for url in (status["url"], status["uri"]):
        response = await client.get("/api/oembed", params={"url": url})
        assert response.status_code == 200, response.text
        body = response.json()
        assert {k: v for k, v in body.items() if k != "html"} == {
            "type": "rich",
            "version": "1.0",
            "author_name": "Al",
            "author_url": f"{root}/@alice",
            "provider_name": app.state.engines.settings.local_domain,
            "provider_url": f"{root}/",
            "cache_age": 86400,
            "width": 400,
            "height": None,
        }
        assert body["html"].startswith("<iframe ")
        assert f'src="{root}/@alice/{status["id"]}/embed"' in body["html"]
    sized = await client.get(
        "/api/oembed", params={"url": status["url"], "maxwidth": "300", "maxheight": "200"}
    )
    assert (sized.json()["width"], sized.json()["height"]) == (300, 200)
    assert 'width="300" height="200"' in sized.json()["html"]
    unlisted = await post_status(client, token, "quiet", visibility="unlisted")
    shown = await client.get("/api/oembed", params={"url": unlisted["url"]})
    assert shown.status_code == 200


async def test_oembed_refuses_what_is_not_public(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    await user_with_token(app, "bob")
    public = await post_status(client, token, "hello")
    private = await post_status(client, token, "friends only", visibility="private")
    direct = await post_status(client, token, "@bob secret", visibility="direct")
    root = app.state.engines.settings.base_url
    for url in (
        private["url"],
        direct["url"],
        public["url"].replace("/@alice/", "/@bob/"),
        f"{root}/@alice/99999999",
        "https://elsewhere.example/@alice/" + public["id"],
        f"{root}/@alice/{public['id']}/extra",
        "not a url",
    ):
        response = await client.get("/api/oembed", params={"url": url})
        assert response.status_code == 404, (url, response.text)
    missing = await client.get("/api/oembed")
    assert missing.status_code == 422
    assert "url" in missing.json()["error"]
    for field in ("maxwidth", "maxheight"):
        bad = await client.get("/api/oembed", params={"url": public["url"], field: "wide"})
        assert bad.status_code == 422
        assert field in bad.json()["error"]
