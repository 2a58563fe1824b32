"""The status length as Mastodon counts it (a URL is 23 characters, a mention's domain is
free), and the caps that keep that counting from letting an unbounded body through: links
longer than Mastodon's URL limit count in full, and the raw text has a ceiling of its own."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from connecthub.accounts.models import Account
from connecthub.statuses.models import Poll, Status, StatusEdit
from tests.social_factories import auth, post_status, user_with_token
from tests.statuses.support import account_row, count_rows

HUGE_URL = "https://example.com/" + "a" * 200_000


def url_of_length(length: int) -> str:
    prefix = "https://example.com/p?q="
    return prefix + "x" * (length - len(prefix))


# Links as people paste them: search results, maps, tracking parameters (a few hundred
# characters each).
REAL_LONG_URLS = [
    "https://www.google.com/maps/place/Brandenburger+Tor/@52.5162746,13.3755153,17z/"
    "data=!3m1!4b1!4m6!3m5!1s0x47a851c655f20989:0x26bbfb4e84674c63!8m2!3d52.5162746!4d13.3777"
    "04!16zL20vMDE1Yzlq?entry=ttu&g_ep=EgoyMDI0MTAwMi4xIKXMDSoASAFQAw%3D%3D",
    "https://en.wikipedia.org/wiki/Special:Search?search=the+quick+brown+fox+jumps+over+the"
    "+lazy+dog+pangram+typography+history&title=Special%3ASearch&profile=advanced&fulltext=1"
    "&ns0=1&ns1=1&ns2=1&ns3=1&ns4=1&ns5=1&ns6=1&ns7=1&ns8=1&ns9=1&ns10=1&ns11=1&ns12=1",
    "https://news.example.org/2024/10/03/a-rather-long-article-slug-that-goes-on-and-on-"
    "about-the-topic-of-the-day?utm_source=newsletter&utm_medium=email&utm_campaign=weekly"
    "-digest-2024-10-03&utm_content=headline-link-1&mc_cid=0123456789&mc_eid=abcdef0123",
    url_of_length(1000),
]


async def assert_refused(response: httpx.Response, field: str = "status") -> None:
    assert response.status_code == 422, response.text[:300]
    error = response.json()["error"]
    assert error.startswith("Validation failed: "), error
    assert field in error, error


async def test_a_huge_url_is_refused_and_nothing_is_stored(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, token = await user_with_token(app, "alice")
    response = await client.post(
        "/api/v1/statuses", json={"status": f"look {HUGE_URL}"}, headers=auth(token)
    )
    await assert_refused(response)
    assert await count_rows(app, Status) == 0
    assert (await account_row(app, alice.id)).statuses_count == 0


async def test_a_url_longer_than_4096_characters_counts_in_full(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, token = await user_with_token(app, "alice")
    await post_status(client, token, f"limit {url_of_length(4096)}")
    response = await client.post(
        "/api/v1/statuses", json={"status": f"over {url_of_length(4097)}"}, headers=auth(token)
    )
    await assert_refused(response)
    assert await count_rows(app, Status) == 1


async def test_many_links_under_the_url_limit_hit_the_raw_cap(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # Six 4000-character links count as 6 x 23 characters, but are 24 KB of text.
    _alice, token = await user_with_token(app, "alice")
    text = " ".join(url_of_length(4000) for _ in range(6))
    response = await client.post("/api/v1/statuses", json={"status": text}, headers=auth(token))
    await assert_refused(response)
    assert await count_rows(app, Status) == 0


async def test_several_long_real_links_are_accepted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, token = await user_with_token(app, "alice")
    text = "Reading list for the week, with notes to follow:\n\n" + "\n".join(
        f"{n}. {url}" for n, url in enumerate(REAL_LONG_URLS, 1)
    )
    status = await post_status(client, token, text + "\n\n" + "Enjoy! " * 40)
    assert status["content"].count("<a href=") == len(REAL_LONG_URLS)


async def test_a_mentions_domain_does_not_count(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    # 490 + 1 + len("@bob") = 495 counted characters, though 510 typed.
    await post_status(client, token, "x" * 490 + " @bob@social.example.org")
    huge_domain = "@bob@" + "d" * 200_000 + ".example"
    response = await client.post(
        "/api/v1/statuses", json={"status": f"hi {huge_domain}"}, headers=auth(token)
    )
    await assert_refused(response)
    assert await count_rows(app, Status) == 1


async def test_spoiler_text_and_poll_options_are_capped(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, token = await user_with_token(app, "alice")
    spoiler = await client.post(
        "/api/v1/statuses",
        json={"status": "hi", "spoiler_text": HUGE_URL},
        headers=auth(token),
    )
    await assert_refused(spoiler)
    poll = await client.post(
        "/api/v1/statuses",
        json={"status": "vote", "poll": {"options": [HUGE_URL, "b"], "expires_in": 600}},
        headers=auth(token),
    )
    await assert_refused(poll, "poll[options]")
    assert await count_rows(app, Status) == 0
    assert await count_rows(app, Poll) == 0


async def test_edits_are_held_to_the_same_limits(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    status = await post_status(client, token, "original")
    path = f"/api/v1/statuses/{status['id']}"
    bodies = [
        {"status": f"look {HUGE_URL}"},
        {"status": f"over {url_of_length(4097)}"},
        {"status": " ".join(url_of_length(4000) for _ in range(6))},
        {"status": "hi", "spoiler_text": HUGE_URL},
        {"status": "vote", "poll": {"options": [HUGE_URL, "b"], "expires_in": 600}},
    ]
    for body in bodies:
        response = await client.put(path, json=body, headers=auth(token))
        await assert_refused(response, "poll[options]" if "poll" in body else "status")
    source = (await client.get(f"{path}/source", headers=auth(token))).json()
    assert source["text"] == "original"
    assert await count_rows(app, StatusEdit) == 0
    fetched = (await client.get(path)).json()
    assert fetched["edited_at"] is None
    assert fetched["content"] == "<p>original</p>"
    edited = await client.put(path, json={"status": "\n".join(REAL_LONG_URLS)}, headers=auth(token))
    assert edited.status_code == 200, edited.text
    assert await count_rows(app, Account) == 1
