"""The community every server is given, built through the Mastodon API only: accounts (each
server creates them its own way, `Target.create_accounts`), then follows and statuses as any
client would post them. The shape is decided up front (seeded random), so every server gets
the same one.

- `dense` (the issue's shape): 50 accounts all following each other; 5,000 statuses, a
  quarter with hashtags, a tenth replies (mentioning the author replied to);
- `heavy-tail`: a few accounts followed by everyone, the rest following a Zipf-like sample
  of the others; popular accounts post most of the statuses (same hashtag and reply shares).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

HASHTAGS = ["fediverse", "python", "coffee", "music", "photography", "news", "cats", "books"]


@dataclass(frozen=True)
class Post:
    author: int  # index into the accounts
    text: str
    reply_to: int | None  # index of an earlier post


@dataclass(frozen=True)
class Shape:
    name: str
    usernames: list[str]
    follows: list[tuple[int, int]]  # (follower, followed) indices
    posts: list[Post]

    def describe(self) -> str:
        tagged = sum("#" in post.text for post in self.posts)
        replies = sum(post.reply_to is not None for post in self.posts)
        return (
            f"{self.name}: {len(self.usernames)} accounts, {len(self.follows):,} follows, "
            f"{len(self.posts):,} statuses ({tagged:,} with hashtags, {replies:,} replies)"
        )


def _posts(rng: random.Random, usernames: list[str], authors: Sequence[int]) -> list[Post]:
    posts: list[Post] = []
    for number, author in enumerate(authors):
        words = f"status {number} from {usernames[author]}, {rng.getrandbits(32):08x}"
        reply_to = None
        if number % 10 == 9:  # a tenth are replies, to a status posted a little earlier
            reply_to = rng.randrange(max(0, number - 500), max(1, number - 50))
            words = f"@{usernames[posts[reply_to].author]} {words}"
        if number % 4 == 0:  # a quarter carry one or two hashtags
            tags = rng.sample(HASHTAGS, k=rng.choice((1, 2)))
            words += " " + " ".join(f"#{tag}" for tag in tags)
        posts.append(Post(author, words, reply_to))
    return posts


def dense(accounts: int = 50, statuses: int = 5000) -> Shape:
    rng = random.Random(26)
    usernames = [f"bench{n:04d}" for n in range(accounts)]
    follows = [(a, b) for a in range(accounts) for b in range(accounts) if a != b]
    authors = [rng.randrange(accounts) for _ in range(statuses)]
    return Shape("dense", usernames, follows, _posts(rng, usernames, authors))


def heavy_tail(
    accounts: int = 200, statuses: int = 5000, stars: int = 5, follows: int = 20
) -> Shape:
    rng = random.Random(26)
    usernames = [f"bench{n:04d}" for n in range(accounts)]
    weights = [1.0 / (rank + 1) for rank in range(accounts)]  # Zipf-like popularity
    edges: set[tuple[int, int]] = set()
    for follower in range(accounts):
        for star in range(stars):
            if star != follower:
                edges.add((follower, star))
        for followed in rng.choices(range(accounts), weights=weights, k=follows):
            if followed != follower:
                edges.add((follower, followed))
    authors = rng.choices(range(accounts), weights=weights, k=statuses)
    return Shape("heavy-tail", usernames, sorted(edges), _posts(rng, usernames, authors))


SHAPES = {"dense": dense, "heavy-tail": heavy_tail}


async def _checked(response: httpx.Response, what: str) -> dict[str, object]:
    if response.is_error:
        raise RuntimeError(f"{what}: {response.status_code} {response.text[:300]}")
    body = response.json()
    assert isinstance(body, dict)
    return body


async def seed(base_url: str, tokens: list[str], shape: Shape, concurrency: int = 8) -> None:
    """Follows and statuses through the API, `concurrency` requests at a time. A reply's
    parent is always posted before it (statuses go in waves of 100)."""
    started = time.monotonic()
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:

        def auth(index: int) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[index]}"}

        async def who(index: int) -> str:
            async with gate:
                response = await client.get(
                    "/api/v1/accounts/verify_credentials", headers=auth(index)
                )
                return str((await _checked(response, "verify_credentials"))["id"])

        ids = await asyncio.gather(*(who(i) for i in range(len(tokens))))

        async def follow(follower: int, followed: int) -> None:
            async with gate:
                response = await client.post(
                    f"/api/v1/accounts/{ids[followed]}/follow", headers=auth(follower)
                )
                relationship = await _checked(response, f"follow {follower} -> {followed}")
                if not relationship.get("following"):  # a request to a locked account
                    raise RuntimeError(f"follow {follower} -> {followed}: {relationship}")

        await asyncio.gather(*(follow(a, b) for a, b in shape.follows))
        print(f"  {len(shape.follows):,} follows in {time.monotonic() - started:.0f} s", flush=True)

        status_ids: list[str] = []

        async def post(item: Post) -> str:
            body: dict[str, object] = {"status": item.text, "visibility": "public"}
            if item.reply_to is not None:
                body["in_reply_to_id"] = status_ids[item.reply_to]
            async with gate:
                response = await client.post(
                    "/api/v1/statuses", headers=auth(item.author), json=body
                )
                return str((await _checked(response, "POST /api/v1/statuses"))["id"])

        wave: list[Post] = []
        for item in shape.posts:
            # A wave goes out at once: it ends before a reply to one of its own statuses.
            parent_in_wave = item.reply_to is not None and item.reply_to >= len(status_ids)
            if len(wave) == 100 or parent_in_wave:
                status_ids.extend(await asyncio.gather(*(post(each) for each in wave)))
                wave = []
            wave.append(item)
        status_ids.extend(await asyncio.gather(*(post(each) for each in wave)))
        print(
            f"  {len(status_ids):,} statuses; seeded in {time.monotonic() - started:.0f} s",
            flush=True,
        )
