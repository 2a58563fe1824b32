"""The public pages (`/@username`, `/@username/:id`, `/tags/:tag`): what anyone may see,
without JavaScript, through the API's visibility rule, with link-preview meta and HTTP
caching."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI

from tests.accounts.support import STRONG_PASSWORD, web_sign_in
from tests.admin.support import act, staff
from tests.factories import create_user
from tests.media import files
from tests.media.support import upload
from tests.social_factories import auth, follow, post_status, user_with_token


def _meta(page: str) -> dict[str, str]:
    soup = BeautifulSoup(page, "html.parser")
    found: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        key = tag.get("property") or tag.get("name")
        if key:
            found[str(key)] = str(tag.get("content", ""))
    canonical = soup.find("link", rel="canonical")
    if canonical is not None:
        found["canonical"] = str(canonical["href"])
    return found


def _browser(app: FastAPI) -> httpx.AsyncClient:
    """A second browser, with its own cookies."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def _sign_in(app: FastAPI, browser: httpx.AsyncClient, username: str) -> int:
    """A new user signed in on `browser` through the sign-in page; its account id."""
    account, _user = await create_user(app, username, password=STRONG_PASSWORD)
    response = await web_sign_in(browser, f"{username}@example.com")
    assert response.status_code == 303, response.text
    assert "connecthub_session" in browser.cookies
    return account.id


async def test_a_public_status_page_has_its_post_and_link_preview_meta(app, client) -> None:
    _alice, token = await user_with_token(app, "alice")
    named = await client.patch(
        "/api/v1/accounts/update_credentials", data={"display_name": "Alice A"}, headers=auth(token)
    )
    assert named.status_code == 200
    status = await post_status(client, token, "Kopi time #kopi with @alice")

    response = await client.get(status["url"])

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<script" not in page
    assert "Kopi time" in page
    meta = _meta(page)
    assert meta["og:type"] == "article"
    assert meta["og:title"].startswith("Alice A (@alice@")
    assert meta["og:description"] == "Kopi time #kopi with @alice"
    assert meta["og:url"] == status["url"]
    assert meta["canonical"] == status["url"]
    assert meta["og:image"] == status["account"]["avatar_static"]
    assert meta["twitter:card"] == "summary"
    assert meta["article:published_time"] == status["created_at"]
    # The API's sanitised HTML, as it is: the hashtag and mention links.
    assert status["content"] in page
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["etag"].startswith('W/"')
    assert "Accept-Language" in response.headers["vary"]


async def test_etag_answers_304_and_changes_with_the_page(app, client) -> None:
    _alice, token = await user_with_token(app, "alice")
    status = await post_status(client, token, "first words")
    first = await client.get(status["url"])
    etag = first.headers["etag"]

    again = await client.get(status["url"], headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "public, max-age=60"

    head = await client.head(status["url"])
    assert head.status_code == 200
    assert head.headers["etag"] == etag

    edited = await client.put(
        f"/api/v1/statuses/{status['id']}", json={"status": "other words"}, headers=auth(token)
    )
    assert edited.status_code == 200
    changed = await client.get(status["url"], headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "other words" in changed.text
    assert changed.headers["etag"] != etag


@pytest.mark.slow
async def test_only_what_the_visitor_may_read_has_a_page(app, client) -> None:
    alice, token = await user_with_token(app, "alice")
    public = await post_status(client, token, "for everyone", visibility="public")
    unlisted = await post_status(client, token, "quietly public", visibility="unlisted")
    private = await post_status(client, token, "followers only", visibility="private")
    direct = await post_status(client, token, "just us @alice", visibility="direct")

    for shown in (public, unlisted):
        assert (await client.get(shown["url"])).status_code == 200
    for hidden in (private, direct):
        response = await client.get(hidden["url"])
        assert response.status_code == 404
        assert "followers only" not in response.text
        assert "just us" not in response.text

    profile = await client.get("/@alice")
    assert profile.status_code == 200
    assert "for everyone" in profile.text
    assert "quietly public" in profile.text
    assert "followers only" not in profile.text
    assert "just us" not in profile.text

    # A follower signed in on this browser reads the followers-only post; the page is theirs.
    async with _browser(app) as reader:
        bob_id = await _sign_in(app, reader, "bob")
        await follow(app, bob_id, alice.id)
        # The browser's cookie is for this host: the page by its path.
        mine = await reader.get(urlsplit(private["url"]).path)
        assert mine.status_code == 200
        assert "followers only" in mine.text
        assert mine.headers["cache-control"] == "private, no-cache"
        assert "followers only" in (await reader.get("/@alice")).text
        # Not mentioned in the direct post: still a 404.
        assert (await reader.get(urlsplit(direct["url"]).path)).status_code == 404


async def test_a_status_under_another_name_or_id_is_404(app, client) -> None:
    await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    status = await post_status(client, bob_token, "bob's")

    assert (await client.get(f"/@alice/{status['id']}")).status_code == 404
    assert (await client.get("/@nobody")).status_code == 404
    assert (await client.get("/@bob/12345")).status_code == 404
    assert (await client.get("/@bob/not-a-number")).status_code == 404
    bad = await client.get("/@bob", params={"max_id": "x"})
    assert bad.status_code == 422


@pytest.mark.slow
async def test_profile_page_meta_and_pagination(app, client) -> None:
    _alice, token = await user_with_token(app, "alice")
    updated = await client.patch(
        "/api/v1/accounts/update_credentials",
        data={"display_name": "Alice", "note": "Barista <script>alert(1)</script> in Bandung"},
        headers=auth(token),
    )
    assert updated.status_code == 200, updated.text
    account = updated.json()
    posted = [await post_status(client, token, f"post number {n}") for n in range(22)]

    first = await client.get(account["url"])
    assert first.status_code == 200
    page = first.text
    assert "<script>alert" not in page
    meta = _meta(page)
    assert meta["og:type"] == "profile"
    assert meta["og:title"].startswith("Alice (@alice@")
    assert meta["og:description"] == "Barista <script>alert(1)</script> in Bandung"
    assert meta["og:image"] == account["avatar_static"]
    assert meta["canonical"] == account["url"]
    assert meta["profile:username"].startswith("alice@")
    assert "post number 21<" in page
    assert "post number 2<" in page
    assert "post number 1<" not in page
    older = BeautifulSoup(page, "html.parser").find("a", rel="next")
    assert older is not None
    assert older["href"] == f"?max_id={posted[2]['id']}"

    pinned = await client.post(f"/api/v1/statuses/{posted[5]['id']}/pin", headers=auth(token))
    assert pinned.status_code == 200, pinned.text
    with_pin = BeautifulSoup((await client.get(account["url"])).text, "html.parser")
    section = with_pin.find("section", attrs={"aria-labelledby": "pinned-heading"})
    assert section is not None
    assert "post number 5" in section.get_text()

    second = await client.get(account["url"] + str(older["href"]))
    assert second.status_code == 200
    assert "post number 1<" in second.text
    assert "post number 0<" in second.text
    assert "post number 2<" not in second.text
    assert BeautifulSoup(second.text, "html.parser").find("a", rel="next") is None


async def test_a_boost_page_leads_to_the_original(app, client) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    status = await post_status(client, alice_token, "worth sharing")
    boost = await client.post(f"/api/v1/statuses/{status['id']}/reblog", headers=auth(bob_token))
    assert boost.status_code == 200

    response = await client.get(f"/@bob/{boost.json()['id']}")
    assert response.status_code == 301
    assert response.headers["location"] == status["url"]
    profile = await client.get("/@bob")
    assert "worth sharing" in profile.text


async def test_a_status_with_an_image_previews_the_image(app, client) -> None:
    _alice, token = await user_with_token(app, "alice")
    media = await upload(client, token, files.png(64, 48), description="a cup of kopi")
    assert media.status_code == 200, media.text
    status = await post_status(client, token, "look", media_ids=[media.json()["id"]])

    page = (await client.get(status["url"])).text
    meta = _meta(page)
    preview = status["media_attachments"][0]["preview_url"]
    assert meta["og:image"] == preview
    assert meta["twitter:card"] == "summary_large_image"
    assert 'alt="a cup of kopi"' in page


async def test_tag_page_lists_public_posts_with_the_tag(app, client) -> None:
    _alice, token = await user_with_token(app, "alice")
    await post_status(client, token, "public #Kopi", visibility="public")
    await post_status(client, token, "secret #kopi", visibility="private")
    await post_status(client, token, "no tag here", visibility="public")

    response = await client.get("/tags/kopi")
    assert response.status_code == 200
    assert "public #" in BeautifulSoup(response.text, "html.parser").get_text()
    assert "secret" not in response.text
    assert "no tag here" not in response.text
    meta = _meta(response.text)
    assert meta["og:title"] == "#kopi"
    assert meta["canonical"].endswith("/tags/kopi")
    assert response.headers["etag"]
    assert (await client.get("/tags/not a tag!")).status_code == 404


async def test_suspended_and_deleted_accounts(app, client) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    status = await post_status(client, alice_token, "before")
    _mod, mod_token = await staff(app, "wati")

    suspended = await act(client, mod_token, alice.id, "suspend")
    assert suspended.status_code == 200, suspended.text
    assert (await client.get("/@alice")).status_code == 403
    assert (await client.get(status["url"])).status_code in (403, 404)

    bob, bob_token = await user_with_token(app, "bob", password=STRONG_PASSWORD)
    deleted = await client.post(
        "/api/v1/connecthub/account_deletion",
        data={"password": STRONG_PASSWORD},
        headers=auth(bob_token),
    )
    assert deleted.status_code == 202, deleted.text
    assert (await client.get("/@bob")).status_code == 410
    assert bob.username == "bob"


async def test_uris_redirect_to_the_pages(app, client) -> None:
    _alice, token = await user_with_token(app, "alice")
    status = await post_status(client, token, "hi")
    response = await client.get(status["uri"])
    assert response.status_code == 301
    assert response.headers["location"] == status["url"]
    account = await client.get(status["account"]["uri"])
    assert account.headers["location"] == status["account"]["url"]
