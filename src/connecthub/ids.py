"""Time-ordered 64-bit ids, as Mastodon uses: milliseconds since the epoch in the high 48
bits and 16 low bits that make ids unique within a millisecond.

The low bits are a per-process counter started at a random offset, so ids made by one
process never repeat (up to 65,536 per millisecond) and ids from different processes
collide only if they share both the millisecond and the counter value (see
docs/adr/0001-ids.md). Ids sort by creation time, which keyset pagination relies on.
"""

from __future__ import annotations

import itertools
import secrets
import threading

from connecthub.clock import epoch_ms

_SEQUENCE_BITS = 16
_SEQUENCE_MASK = (1 << _SEQUENCE_BITS) - 1

_lock = threading.Lock()
_counter = itertools.count(secrets.randbelow(1 << _SEQUENCE_BITS))
_last_ms = 0


def new_id() -> int:
    """A new unique id, ordered by the millisecond it was made in."""
    global _last_ms
    with _lock:
        now = max(epoch_ms(), _last_ms)
        _last_ms = now
        return (now << _SEQUENCE_BITS) | (next(_counter) & _SEQUENCE_MASK)


def id_for_time(ms: int) -> int:
    """The smallest id made at `ms`: lets a timestamp serve as a `max_id`/`min_id` bound."""
    return ms << _SEQUENCE_BITS


def id_to_ms(value: int) -> int:
    return value >> _SEQUENCE_BITS


# The largest id the database's BIGINT holds, on SQLite and PostgreSQL alike.
MAX_ID = (1 << 63) - 1
_MAX_DIGITS = len(str(MAX_ID))


def parse_id(value: object) -> int | None:
    """`value` as an id or other whole number a client sent: ASCII digits (or a JSON
    integer) from 0 to MAX_ID; None for anything else. The one parser for client numbers:
    `str.isdigit()` also accepts `²` and `١٢٣`, which `int()` then refuses or reads, and a
    longer number overflows the database."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= MAX_ID else None
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_DIGITS:
        return None
    if not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if number <= MAX_ID else None
