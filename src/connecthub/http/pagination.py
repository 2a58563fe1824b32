"""Pagination at the HTTP edge: Mastodon's `max_id` / `since_id` / `min_id` / `limit` keyset
parameters read into a `core.pagination.Page`, and the `Link` header (`rel="next"` first,
as some clients expect)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, Response

from connecthub.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from connecthub.errors import ValidationFailed
from connecthub.ids import parse_id

WIDE_DEFAULT_LIMIT = 40
WIDE_MAX_LIMIT = 80


def _parse_id(field: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    number = parse_id(value)
    if number is None:
        raise ValidationFailed(field, "must be a numeric id")
    return number


def page_params_within(default: int, maximum: int) -> Callable[..., Awaitable[Page]]:
    """The page parameters of a list whose `limit` has its own default and maximum (Mastodon
    varies them per route: followed tags 100 and 200, say)."""

    async def params(
        max_id: Annotated[
            str | None, Query(description="Return results older than this id")
        ] = None,
        since_id: Annotated[
            str | None, Query(description="Return results newer than this id")
        ] = None,
        min_id: Annotated[
            str | None, Query(description="Return results immediately newer than this id")
        ] = None,
        limit: Annotated[
            str | None, Query(description="Maximum results (the route's default and maximum)")
        ] = None,
    ) -> Page:
        count = default
        if limit not in (None, ""):
            number = parse_id(limit)
            if number is None or number < 1:
                raise ValidationFailed("limit", "must be a positive integer")
            count = min(number, maximum)
        return Page(
            max_id=_parse_id("max_id", max_id),
            since_id=_parse_id("since_id", since_id),
            min_id=_parse_id("min_id", min_id),
            limit=count,
        )

    return params


page_params = page_params_within(DEFAULT_LIMIT, MAX_LIMIT)
# Mastodon's wider lists (grouped notifications and a group's accounts): 40, at most 80.
wide_page_params = page_params_within(WIDE_DEFAULT_LIMIT, WIDE_MAX_LIMIT)
PageDep = Annotated[Page, Depends(page_params)]
WidePageDep = Annotated[Page, Depends(wide_page_params)]


def link_header(request: Request, newest_id: int | None, oldest_id: int | None) -> str | None:
    """`<…?max_id=oldest>; rel="next", <…?min_id=newest>; rel="prev"` for a page whose
    cursor ids run from `newest_id` to `oldest_id`; None for an empty page."""
    if newest_id is None or oldest_id is None:
        return None
    kept = [
        (key, value)
        for key, value in request.query_params.multi_items()
        if key not in ("max_id", "since_id", "min_id")
    ]
    # The configured origin, never the Host header: a forged Host must not steer clients.
    base = request.app.state.settings.base_url + request.url.path
    return link_value(base, urlencode(kept), newest_id, oldest_id)


def paged_json(request: Request, body: bytes, cursors: Sequence[int]) -> Response:
    """A page already written as JSON bytes, with the `Link` header of its rows' cursor ids,
    newest first (none for an empty page): the answer of every list of statuses rendered
    by `statuses.entity_bytes.status_page`."""
    link = link_header(request, cursors[0], cursors[-1]) if cursors else None
    return Response(body, media_type="application/json", headers={"Link": link} if link else None)


def link_value(base: str, kept_query: str, newest_id: int, oldest_id: int) -> str:
    """The `Link` header of a page at `base` whose request's other parameters, encoded,
    are `kept_query`."""
    prefix = f"{base}?{kept_query}&" if kept_query else f"{base}?"
    return f'<{prefix}max_id={oldest_id}>; rel="next", <{prefix}min_id={newest_id}>; rel="prev"'


_PAGE_KEYS = frozenset({b"max_id", b"since_id", b"min_id", b"limit"})


# Clients ask for the same few query strings again and again (`limit=20`, a poll's
# `min_id=…`): each is parsed once. Bounded, so odd queries only push out older entries.
@functools.lru_cache(maxsize=1024)
def plain_page(
    query: bytes, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT
) -> tuple[Page, bytes] | None:
    """The page a query string of nothing but Mastodon's page parameters asks for, each
    given once as a number (read as `page_params` reads them), and the query's `limit=…`
    as given (the `Link` header keeps it); None for any other query (the route then reads
    it, with its 422s). Answers are shared: `Page` is frozen."""
    numbers: dict[bytes, int] = {}
    kept = b""
    if query:
        for pair in query.split(b"&"):
            name, given, raw = pair.partition(b"=")
            if not given or name not in _PAGE_KEYS or name in numbers:
                return None
            number = parse_id(raw.decode("latin-1"))
            if number is None:
                return None
            numbers[name] = number
            if name == b"limit":
                if number < 1:
                    return None
                kept = pair
    limit = numbers.get(b"limit")
    page = Page(
        max_id=numbers.get(b"max_id"),
        since_id=numbers.get(b"since_id"),
        min_id=numbers.get(b"min_id"),
        limit=default if limit is None else min(limit, maximum),
    )
    return page, kept
