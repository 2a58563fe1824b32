"""Applying a viewer's filters to the statuses they are shown.

A viewer's filters are read as *rules* (plain JSON: each filter's entity fields, keywords
and status ids), cached per account in the entity cache (kind `filters`, infra/
entity_cache.py) and dropped after any commit that changes the account's filters. The
statuses converter asks for the viewer's entry in the same round trip as the accounts and
status parts it reads anyway, so a timeline page costs no extra round trip, and a cache miss
costs one query (an account without filters caches an empty list). Expiry is checked when
the rules are applied, so an expiring filter needs no invalidation.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import entities
from connecthub.filters import repository
from connecthub.filters.models import RULES_KIND
from connecthub.infra.entity_cache import EntityCache

# Contexts in which a `hide` filter leaves the status out; in `thread` (and when no context
# is given, e.g. one status by id) the status is still returned, carrying `filtered`.
HIDING_CONTEXTS = frozenset({"home", "notifications", "public", "account"})

Rules = list[dict[str, Any]]
Cached = tuple[dict[int, Any], bytes]


async def rules_for(
    session: AsyncSession,
    viewer_id: int,
    cache: EntityCache | None,
    cached: Cached | None,
) -> Rules:
    """The viewer's rules: from `cached` (the entry read with the page's other entities),
    else from the database (one query), stored for the next read."""
    if cached is not None and viewer_id in cached[0]:
        return list(cached[0][viewer_id])
    rules = await repository.rules_of(session, viewer_id)
    if cache is not None and cached is not None:
        await cache.put_many(RULES_KIND, {viewer_id: rules}, cached[1])
    return rules


@functools.lru_cache(maxsize=1024)
def _pattern(keywords: tuple[tuple[str, bool], ...]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for a filter's keywords. A whole-word keyword is bounded
    by `\\b` only on a side that is a word character, so `#tag` or `c++` still match."""
    parts = []
    for keyword, whole_word in keywords:
        if not keyword:
            continue
        escaped = re.escape(keyword)
        if whole_word:
            start = r"\b" if re.match(r"\w", keyword[0]) else ""
            end = r"\b" if re.match(r"\w", keyword[-1]) else ""
            escaped = f"{start}{escaped}{end}"
        parts.append(f"(?:{escaped})")
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


@dataclass(frozen=True, slots=True)
class _Active:
    entity: entities.Filter
    hide: bool
    pattern: re.Pattern[str] | None
    status_ids: frozenset[int]


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ViewerFilters:
    """The viewer's filters that apply now in one context (None: every context)."""

    __slots__ = ("_active", "_may_hide")

    def __init__(self, rules: Rules, context: str | None, now: datetime) -> None:
        self._may_hide = context in HIDING_CONTEXTS
        self._active: list[_Active] = []
        for rule in rules:
            if context is not None and context not in rule["context"]:
                continue
            expires_at = _parse_time(rule["expires_at"])
            if expires_at is not None and expires_at <= now:
                continue
            self._active.append(
                _Active(
                    entity={
                        "id": rule["id"],
                        "title": rule["title"],
                        "context": rule["context"],
                        "expires_at": rule["expires_at"],
                        "filter_action": rule["filter_action"],
                    },
                    hide=rule["filter_action"] == "hide",
                    pattern=_pattern(tuple((k, bool(w)) for k, w in rule["keywords"])),
                    status_ids=frozenset(rule["status_ids"]),
                )
            )

    def __bool__(self) -> bool:
        return bool(self._active)

    def results(
        self, text: str, status_ids: Sequence[int]
    ) -> tuple[list[entities.FilterResult], bool]:
        """(Mastodon's FilterResult list, whether the status is to be left out) for a status
        whose searchable text is `text` and whose ids (itself, what it boosts) are given."""
        found: list[entities.FilterResult] = []
        hidden = False
        for active in self._active:
            keyword_matches = (
                list(dict.fromkeys(active.pattern.findall(text))) if active.pattern else []
            )
            status_matches = [str(i) for i in status_ids if i in active.status_ids]
            if not keyword_matches and not status_matches:
                continue
            found.append(
                {
                    "filter": active.entity,
                    "keyword_matches": keyword_matches or None,
                    "status_matches": status_matches or None,
                }
            )
            hidden = hidden or (active.hide and self._may_hide)
        return found, hidden


_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"<br\s*/?>|</p>", re.IGNORECASE)


def entity_text(entity: dict[str, Any]) -> str:
    """The searchable text of a rendered Status entity (streamed statuses carry HTML
    content, not the source): spoiler text and the content's plain text."""
    content = _BREAK.sub("\n", str(entity.get("content") or ""))
    return f"{entity.get('spoiler_text') or ''}\n{html.unescape(_TAG.sub('', content))}"
