"""The one converter from filter rows to Mastodon's Filter, FilterKeyword, FilterStatus and
(v1) Filter entities."""

from __future__ import annotations

from collections.abc import Sequence

from connecthub import entities
from connecthub.core.datetimes import iso
from connecthub.filters.models import Filter, FilterKeyword, FilterStatus


def keyword_entity(keyword: FilterKeyword) -> entities.FilterKeyword:
    return {"id": str(keyword.id), "keyword": keyword.keyword, "whole_word": keyword.whole_word}


def status_entity(row: FilterStatus) -> entities.FilterStatus:
    return {"id": str(row.id), "status_id": str(row.status_id)}


def filter_entity(
    row: Filter, keywords: Sequence[FilterKeyword], statuses: Sequence[FilterStatus]
) -> entities.Filter:
    return {
        "id": str(row.id),
        "title": row.title,
        "context": list(row.context or []),
        "expires_at": iso(row.expires_at),
        "filter_action": row.filter_action,
        "keywords": [keyword_entity(k) for k in keywords],
        "statuses": [status_entity(s) for s in statuses],
    }


def v1_filter_entity(row: Filter, keyword: FilterKeyword) -> entities.V1Filter:
    """The v1 view: one filter per keyword, `irreversible` standing for `hide`."""
    return {
        "id": str(keyword.id),
        "phrase": keyword.keyword,
        "context": list(row.context or []),
        "whole_word": keyword.whole_word,
        "expires_at": iso(row.expires_at),
        "irreversible": row.filter_action == "hide",
    }
