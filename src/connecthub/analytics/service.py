"""Product analytics that identify no one (docs/analytics.md, ADR 0045).

Recording: an action of an account that consents to the `analytics` purpose now (the
consent is read in the same statement as the key, so a withdrawal stops recording at
once) is stored as events whose subject is HMAC-SHA256(key, account id) under the key of
the rotation period (ANALYTICS_KEY_ROTATION_DAYS). Events are kept ANALYTICS_EVENT_DAYS
(the retention job), and a key goes once its period has ended that long ago.

Withdrawal and erasure: `forget` hashes the account id under every key still kept and
deletes those events.

Release: every published number is a count of distinct accounts in a cell (a day, a
cohort, a feature). A cell of fewer than ANALYTICS_MIN_GROUP (k, default 10) accounts is
suppressed; a cell published carries Laplace noise of scale sensitivity/epsilon
(ANALYTICS_EPSILON; 0 turns noise off), drawn from a generator seeded by the cell's name
under the server's secret, so asking again returns the same figure (averaging repeated
answers would otherwise wear the noise away).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from connecthub import clock
from connecthub.analytics import repository
from connecthub.config import Settings
from connecthub.ids import new_id
from connecthub.infra.uow import UnitOfWork

POST = "post"
MESSAGE = "message"
REPLY = "reply"
POLL = "poll"
MEDIA = "media"
KINDS = (POST, MESSAGE, REPLY, POLL, MEDIA)
# What makes someone an active poster on a day.
POSTING = (POST, MESSAGE)
_EPOCH = date(1970, 1, 1)


def period_start(day: date, rotation_days: int) -> date:
    """The first day of the key period holding `day` (periods are counted from 1970)."""
    index = (day - _EPOCH).days // rotation_days
    return _EPOCH + timedelta(days=index * rotation_days)


def subject_of(secret: bytes, account_id: int) -> str:
    return hmac.new(secret, str(account_id).encode(), hashlib.sha256).hexdigest()


def cohort_of(joined_at: datetime) -> str:
    return f"{joined_at.year:04d}-{joined_at.month:02d}"


async def record(
    uow: UnitOfWork, account_id: int, joined_at: datetime, kinds: Sequence[str]
) -> bool:
    """Record `kinds` of actions by the account today, if it consents now. One statement
    when it does not; whether anything was recorded."""
    if not kinds:
        return False
    settings = uow.engines.settings
    now = clock.utcnow()
    start = period_start(now.date(), settings.analytics_key_rotation_days)
    consented, key_id, secret = await repository.consent_and_key(uow.session, account_id, start)
    if not consented:
        return False
    if key_id is None or secret is None:
        key_id, secret = await repository.create_key(uow.session, start)
    subject = subject_of(secret, account_id)
    cohort = cohort_of(joined_at)
    await repository.add_events(
        uow.session,
        [
            {
                "id": new_id(),
                "key_id": key_id,
                "subject": subject,
                "kind": kind,
                "day": now.date(),
                "cohort": cohort,
                "created_at": now,
            }
            for kind in dict.fromkeys(kinds)
        ],
    )
    return True


async def forget(uow: UnitOfWork, account_id: int) -> int:
    """Delete every event of the account (consent withdrawn, or the account erased); how
    many went."""
    pairs = [
        (key_id, subject_of(secret, account_id))
        for key_id, secret in await repository.keys(uow.session)
    ]
    return await repository.delete_subjects(uow.session, pairs)


# -- release ------------------------------------------------------------------------


def laplace(scale: float, rng: random.Random) -> float:
    """One draw of Laplace(0, scale) by inverse transform."""
    if scale <= 0:
        return 0.0
    u = rng.random() - 0.5
    while abs(u) >= 0.5:  # random() may return 0.0, whose log is undefined
        u = rng.random() - 0.5
    return -scale * math.copysign(1.0, u) * math.log(1 - 2 * abs(u))


def _cell_rng(settings: Settings, cell: str) -> random.Random:
    digest = hmac.new(settings.secret_key.encode(), cell.encode(), hashlib.sha256).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def release(settings: Settings, cell: str, accounts: int, sensitivity: int = 1) -> int | None:
    """The figure published for a cell of `accounts` distinct accounts: None (suppressed)
    below k; otherwise the count with Laplace noise of scale sensitivity/epsilon,
    rounded and never below zero."""
    if accounts < settings.analytics_min_group:
        return None
    epsilon = settings.analytics_epsilon
    if epsilon <= 0:
        return accounts
    noise = laplace(sensitivity / epsilon, _cell_rng(settings, cell))
    return max(0, round(accounts + noise))


@dataclass(frozen=True)
class Cell:
    name: str
    value: int


async def released_cells(
    uow: UnitOfWork, measure: str, kinds: Sequence[str], first: date, last: date, by: str
) -> list[Cell]:
    """The published cells of a measure (suppressed ones left out), by day, cohort or kind.
    Distinct accounts are counted per key period (a person is one subject per period), so
    a cell spanning several periods may count a person once in each: its sensitivity is
    the number of periods the window touches, and the noise scales with it. A day's cell
    has the same noise whatever window asks for it."""
    settings = uow.engines.settings
    totals: dict[str, int] = {}
    for name, _key_id, subjects in await repository.distinct_subjects(
        uow.session, kinds, first, last, by
    ):
        totals[name] = totals.get(name, 0) + subjects
    rotation = settings.analytics_key_rotation_days
    if by == "day":
        sensitivity, scope = 1, ""
    else:
        days = (first + timedelta(days=n) for n in range((last - first).days + 1))
        sensitivity = len({period_start(day, rotation) for day in days})
        scope = f"{first.isoformat()}:{last.isoformat()}:"
    found = []
    for name in sorted(totals):
        value = release(settings, f"{measure}:{by}:{scope}{name}", totals[name], sensitivity)
        if value is not None:
            found.append(Cell(name, value))
    return found
