"""Request shapes for statuses, read from Mastodon-style parameters (query string, form or
JSON, with Rails-style keys such as `poll[options][]`). Each bad value is a 422 naming its
field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connecthub.core.params import boolean, text
from connecthub.errors import ValidationFailed
from connecthub.ids import parse_id
from connecthub.instance.limits import (
    POLL_MAX_CHARACTERS_PER_OPTION,
    POLL_MAX_EXPIRATION_SECONDS,
    POLL_MAX_OPTIONS,
    POLL_MIN_EXPIRATION_SECONDS,
)
from connecthub.statuses.models import Visibility

VISIBILITIES = {
    "public": Visibility.PUBLIC,
    "unlisted": Visibility.UNLISTED,
    "private": Visibility.PRIVATE,
    "direct": Visibility.DIRECT,
}


@dataclass(frozen=True)
class PollDraft:
    options: list[str]
    expires_in: int
    multiple: bool = False
    hide_totals: bool = False


@dataclass(frozen=True)
class StatusDraft:
    text: str = ""
    in_reply_to_id: int | None = None
    sensitive: bool | None = None
    spoiler_text: str = ""
    visibility: Visibility | None = None
    language: str | None = None
    poll: PollDraft | None = None
    media_ids: list[str] = field(default_factory=list)


def _id(params: dict[str, Any], name: str) -> int | None:
    value = text(params, name)
    if not value:
        return None
    number = parse_id(value)
    if number is None:
        raise ValidationFailed(name, "must be a numeric id")
    return number


def string_list(params: dict[str, Any], name: str) -> list[str]:
    """`name[]=a&name[]=b`, a JSON list, or a single value."""
    value = params.get(name)
    if value is None:
        value = params.get(f"{name}[]")
    if value is None or value == "":
        return []
    if isinstance(value, dict):  # `name[0]=a&name[1]=b`
        value = [value[k] for k in sorted(value, key=lambda k: parse_id(k) or 0)]
    if not isinstance(value, list):
        value = [value]
    if any(isinstance(v, bool) or not isinstance(v, str | int) for v in value):
        raise ValidationFailed(name, "must be a list of strings")
    return [str(v) for v in value]


def visibility(params: dict[str, Any], name: str = "visibility") -> Visibility | None:
    value = text(params, name)
    if not value:
        return None
    if value not in VISIBILITIES:
        raise ValidationFailed(name, "must be one of public, unlisted, private, direct")
    return VISIBILITIES[value]


def _language(params: dict[str, Any]) -> str | None:
    value = text(params, "language").strip()
    if not value:
        return None
    if len(value) > 16 or not value.replace("-", "").isalpha():
        raise ValidationFailed("language", "must be an ISO 639 language code")
    return value.lower()


def _poll(params: dict[str, Any]) -> PollDraft | None:
    raw = params.get("poll")
    if raw is None or raw == "":
        return None
    if not isinstance(raw, dict):
        raise ValidationFailed("poll", "must be an object with options and expires_in")
    options = string_list(raw, "options")
    if len(options) < 2 or len(options) > POLL_MAX_OPTIONS:
        raise ValidationFailed("poll[options]", f"must have 2 to {POLL_MAX_OPTIONS} options")
    if any(not option.strip() for option in options):
        raise ValidationFailed("poll[options]", "can't be blank")
    if any(len(option) > POLL_MAX_CHARACTERS_PER_OPTION for option in options):
        raise ValidationFailed(
            "poll[options]", f"are limited to {POLL_MAX_CHARACTERS_PER_OPTION} characters"
        )
    if len({option.strip() for option in options}) != len(options):
        raise ValidationFailed("poll[options]", "must be different")
    seconds = parse_id(text(raw, "expires_in", required=True))
    if seconds is None:
        raise ValidationFailed("poll[expires_in]", "must be a number of seconds")
    if not POLL_MIN_EXPIRATION_SECONDS <= seconds <= POLL_MAX_EXPIRATION_SECONDS:
        raise ValidationFailed(
            "poll[expires_in]",
            f"must be between {POLL_MIN_EXPIRATION_SECONDS} and {POLL_MAX_EXPIRATION_SECONDS}",
        )
    return PollDraft(
        options=[option.strip() for option in options],
        expires_in=seconds,
        multiple=bool(boolean(raw, "multiple", default=False)),
        hide_totals=bool(boolean(raw, "hide_totals", default=False)),
    )


def status_draft(params: dict[str, Any], *, editing: bool = False) -> StatusDraft:
    # As in Mastodon, an edit without media_ids leaves the status without media.
    media_ids = string_list(params, "media_ids")
    return StatusDraft(
        text=text(params, "status"),
        in_reply_to_id=None if editing else _id(params, "in_reply_to_id"),
        sensitive=boolean(params, "sensitive"),
        spoiler_text=text(params, "spoiler_text"),
        visibility=None if editing else visibility(params),
        language=_language(params),
        poll=_poll(params),
        media_ids=media_ids,
    )
