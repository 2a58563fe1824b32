"""Request parameters of the relationship routes, read and validated at the edge."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request

from connecthub.core.params import boolean, text
from connecthub.errors import ValidationFailed
from connecthub.http.params import id_list, read_params
from connecthub.ids import parse_id
from connecthub.relationships.service import FollowOptions

MAX_IDS = 40
MAX_LANGUAGES = 50
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def account_ids(request: Request) -> list[int]:
    """`id[]=…` (or a single `id=`): at most MAX_IDS account ids."""
    return id_list(request, "id", MAX_IDS)


def _languages(values: dict[str, Any]) -> list[str] | None:
    raw = values.get("languages")
    if raw is None:
        return None
    items = raw if isinstance(raw, list) else [raw]
    if len(items) > MAX_LANGUAGES:
        raise ValidationFailed("languages", f"at most {MAX_LANGUAGES} languages")
    codes = []
    for item in items:
        if item == "":
            continue  # `languages[]=` with no value: every language
        if not isinstance(item, str) or not _LANGUAGE.match(item.strip().lower()):
            raise ValidationFailed("languages", "must be ISO 639 language codes such as 'en'")
        codes.append(item.strip().lower())
    return list(dict.fromkeys(codes))


async def follow_options(request: Request) -> FollowOptions:
    values = await read_params(request)
    return FollowOptions(
        reblogs=boolean(values, "reblogs"),
        notify=boolean(values, "notify"),
        languages=_languages(values),
    )


async def mute_options(request: Request) -> tuple[bool, int]:
    """(hide notifications — default true, duration in seconds — 0 for ever)."""
    values = await read_params(request)
    duration = parse_id(text(values, "duration", default="0"))
    if duration is None:
        raise ValidationFailed("duration", "must be a whole number of seconds")
    hide = boolean(values, "notifications", default=True) is not False
    return hide, duration
