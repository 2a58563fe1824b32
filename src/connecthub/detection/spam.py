"""Spam heuristics for new accounts: what each counts, over which window, and when it trips.

Each heuristic adds to a count over a sliding window (infra/windows.py: Redis in distributed
mode, the process in embedded mode) and trips when the count reaches its limit (settings,
`SPAM_*`). Only accounts younger than `SPAM_NEW_ACCOUNT_HOURS` are judged, except sign-ups,
which are counted per address range whoever signs up. A trip names its reason in words a
moderator reads, and its key (heuristic and window) makes one decision per window.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connecthub.clock import epoch_ms, utcnow
from connecthub.config import Settings
from connecthub.infra.windows import WindowCounter
from connecthub.statuses.text import link_and_mention_counts

LINKS = "links"
MENTIONS = "mentions"
REPEATS = "repeats"
FOLLOWS = "follows"
SIGN_UPS = "sign_ups"

_WHAT = {
    LINKS: "links posted",
    MENTIONS: "mentions posted",
    REPEATS: "posts of the same text",
    FOLLOWS: "follows",
    SIGN_UPS: "sign-ups from {range}",
}


@dataclass(frozen=True)
class Trip:
    heuristic: str
    count: float
    limit: int
    window_seconds: int
    detail: str = ""

    @property
    def reason(self) -> str:
        what = _WHAT[self.heuristic].format(range=self.detail)
        return (
            f"spam heuristic {self.heuristic}: {self.count:.0f} {what} within "
            f"{self.window_seconds} s (limit {self.limit})"
        )

    @property
    def key(self) -> str:
        """One decision per heuristic and window."""
        window = epoch_ms() // (self.window_seconds * 1000)
        return f"{self.heuristic}:{self.detail}:{window}"[:64]


def is_new(settings: Settings, created_at: datetime) -> bool:
    if created_at.tzinfo is None:  # SQLite hands back naive UTC
        created_at = created_at.replace(tzinfo=UTC)
    return utcnow() - created_at < timedelta(hours=settings.spam_new_account_hours)


_SPACE = re.compile(r"\s+")


def text_digest(text: str) -> str:
    """The same text, however it is spaced or cased."""
    return hashlib.sha256(_SPACE.sub(" ", text.strip().lower()).encode()).hexdigest()[:32]


async def _count(
    windows: WindowCounter, settings: Settings, heuristic: str, key: str, amount: int, limit: int
) -> Trip | None:
    if amount <= 0:
        return None
    window = settings.spam_window_seconds
    count = await windows.add(f"spam:{heuristic}:{key}", amount, window)
    return Trip(heuristic, count, limit, window) if count >= limit else None


async def status_trips(
    windows: WindowCounter, settings: Settings, account_id: int, text: str
) -> list[Trip]:
    """Count a new account's status: its links, its mentions, and how often its text came."""
    links, mentions = link_and_mention_counts(text)
    found = [
        await _count(windows, settings, LINKS, str(account_id), links, settings.spam_links_limit),
        await _count(
            windows, settings, MENTIONS, str(account_id), mentions, settings.spam_mentions_limit
        ),
        await _count(
            windows,
            settings,
            REPEATS,
            f"{account_id}:{text_digest(text)}",
            1 if text.strip() else 0,
            settings.spam_repeats_limit,
        ),
    ]
    return [trip for trip in found if trip is not None]


async def follow_trip(windows: WindowCounter, settings: Settings, account_id: int) -> Trip | None:
    return await _count(windows, settings, FOLLOWS, str(account_id), 1, settings.spam_follows_limit)


def address_range(ip: str) -> str | None:
    """The range sign-ups are counted by: an IPv4 /24, an IPv6 /48; None if not an address."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


async def sign_up_trip(windows: WindowCounter, settings: Settings, ip: str | None) -> Trip | None:
    network = address_range(ip) if ip else None
    if network is None:
        return None
    trip = await _count(
        windows, settings, SIGN_UPS, network, 1, settings.spam_sign_ups_per_range_limit
    )
    if trip is None:
        return None
    return Trip(trip.heuristic, trip.count, trip.limit, trip.window_seconds, detail=network)
