"""How notifications group (Mastodon 4.3's rule, written for ConnectHub): favourites of one
status, boosts of one status, and follows share a group key while they keep coming within
a time window; every other notification is a group of its own, `ungrouped-<id>`.

The key is `<type>[-<status id>]-<hour bucket>`, the bucket being hours since the epoch
when the group started. A new notification reuses the newest bucket of its kind for the
recipient when that bucket started less than `MAXIMUM_GROUP_SPAN_HOURS` hours ago, so a
group never spans more than that. The key is stored on the row when it is made
(`service.notify`); reads only choose whether to use it (`grouped_types[]`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

# The types that group, sorted (reads bind them as a list).
GROUPABLE_TYPES = ("favourite", "follow", "reblog")
MAXIMUM_GROUP_SPAN_HOURS = 12
UNGROUPED_PREFIX = "ungrouped-"
_HOUR = 3600


def key_prefix(type: str, status_id: int | None) -> str | None:
    """What a group is about, without its time window; None for a type that never groups."""
    if type in ("favourite", "reblog") and status_id is not None:
        return f"{type}-{status_id}"
    if type == "follow":
        return type
    return None


def _bucket(moment: datetime) -> int:
    return int(moment.timestamp()) // _HOUR


def reusable_keys(prefix: str, now: datetime) -> list[str]:
    """The keys a notification made `now` may join: one per bucket that started less than
    the span ago (the repository looks them up for the recipient)."""
    current = _bucket(now)
    return [f"{prefix}-{b}" for b in range(current - MAXIMUM_GROUP_SPAN_HOURS + 1, current + 1)]


def group_key(prefix: str, now: datetime, previous: str | None) -> str:
    """The key for a new notification: `previous` (the recipient's newest key among
    `reusable_keys`) when there is one, else a group starting in the current hour."""
    return previous if previous is not None else f"{prefix}-{_bucket(now)}"


def ungrouped_key(notification_id: int) -> str:
    return f"{UNGROUPED_PREFIX}{notification_id}"


def ungrouped_id(group_key: str) -> int | None:
    """The notification id an `ungrouped-<id>` key names, None for a group's key (also for
    an `ungrouped-` key whose id is not a number: no notification has it)."""
    if not group_key.startswith(UNGROUPED_PREFIX):
        return None
    tail = group_key[len(UNGROUPED_PREFIX) :]
    return int(tail) if tail.isdigit() and len(tail) < 20 else 0


def grouped_types(asked: Sequence[str]) -> tuple[str, ...]:
    """`grouped_types[]` as the reads use it: the groupable types asked for (unknown ones
    ignored), all of them when none is asked for."""
    if not asked:
        return GROUPABLE_TYPES
    return tuple(t for t in GROUPABLE_TYPES if t in asked)
