"""The one pagination helper: Mastodon's `max_id` / `since_id` / `min_id` / `limit` keyset
parameters and the `Link` header (`rel="next"` first, as some clients expect)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import InstrumentedAttribute

from connecthub.errors import ValidationFailed
from connecthub.ids import parse_id

DEFAULT_LIMIT = 20
MAX_LIMIT = 40

SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])
IdColumn = ColumnElement[Any] | InstrumentedAttribute[Any]


@dataclass(frozen=True)
class Page:
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    limit: int = DEFAULT_LIMIT

    @property
    def ascending(self) -> bool:
        """`min_id` asks for the page just after it, so rows are read oldest first."""
        return self.min_id is not None

    def apply(self, statement: SelectT, column: IdColumn) -> SelectT:
        """Bound `statement` by the cursor on `column` (a time-ordered id) and order it."""
        if self.max_id is not None:
            statement = statement.where(column < self.max_id)
        if self.since_id is not None:
            statement = statement.where(column > self.since_id)
        if self.min_id is not None:
            statement = statement.where(column > self.min_id)
        order = column.asc() if self.ascending else column.desc()
        return statement.order_by(order).limit(self.limit)

    def newest_first(self, rows: list[Any]) -> list[Any]:
        """Rows read by `apply`, returned newest first as every Mastodon list is."""
        return list(reversed(rows)) if self.ascending else rows


def _parse_id(field: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    number = parse_id(value)
    if number is None:
        raise ValidationFailed(field, "must be a numeric id")
    return number


async def page_params(
    max_id: Annotated[str | None, Query(description="Return results older than this id")] = None,
    since_id: Annotated[str | None, Query(description="Return results newer than this id")] = None,
    min_id: Annotated[
        str | None, Query(description="Return results immediately newer than this id")
    ] = None,
    limit: Annotated[str | None, Query(description="Maximum results (default 20, max 40)")] = None,
) -> Page:
    count = DEFAULT_LIMIT
    if limit not in (None, ""):
        number = parse_id(limit)
        if number is None or number < 1:
            raise ValidationFailed("limit", "must be a positive integer")
        count = min(number, MAX_LIMIT)
    return Page(
        max_id=_parse_id("max_id", max_id),
        since_id=_parse_id("since_id", since_id),
        min_id=_parse_id("min_id", min_id),
        limit=count,
    )


PageDep = Annotated[Page, Depends(page_params)]


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
