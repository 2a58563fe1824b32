"""A page of a Mastodon list: the `max_id` / `since_id` / `min_id` / `limit` keyset cursor
as repositories apply it (reading it from a request is `http/pagination.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Integer, Select, bindparam
from sqlalchemy.orm import InstrumentedAttribute

from connecthub.ids import MAX_ID

DEFAULT_LIMIT = 20
MAX_LIMIT = 40
# Beyond every id: an open cursor's upper bound.
NO_ID_ABOVE = MAX_ID

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

    @property
    def below(self) -> int:
        """The ids a statement built once reads are below this (`max_id`, or none)."""
        return NO_ID_ABOVE if self.max_id is None else self.max_id

    @property
    def above(self) -> int:
        """…and above this (`since_id` or `min_id`, or none)."""
        return max(self.since_id or 0, self.min_id or 0)

    @property
    def bound(self) -> dict[str, int]:
        """What a statement built once runs the page with: its `below`, `above` and `limit`
        parameters."""
        return {"below": self.below, "above": self.above, "limit": self.limit}

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


def bounded(statement: SelectT, column: IdColumn, *, ascending: bool) -> SelectT:
    """`Page.apply` for a statement built once: bounded by the cursor on `column` and
    limited with the parameters `Page.bound` gives at execution, in the page's order.
    Building a statement (THE visibility rule's tree and its cache key) per request cost
    more CPU than running it (docs/benchmarks.md)."""
    order = column.asc() if ascending else column.desc()
    return (
        statement.where(column < bindparam("below"), column > bindparam("above"))
        .order_by(order)
        .limit(bindparam("limit", type_=Integer))
    )
