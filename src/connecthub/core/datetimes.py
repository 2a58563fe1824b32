"""Datetimes as Mastodon's entities write them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


@overload
def iso(value: datetime) -> str: ...
@overload
def iso(value: None) -> None: ...
@overload
def iso(value: datetime | None) -> str | None: ...


def iso(value: datetime | None) -> str | None:
    """Mastodon's datetime format: UTC with milliseconds and a Z."""
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives naive datetimes; all stored times are UTC
        value = value.replace(tzinfo=UTC)
    elif value.utcoffset():
        value = value.astimezone(UTC)
    # isoformat ends in "+00:00" here; it costs half of strftime (every status shows two).
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"
