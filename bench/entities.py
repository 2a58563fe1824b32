"""What typed entities cost on the hot path: one home page (20 statuses with their authors,
media, mentions, tags and a boost) built and encoded to JSON bytes in each candidate form
(figures in docs/benchmarks.md, "Typed entities").

- dict + orjson: what timelines send today (`http/responses.EntityResponse`);
- dict + FastAPI's default: a route annotated `list[dict[str, Any]]` (pydantic checks the
  shape and writes the bytes);
- TypedDict + orjson: the same dicts, built through the TypedDict classes of
  `connecthub.entities` (a TypedDict is a dict at run time);
- TypedDict through FastAPI: what a route annotated with the TypedDict would cost if FastAPI
  validated and serialised it (pydantic TypeAdapter);
- msgspec Struct + msgspec.json;
- pydantic model + model_dump_json.

    .venv/bin/python bench/entities.py [--pages 2000]

Each form is built from the same row objects, so "build" counts what a converter does and
"encode" what the response does; the figure is the best of seven runs, in µs per page.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson
from pydantic import BaseModel, TypeAdapter

from connecthub import entities

PAGE = 20
ROOT = "https://connecthub.example"


@dataclass
class Row:
    """A status row as the converter sees it (what the ORM gives)."""

    id: int
    author: int
    text: str
    boost_of: Row | None = None
    media: int = 0
    mentions: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()


def rows() -> list[Row]:
    boosted = Row(9000, 7, "<p>A boosted post with <a href='x'>a link</a></p>", media=1)
    page = []
    for index in range(PAGE):
        page.append(
            Row(
                id=10_000 + index,
                author=index % 6,
                text=f"<p>Post number {index}, with some words in it, and an émoji ✨</p>",
                boost_of=boosted if index == 3 else None,
                media=2 if index % 4 == 0 else 0,
                mentions=(index % 6 + 1,) if index % 3 == 0 else (),
                tags=("python", "fediverse") if index % 5 == 0 else (),
            )
        )
    return page


# --- one builder, parameterised by the classes it calls -------------------------------


@dataclass
class Kinds:
    account: Callable[..., Any]
    field: Callable[..., Any]
    media: Callable[..., Any]
    mention: Callable[..., Any]
    tag: Callable[..., Any]
    status: Callable[..., Any]


def build_account(k: Kinds, account_id: int) -> Any:
    name = f"user{account_id}"
    return k.account(
        id=str(account_id),
        username=name,
        acct=name,
        display_name=f"User {account_id}",
        locked=False,
        bot=False,
        discoverable=True,
        indexable=False,
        group=False,
        created_at="2024-05-01T00:00:00.000Z",
        note="<p>Hello, I write about things.</p>",
        url=f"{ROOT}/@{name}",
        uri=f"{ROOT}/users/{name}",
        avatar=f"{ROOT}/system/media/avatars/{account_id}.png",
        avatar_static=f"{ROOT}/system/media/avatars/{account_id}.png",
        header=f"{ROOT}/headers/original/missing.png",
        header_static=f"{ROOT}/headers/original/missing.png",
        followers_count=120 + account_id,
        following_count=80,
        statuses_count=4000,
        last_status_at="2025-01-02",
        hide_collections=False,
        noindex=False,
        emojis=[],
        roles=[],
        fields=[k.field(name="Site", value=f"{ROOT}/about", verified_at=None)],
    )


def build_media(k: Kinds, media_id: int) -> Any:
    return k.media(
        id=str(media_id),
        type="image",
        url=f"{ROOT}/system/media/{media_id}/original.jpg",
        preview_url=f"{ROOT}/system/media/{media_id}/small.jpg",
        remote_url=None,
        preview_remote_url=None,
        text_url=None,
        meta={
            "original": {"width": 1600, "height": 1200, "size": "1600x1200", "aspect": 1.3333},
            "small": {"width": 640, "height": 480, "size": "640x480", "aspect": 1.3333},
            "focus": {"x": 0.0, "y": 0.0},
        },
        description="A photo of a harbour at dusk",
        blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
    )


def build_status(k: Kinds, row: Row, accounts: dict[int, Any]) -> Any:
    return k.status(
        id=str(row.id),
        created_at="2025-01-02T10:11:12.131Z",
        in_reply_to_id=None,
        in_reply_to_account_id=None,
        sensitive=False,
        spoiler_text="",
        visibility="public",
        language="en",
        uri=f"{ROOT}/users/user{row.author}/statuses/{row.id}",
        url=f"{ROOT}/@user{row.author}/{row.id}",
        replies_count=2,
        reblogs_count=5,
        favourites_count=11,
        edited_at=None,
        content=row.text,
        reblog=build_status(k, row.boost_of, accounts) if row.boost_of else None,
        application=None,
        account=accounts[row.author],
        media_attachments=[build_media(k, row.id * 10 + n) for n in range(row.media)],
        mentions=[
            k.mention(id=str(m), username=f"user{m}", acct=f"user{m}", url=f"{ROOT}/@user{m}")
            for m in row.mentions
        ],
        tags=[k.tag(name=t, url=f"{ROOT}/tags/{t}") for t in row.tags],
        emojis=[],
        card=None,
        poll=None,
        favourited=False,
        reblogged=False,
        muted=False,
        bookmarked=row.id % 7 == 0,
        pinned=False,
        filtered=[],
    )


def build_page(k: Kinds, page: list[Row]) -> list[Any]:
    # Authors are rendered once per page (the converter caches them the same way).
    authors = {r.author for r in page} | {r.boost_of.author for r in page if r.boost_of}
    accounts = {a: build_account(k, a) for a in authors}
    return [build_status(k, row, accounts) for row in page]


# --- dict literals, as the converters build them ---------------------------------------
# A TypedDict is only an annotation on this code: at run time the same dicts are built.


def literal_account(account_id: int) -> entities.Account:
    name = f"user{account_id}"
    return {
        "id": str(account_id),
        "username": name,
        "acct": name,
        "display_name": f"User {account_id}",
        "locked": False,
        "bot": False,
        "discoverable": True,
        "indexable": False,
        "group": False,
        "created_at": "2024-05-01T00:00:00.000Z",
        "note": "<p>Hello, I write about things.</p>",
        "url": f"{ROOT}/@{name}",
        "uri": f"{ROOT}/users/{name}",
        "avatar": f"{ROOT}/system/media/avatars/{account_id}.png",
        "avatar_static": f"{ROOT}/system/media/avatars/{account_id}.png",
        "header": f"{ROOT}/headers/original/missing.png",
        "header_static": f"{ROOT}/headers/original/missing.png",
        "followers_count": 120 + account_id,
        "following_count": 80,
        "statuses_count": 4000,
        "last_status_at": "2025-01-02",
        "hide_collections": False,
        "noindex": False,
        "emojis": [],
        "roles": [],
        "fields": [{"name": "Site", "value": f"{ROOT}/about", "verified_at": None}],
    }


def literal_media(media_id: int) -> entities.MediaAttachment:
    return {
        "id": str(media_id),
        "type": "image",
        "url": f"{ROOT}/system/media/{media_id}/original.jpg",
        "preview_url": f"{ROOT}/system/media/{media_id}/small.jpg",
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": {
            "original": {"width": 1600, "height": 1200, "size": "1600x1200", "aspect": 1.3333},
            "small": {"width": 640, "height": 480, "size": "640x480", "aspect": 1.3333},
            "focus": {"x": 0.0, "y": 0.0},
        },
        "description": "A photo of a harbour at dusk",
        "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
    }


def literal_status(row: Row, accounts: dict[int, entities.Account]) -> entities.Status:
    return {
        "id": str(row.id),
        "created_at": "2025-01-02T10:11:12.131Z",
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"{ROOT}/users/user{row.author}/statuses/{row.id}",
        "url": f"{ROOT}/@user{row.author}/{row.id}",
        "replies_count": 2,
        "reblogs_count": 5,
        "favourites_count": 11,
        "edited_at": None,
        "content": row.text,
        "reblog": literal_status(row.boost_of, accounts) if row.boost_of else None,
        "application": None,
        "account": accounts[row.author],
        "media_attachments": [literal_media(row.id * 10 + n) for n in range(row.media)],
        "mentions": [
            {"id": str(m), "username": f"user{m}", "acct": f"user{m}", "url": f"{ROOT}/@user{m}"}
            for m in row.mentions
        ],
        "tags": [{"name": t, "url": f"{ROOT}/tags/{t}"} for t in row.tags],
        "emojis": [],
        "card": None,
        "poll": None,
        "favourited": False,
        "reblogged": False,
        "muted": False,
        "bookmarked": row.id % 7 == 0,
        "pinned": False,
        "filtered": [],
    }


def literal_page(page: list[Row]) -> list[entities.Status]:
    authors = {r.author for r in page} | {r.boost_of.author for r in page if r.boost_of}
    accounts = {a: literal_account(a) for a in authors}
    return [literal_status(row, accounts) for row in page]


# --- the candidate forms ---------------------------------------------------------------
# None: the dict literals above.


class SField(msgspec.Struct):
    name: str
    value: str
    verified_at: str | None


class SAccount(msgspec.Struct):
    id: str
    username: str
    acct: str
    display_name: str
    locked: bool
    bot: bool
    discoverable: bool | None
    indexable: bool
    group: bool
    created_at: str
    note: str
    url: str
    uri: str
    avatar: str
    avatar_static: str
    header: str
    header_static: str
    followers_count: int
    following_count: int
    statuses_count: int
    last_status_at: str | None
    hide_collections: bool | None
    noindex: bool | None
    emojis: list[Any]
    roles: list[Any]
    fields: list[SField]


class SMedia(msgspec.Struct):
    id: str
    type: str
    url: str | None
    preview_url: str | None
    remote_url: str | None
    preview_remote_url: str | None
    text_url: str | None
    meta: dict[str, Any]
    description: str | None
    blurhash: str | None


class SMention(msgspec.Struct):
    id: str
    username: str
    acct: str
    url: str


class STag(msgspec.Struct):
    name: str
    url: str


class SStatus(msgspec.Struct):
    id: str
    created_at: str
    in_reply_to_id: str | None
    in_reply_to_account_id: str | None
    sensitive: bool
    spoiler_text: str
    visibility: str
    language: str | None
    uri: str
    url: str | None
    replies_count: int
    reblogs_count: int
    favourites_count: int
    edited_at: str | None
    content: str
    reblog: SStatus | None
    application: Any
    account: SAccount
    media_attachments: list[SMedia]
    mentions: list[SMention]
    tags: list[STag]
    emojis: list[Any]
    card: Any
    poll: Any
    favourited: bool
    reblogged: bool
    muted: bool
    bookmarked: bool
    pinned: bool
    filtered: list[Any]


STRUCTS = Kinds(SAccount, SField, SMedia, SMention, STag, SStatus)


class MField(BaseModel):
    name: str
    value: str
    verified_at: str | None


class MAccount(BaseModel):
    id: str
    username: str
    acct: str
    display_name: str
    locked: bool
    bot: bool
    discoverable: bool | None
    indexable: bool
    group: bool
    created_at: str
    note: str
    url: str
    uri: str
    avatar: str
    avatar_static: str
    header: str
    header_static: str
    followers_count: int
    following_count: int
    statuses_count: int
    last_status_at: str | None
    hide_collections: bool | None
    noindex: bool | None
    emojis: list[Any]
    roles: list[Any]
    fields: list[MField]


class MMedia(BaseModel):
    id: str
    type: str
    url: str | None
    preview_url: str | None
    remote_url: str | None
    preview_remote_url: str | None
    text_url: str | None
    meta: dict[str, Any]
    description: str | None
    blurhash: str | None


class MMention(BaseModel):
    id: str
    username: str
    acct: str
    url: str


class MTag(BaseModel):
    name: str
    url: str


class MStatus(BaseModel):
    id: str
    created_at: str
    in_reply_to_id: str | None
    in_reply_to_account_id: str | None
    sensitive: bool
    spoiler_text: str
    visibility: str
    language: str | None
    uri: str
    url: str | None
    replies_count: int
    reblogs_count: int
    favourites_count: int
    edited_at: str | None
    content: str
    reblog: MStatus | None
    application: Any
    account: MAccount
    media_attachments: list[MMedia]
    mentions: list[MMention]
    tags: list[MTag]
    emojis: list[Any]
    card: Any
    poll: Any
    favourited: bool
    reblogged: bool
    muted: bool
    bookmarked: bool
    pinned: bool
    filtered: list[Any]


MODELS = Kinds(MAccount, MField, MMedia, MMention, MTag, MStatus)
MODEL_PAGE = TypeAdapter(list[MStatus])
ANY_PAGE = TypeAdapter(list[dict[str, Any]])
TYPED_PAGE = TypeAdapter(list[entities.Status])
MSGSPEC = msgspec.json.Encoder()


def fastapi_default(page: list[Any]) -> bytes:
    return ANY_PAGE.dump_json(ANY_PAGE.validate_python(page))


def fastapi_typed(page: list[Any]) -> bytes:
    return TYPED_PAGE.dump_json(TYPED_PAGE.validate_python(page))


CANDIDATES: list[tuple[str, Kinds | None, Callable[[list[Any]], bytes]]] = [
    ("dict + orjson (timelines today)", None, orjson.dumps),
    ("dict + FastAPI list[dict[str, Any]] (other routes today)", None, fastapi_default),
    ("TypedDict + orjson (the same dicts)", None, orjson.dumps),
    ("TypedDict validated by FastAPI (TypeAdapter)", None, fastapi_typed),
    ("msgspec Struct + msgspec.json", STRUCTS, MSGSPEC.encode),
    ("pydantic model + dump_json", MODELS, MODEL_PAGE.dump_json),
]


def best_us(function: Callable[[], object], pages: int) -> float:
    return min(timeit.repeat(function, number=pages, repeat=7)) / pages * 1e6


def builder(kinds: Kinds | None, page: list[Row]) -> Callable[[], list[Any]]:
    if kinds is None:
        return lambda: literal_page(page)
    return lambda: build_page(kinds, page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    pages = parser.parse_args().pages
    page_rows = rows()
    reference = orjson.loads(orjson.dumps(literal_page(page_rows)))
    print(f"{'form':58} {'build':>8} {'encode':>8} {'total':>8}  (µs per page)")
    for name, kinds, encode in CANDIDATES:
        make = builder(kinds, page_rows)
        built = make()
        body = encode(built)
        assert orjson.loads(body) == reference, name  # every form sends the same JSON
        build = best_us(make, pages)
        write = best_us(lambda built=built, encode=encode: encode(built), pages)
        print(f"{name:58} {build:8.1f} {write:8.1f} {build + write:8.1f}")
    print(f"page: {PAGE} statuses, {len(orjson.dumps(reference)):,} bytes of JSON")


if __name__ == "__main__":
    main()
