"""Filter (v2) with FilterKeyword and FilterStatus, FilterResult, and the v1 Filter."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict


class FilterKeyword(TypedDict):
    id: str
    keyword: str
    whole_word: bool


class FilterStatus(TypedDict):
    id: str
    status_id: str


class Filter(TypedDict):
    id: str
    title: str
    context: list[str]
    expires_at: str | None
    filter_action: str
    # Left out where a filter is named in a FilterResult, as Mastodon does.
    keywords: NotRequired[list[FilterKeyword]]
    statuses: NotRequired[list[FilterStatus]]


class FilterResult(TypedDict):
    filter: Filter
    keyword_matches: list[str] | None
    status_matches: list[str] | None


class V1Filter(TypedDict):
    """The v1 view: one filter per keyword."""

    id: str
    phrase: str
    context: list[str]
    whole_word: bool
    expires_at: str | None
    irreversible: bool
