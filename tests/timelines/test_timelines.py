"""Home, public and hashtag timelines and markers, filtered by the visibility rules."""

from tests.social_factories import auth, post_status, user_with_token


async def _ids(response):
    assert response.status_code == 200, response.text
    return [status["id"] for status in response.json()]


async def test_home_has_own_followed_and_boosts_minus_muted_and_unfollowed(app, client):
    _alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=auth(alice_token))
    await client.post(f"/api/v1/accounts/{carol.id}/follow", headers=auth(alice_token))

    own = await post_status(client, alice_token, "mine")
    from_bob = await post_status(client, bob_token, "bob here")
    private = await post_status(client, bob_token, "followers only", visibility="private")
    direct = await post_status(client, bob_token, "@carol psst", visibility="direct")
    stranger_post = await post_status(client, carol_token, "carol")
    boost = await client.post(
        f"/api/v1/statuses/{stranger_post['id']}/reblog", headers=auth(bob_token)
    )

    home = await _ids(await client.get("/api/v1/timelines/home", headers=auth(alice_token)))
    assert own["id"] in home
    assert from_bob["id"] in home
    assert private["id"] in home
    assert boost.json()["id"] in home
    assert direct["id"] not in home

    await client.post(f"/api/v1/accounts/{carol.id}/mute", headers=auth(alice_token))
    home = await _ids(await client.get("/api/v1/timelines/home", headers=auth(alice_token)))
    assert stranger_post["id"] not in home
    assert boost.json()["id"] not in home  # a boost of a muted account is hidden too

    await client.post(f"/api/v1/accounts/{bob.id}/unfollow", headers=auth(alice_token))
    home = await _ids(await client.get("/api/v1/timelines/home", headers=auth(alice_token)))
    assert from_bob["id"] not in home
    assert private["id"] not in home


async def test_home_paginates_with_link_headers(app, client):
    _alice, alice_token = await user_with_token(app, "alice")
    posted = [(await post_status(client, alice_token, f"post {n}"))["id"] for n in range(45)]
    first = await client.get(
        "/api/v1/timelines/home", params={"limit": 40}, headers=auth(alice_token)
    )
    page_one = await _ids(first)
    assert page_one == list(reversed(posted))[:40]
    link = first.headers["link"]
    assert link.index('rel="next"') < link.index('rel="prev"')
    rest = await _ids(await client.get(link.split(";")[0].strip("<>"), headers=auth(alice_token)))
    assert rest == list(reversed(posted))[40:]
    newer = await _ids(
        await client.get(
            "/api/v1/timelines/home", params={"min_id": posted[41]}, headers=auth(alice_token)
        )
    )
    assert newer == list(reversed(posted[42:]))
    since = await _ids(
        await client.get(
            "/api/v1/timelines/home",
            params={"since_id": posted[0], "limit": 2},
            headers=auth(alice_token),
        )
    )
    assert since == [posted[-1], posted[-2]]


async def test_public_and_hashtag_timelines_show_public_posts_only(app, client):
    _alice, alice_token = await user_with_token(app, "alice")
    public = await post_status(client, alice_token, "hello #Kites and #sky")
    unlisted = await post_status(client, alice_token, "quiet #kites", visibility="unlisted")
    private = await post_status(client, alice_token, "secret #kites", visibility="private")

    everyone = await _ids(await client.get("/api/v1/timelines/public"))
    assert public["id"] in everyone
    assert unlisted["id"] not in everyone
    assert private["id"] not in everyone

    tagged = await _ids(await client.get("/api/v1/timelines/tag/kites"))
    assert tagged == [public["id"]]
    both = await _ids(await client.get("/api/v1/timelines/tag/kites", params={"all[]": "sky"}))
    assert both == [public["id"]]
    excluded = await _ids(await client.get("/api/v1/timelines/tag/kites", params={"none[]": "sky"}))
    assert excluded == []


async def test_a_block_hides_public_posts_both_ways(app, client):
    alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    post = await post_status(client, alice_token, "hi all")
    await client.post(f"/api/v1/accounts/{alice.id}/block", headers=auth(bob_token))
    seen = await _ids(await client.get("/api/v1/timelines/public", headers=auth(bob_token)))
    assert post["id"] not in seen


async def test_markers_are_saved_and_versioned(app, client):
    _alice, alice_token = await user_with_token(app, "alice")
    saved = await client.post(
        "/api/v1/markers", data={"home[last_read_id]": "123"}, headers=auth(alice_token)
    )
    assert saved.json()["home"]["last_read_id"] == "123"
    assert saved.json()["home"]["version"] == 1
    await client.post(
        "/api/v1/markers", json={"home": {"last_read_id": "456"}}, headers=auth(alice_token)
    )
    read = await client.get(
        "/api/v1/markers",
        params={"timeline[]": ["home", "notifications"]},
        headers=auth(alice_token),
    )
    assert read.json()["home"]["last_read_id"] == "456"
    assert read.json()["home"]["version"] == 2
    assert "notifications" not in read.json()
    bad = await client.post(
        "/api/v1/markers", data={"home[last_read_id]": "abc"}, headers=auth(alice_token)
    )
    assert bad.status_code == 422
    assert "home[last_read_id]" in bad.json()["error"]
