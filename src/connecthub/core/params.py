"""Typed values out of a nested parameter dict (as `http/params.read_params` builds it from a
request): a string, a boolean in any of the spellings clients send, a date. Services that
take such a dict (profile updates) read it with these."""

from __future__ import annotations

from datetime import date
from typing import Any

from connecthub.errors import ValidationFailed

_TRUE = {"true", "1", "on", "yes", "t"}
_FALSE = {"false", "0", "off", "no", "f", ""}


def text(params: dict[str, Any], field: str, *, default: str = "", required: bool = False) -> str:
    value = params.get(field)
    if value is None or value == "":
        if required:
            raise ValidationFailed(field, "is required")
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationFailed(field, "must be a string")
    return str(value)


def boolean(params: dict[str, Any], field: str, *, default: bool | None = None) -> bool | None:
    value = params.get(field)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | str) and str(value).strip().lower() in _TRUE:
        return True
    if isinstance(value, int | str) and str(value).strip().lower() in _FALSE:
        return False
    raise ValidationFailed(field, "must be true or false")


def iso_date(params: dict[str, Any], field: str) -> date | None:
    value = text(params, field)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(field, "must be a date written YYYY-MM-DD") from None
