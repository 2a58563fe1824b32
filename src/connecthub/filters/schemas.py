"""Request shapes for filters, read from Mastodon-style parameters (query string, form or
JSON; `keywords_attributes[][keyword]`, `keywords_attributes[0][keyword]` or a JSON list).
Each bad value is a 422 naming its field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from connecthub.core.params import boolean, text
from connecthub.errors import ValidationFailed
from connecthub.ids import parse_id
from connecthub.statuses.schemas import string_list

CONTEXTS = ("home", "notifications", "public", "thread", "account")
ACTIONS = ("warn", "hide", "blur")
MAX_TITLE = 256
MAX_KEYWORD = 256
MAX_FILTERS = 100
MAX_KEYWORDS_PER_FILTER = 100
MAX_STATUSES_PER_FILTER = 200
MAX_EXPIRES_IN = 10 * 365 * 86400


class Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset()


@dataclass(frozen=True)
class KeywordDraft:
    keyword: str | None = None
    whole_word: bool | None = None
    id: int | None = None
    destroy: bool = False


@dataclass(frozen=True)
class FilterDraft:
    title: str | None = None
    context: list[str] | None = None
    filter_action: str | None = None
    # UNSET: leave as it is; None: never expires; else seconds from now.
    expires_in: int | Unset | None = UNSET
    keywords: list[KeywordDraft] = field(default_factory=list)


def row_id(value: Any, name: str) -> int:
    number = parse_id(value)
    if number is None:
        raise ValidationFailed(name, "must be a numeric id")
    return number


def title(params: dict[str, Any], name: str = "title", *, required: bool) -> str | None:
    return _bounded_text(params, name, MAX_TITLE, required=required)


def context(params: dict[str, Any], *, required: bool) -> list[str] | None:
    if params.get("context") is None and params.get("context[]") is None and not required:
        return None
    values = list(dict.fromkeys(v.strip() for v in string_list(params, "context")))
    if not values:
        raise ValidationFailed("context", "can't be blank")
    unknown = [v for v in values if v not in CONTEXTS]
    if unknown:
        raise ValidationFailed("context", f"must be among {', '.join(CONTEXTS)}")
    return values


def filter_action(params: dict[str, Any]) -> str | None:
    value = text(params, "filter_action").strip()
    if not value:
        return None
    if value not in ACTIONS:
        raise ValidationFailed("filter_action", f"must be one of {', '.join(ACTIONS)}")
    return value


def expires_in(params: dict[str, Any]) -> int | Unset | None:
    if "expires_in" not in params:
        return UNSET
    value = params["expires_in"]
    if value is None or value == "":
        return None
    seconds = parse_id(text(params, "expires_in"))
    if seconds is None or not 0 < seconds <= MAX_EXPIRES_IN:
        raise ValidationFailed(
            "expires_in", f"must be a number of seconds between 1 and {MAX_EXPIRES_IN}"
        )
    return seconds


def keyword_text(params: dict[str, Any], name: str, *, required: bool) -> str | None:
    return _bounded_text(params, name, MAX_KEYWORD, required=required)


def _bounded_text(params: dict[str, Any], name: str, limit: int, *, required: bool) -> str | None:
    """Stripped, not blank, at most `limit` characters; None when absent and optional."""
    if params.get(name) is None and not required:
        return None
    value = text(params, name, required=required).strip()
    if not value:
        raise ValidationFailed(name, "can't be blank")
    if len(value) > limit:
        raise ValidationFailed(name, f"is too long (at most {limit} characters)")
    return value


def _keyword_items(params: dict[str, Any]) -> list[Any]:
    raw = params.get("keywords_attributes")
    if raw is None:
        raw = params.get("keywords_attributes[]")
    if raw is None or raw == "":
        return []
    if isinstance(raw, dict):  # `keywords_attributes[0][keyword]=…`
        keys = sorted(raw, key=lambda k: (parse_id(k) is None, parse_id(k) or 0))
        raw = [raw[k] for k in keys]
    if not isinstance(raw, list) or any(not isinstance(item, dict) for item in raw):
        raise ValidationFailed("keywords_attributes", "must be a list of keyword objects")
    if len(raw) > MAX_KEYWORDS_PER_FILTER:
        raise ValidationFailed(
            "keywords_attributes", f"at most {MAX_KEYWORDS_PER_FILTER} keywords per filter"
        )
    return raw


def keywords_attributes(params: dict[str, Any], *, updating: bool) -> list[KeywordDraft]:
    drafts = []
    for index, item in enumerate(_keyword_items(params)):
        name = f"keywords_attributes[{index}]"
        given_id = item.get("id")
        has_id = updating and given_id not in (None, "")
        destroy = bool(boolean(item, "_destroy", default=False)) if has_id else False
        try:
            drafts.append(
                KeywordDraft(
                    keyword=keyword_text(item, "keyword", required=not has_id),
                    whole_word=boolean(item, "whole_word"),
                    id=row_id(given_id, f"{name}[id]") if has_id else None,
                    destroy=destroy,
                )
            )
        except ValidationFailed as error:
            if error.field.startswith(name):
                raise
            raise ValidationFailed(f"{name}[{error.field}]", error.problem) from None
    return drafts


def filter_draft(params: dict[str, Any], *, updating: bool = False) -> FilterDraft:
    return FilterDraft(
        title=title(params, required=not updating),
        context=context(params, required=not updating),
        filter_action=filter_action(params),
        expires_in=expires_in(params),
        keywords=keywords_attributes(params, updating=updating),
    )


def v1_draft(params: dict[str, Any], *, updating: bool = False) -> tuple[FilterDraft, bool | None]:
    """A v1 filter is a one-keyword v2 filter titled by its phrase; `irreversible` means
    `hide`. Returns the draft and `whole_word` (None: unchanged or the default)."""
    phrase = keyword_text(params, "phrase", required=not updating)
    irreversible = boolean(params, "irreversible")
    draft = FilterDraft(
        title=phrase[:MAX_TITLE] if phrase else None,
        context=context(params, required=not updating),
        filter_action=None if irreversible is None else ("hide" if irreversible else "warn"),
        expires_in=expires_in(params),
        keywords=[KeywordDraft(keyword=phrase)] if phrase else [],
    )
    return draft, boolean(params, "whole_word")
