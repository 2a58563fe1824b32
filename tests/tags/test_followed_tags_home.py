"""Followed hashtags bring public posts into home, on both engines: through fan-out into a warm
feed (Redis) and the database read (embedded), also when the feed is rebuilt; never a post
the reader may not see or has muted, never a boost; unfollowing stops them at once."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient

from tests.social_factories import auth, follow, post_status, user_with_token
from tests.statuses.support import block
from tests.timelines.support import feed_members, home_ids, redis_feed, settle


async def _follow_tag(client: AsyncClient, token: str, name: str) -> None:
    response = await client.post(f"/api/v1/tags/{name}/follow", headers=auth(token))
    assert response.status_code == 200, response.text


async def test_public_posts_with_a_followed_tag_come_into_home(
    app: FastAPI, client: AsyncClient
) -> None:
    reader, reader_token = await user_with_token(app, "reader")
    _author, author_token = await user_with_token(app, "author")
    await _follow_tag(client, reader_token, "gardening")
    await home_ids(app, client, reader_token)  # a warm feed from here on (Redis)

    tagged = await post_status(client, author_token, "tomatoes #Gardening")
    await post_status(client, author_token, "untagged, unfollowed")
    unlisted = await post_status(client, author_token, "quiet #gardening", visibility="unlisted")
    private = await post_status(client, author_token, "inner #gardening", visibility="private")
    direct = await post_status(client, author_token, "@reader psst #gardening", visibility="direct")
    boost = await client.post(f"/api/v1/statuses/{tagged['id']}/reblog", headers=auth(author_token))
    assert boost.status_code == 200

    home = await home_ids(app, client, reader_token)
    assert home == [tagged["id"]]
    for hidden in (unlisted, private, direct, boost.json()):
        assert hidden["id"] not in home
    if redis_feed(app) is not None:
        assert await feed_members(app, reader.id) == [int(tagged["id"])]

    # The rebuilt feed holds it too.
    store = redis_feed(app)
    if store is not None:
        await store.redis.delete(store.key(reader.id))
    assert await home_ids(app, client, reader_token) == [tagged["id"]]


async def test_unfollowing_a_tag_stops_its_posts_at_once(app: FastAPI, client: AsyncClient) -> None:
    reader, reader_token = await user_with_token(app, "reader")
    _author, author_token = await user_with_token(app, "author")
    await _follow_tag(client, reader_token, "news")
    await home_ids(app, client, reader_token)
    before = await post_status(client, author_token, "headline #news")
    assert await home_ids(app, client, reader_token) == [before["id"]]

    response = await client.post("/api/v1/tags/news/unfollow", headers=auth(reader_token))
    assert response.status_code == 200
    after = await post_status(client, author_token, "another #news")
    assert await home_ids(app, client, reader_token) == []  # neither: reads check the follow
    if redis_feed(app) is not None:  # and the clean-up took the old one out of the feed
        assert await feed_members(app, reader.id) == []
    assert after["id"] != before["id"]


async def test_following_a_tag_brings_its_recent_posts_into_a_warm_feed(
    app: FastAPI, client: AsyncClient
) -> None:
    reader, reader_token = await user_with_token(app, "reader")
    author, author_token = await user_with_token(app, "author")
    await home_ids(app, client, reader_token)  # warm (Redis) before the follow
    older = await post_status(client, author_token, "from before #birds")
    private = await post_status(client, author_token, "private #birds", visibility="private")
    await _follow_tag(client, reader_token, "birds")
    assert await home_ids(app, client, reader_token) == [older["id"]]
    if redis_feed(app) is not None:
        assert await feed_members(app, reader.id) == [int(older["id"])]
    # Unfollowing keeps what a followed author brings.
    response = await client.post(f"/api/v1/accounts/{author.id}/follow", headers=auth(reader_token))
    assert response.status_code == 200
    kept = await post_status(client, author_token, "followed and tagged #birds")
    response = await client.post("/api/v1/tags/birds/unfollow", headers=auth(reader_token))
    assert response.status_code == 200
    expected = [kept["id"], private["id"], older["id"]]  # now by a followed author
    assert await home_ids(app, client, reader_token) == expected


async def test_never_from_a_blocked_muted_or_suspended_author(
    app: FastAPI, client: AsyncClient
) -> None:
    reader, reader_token = await user_with_token(app, "reader")
    blocker, blocker_token = await user_with_token(app, "blocker")
    blocked, blocked_token = await user_with_token(app, "blocked")
    muted, muted_token = await user_with_token(app, "muted")
    friend, friend_token = await user_with_token(app, "friend")
    await _follow_tag(client, reader_token, "art")
    await block(app, blocker.id, reader.id)  # the author blocks the reader
    await block(app, reader.id, blocked.id)  # the reader blocks the author
    response = await client.post(f"/api/v1/accounts/{muted.id}/mute", headers=auth(reader_token))
    assert response.status_code == 200
    await home_ids(app, client, reader_token)

    await post_status(client, blocker_token, "mine #art")
    await post_status(client, blocked_token, "mine #art")
    await post_status(client, muted_token, "mine #art")
    ok = await post_status(client, friend_token, "mine #art")
    assert await home_ids(app, client, reader_token) == [ok["id"]]
    if redis_feed(app) is not None:
        assert await feed_members(app, reader.id) == [int(ok["id"])]
    store = redis_feed(app)
    if store is not None:
        await store.redis.delete(store.key(reader.id))
    assert await home_ids(app, client, reader_token) == [ok["id"]]  # the rebuild agrees
    assert friend.id != reader.id


async def test_a_followed_author_and_a_followed_tag_give_one_entry(
    app: FastAPI, client: AsyncClient
) -> None:
    reader, reader_token = await user_with_token(app, "reader")
    author, author_token = await user_with_token(app, "author")
    await follow(app, reader.id, author.id)
    await _follow_tag(client, reader_token, "both")
    await _follow_tag(client, reader_token, "twice")
    await home_ids(app, client, reader_token)
    post = await post_status(client, author_token, "#both #twice")
    assert await home_ids(app, client, reader_token) == [post["id"]]


async def test_tag_followers_are_walked_in_chunks(app_factory: Any) -> None:
    # Chunks of 3: 7 tag followers (and one who follows the author too) take three jobs.
    async with app_factory(HOME_FAN_OUT_BATCH=3) as (app, client):
        author, author_token = await user_with_token(app, "author")
        readers = [await user_with_token(app, f"reader{n}") for n in range(8)]
        await follow(app, readers[0][0].id, author.id)
        for _reader, token in readers:
            await _follow_tag(client, token, "chunked")
            await home_ids(app, client, token)
        post = await post_status(client, author_token, "to every follower of #chunked")
        await settle(app)
        for reader, token in readers:
            if redis_feed(app) is not None:
                assert await feed_members(app, reader.id) == [int(post["id"])]
            assert await home_ids(app, client, token) == [post["id"]]


async def test_older_pages_include_tagged_posts(app: FastAPI, client: AsyncClient) -> None:
    _reader, reader_token = await user_with_token(app, "reader")
    _author, author_token = await user_with_token(app, "author")
    await _follow_tag(client, reader_token, "paged")
    await home_ids(app, client, reader_token)
    posts = [(await post_status(client, author_token, f"n{n} #paged"))["id"] for n in range(5)]
    first = await home_ids(app, client, reader_token, limit=2)
    assert first == posts[::-1][:2]
    rest = await home_ids(app, client, reader_token, max_id=first[-1])
    assert rest == posts[::-1][2:]
    newer = await home_ids(app, client, reader_token, min_id=posts[1], limit=2)
    assert newer == [posts[3], posts[2]]
