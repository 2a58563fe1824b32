"""The one clock. Everything that needs "now" asks here, so tests can reason about time.

Left on the OS clock on purpose, each with a comment: the media decoder's CPU watchdog
(media/av.py), the request timer for logs and metrics (http/request_context.py), and the
ID token's exp/iat check inside joserfc (accounts/oidc.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def monotonic() -> float:
    return time.monotonic()


def epoch_ms() -> int:
    return time.time_ns() // 1_000_000
