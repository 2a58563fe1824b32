"""Pagination at the HTTP edge: Mastodon's `max_id` / `since_id` / `min_id` / `limit` keyset
parameters read into a `core.pagination.Page`, and the `Link` header (`rel="next"` first,
as some clients expect)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Query, Request

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
    next_url = f"{base}?{urlencode([*kept, ('max_id', str(oldest_id))])}"
    prev_url = f"{base}?{urlencode([*kept, ('min_id', str(newest_id))])}"
    return f'<{next_url}>; rel="next", <{prev_url}>; rel="prev"'
