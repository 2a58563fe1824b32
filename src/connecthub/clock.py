"""The one clock. Everything that needs "now" asks here, so tests can reason about time."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def monotonic() -> float:
    return time.monotonic()


def epoch_ms() -> int:
    return time.time_ns() // 1_000_000
