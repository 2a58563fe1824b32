"""How much an item is trending, as pure arithmetic (the job feeds it counts).

An item rises when more distinct accounts use it in the last day than its own baseline
(the mean of the seven days before): the score is the squared excess over the baseline,
divided by it — a chi-square term, so a usually quiet hashtag used by ten people today
outranks a popular one used by its usual fifty. Counting accounts, not posts, means one
account posting a tag a hundred times counts once. Below the threshold of distinct
accounts nothing trends (a small server's noise). After its peak an item's score halves
every half-life, and a peak older than the cool-down is forgotten, so a new burst is
measured afresh.

Posts trend by the distinct accounts that favourited or boosted them, decaying with the
post's age: recent posts with many interactions first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

BASELINE_DAYS = 7
# Scores that have decayed below this are dropped: the item no longer trends.
FORGOTTEN_SCORE = 0.01


def rising_score(observed: int, baseline_days: list[int], threshold: int) -> float:
    """The chi-square excess of today's distinct accounts over the item's baseline."""
    expected = max(sum(baseline_days) / BASELINE_DAYS, 1.0)
    if observed < threshold or observed <= expected:
        return 0.0
    return (observed - expected) ** 2 / expected


def half_life_decay(since: timedelta, half_life: timedelta) -> float:
    return float(0.5 ** (max(since.total_seconds(), 0.0) / half_life.total_seconds()))


@dataclass(frozen=True)
class Peak:
    max_score: float
    max_score_at: datetime

    def decayed(self, now: datetime, half_life: timedelta) -> float:
        return self.max_score * half_life_decay(now - self.max_score_at, half_life)


def next_peak(
    previous: Peak | None, score: float, now: datetime, cooldown: timedelta
) -> Peak | None:
    """The peak after this run: a higher score is a new peak; an old peak is forgotten."""
    if previous is not None and now - previous.max_score_at > cooldown:
        previous = None
    if score > 0 and (previous is None or score > previous.max_score):
        return Peak(score, now)
    return previous


def status_score(
    interacting_accounts: int, age: timedelta, threshold: int, half_life: timedelta
) -> float:
    """A post's score: its distinct interacting accounts beyond one, squared, decayed by
    its age (0 below the threshold)."""
    if interacting_accounts < threshold:
        return 0.0
    return float((interacting_accounts - 1) ** 2) * half_life_decay(age, half_life)
