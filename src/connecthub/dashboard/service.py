"""The admin dashboard (Mastodon's `/api/v1/admin/measures`, `dimensions` and `retention`),
for staff with the View Dashboard permission. A window is whole UTC days, from `start_at`'s
day to `end_at`'s, both included; a measure's previous total is the window of the same
length just before it. Keys ConnectHub cannot compute are left out of the answer, as
Mastodon leaves out keys it does not know."""

from __future__ import annotations

import platform
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from connecthub import __version__, entities
from connecthub.accounts.roles import Permission, has_permission
from connecthub.analytics import service as analytics
from connecthub.dashboard import repository
from connecthub.errors import BadRequest, Forbidden, ValidationFailed
from connecthub.ids import parse_id
from connecthub.infra.engines import redis_facts
from connecthub.infra.uow import UnitOfWork
from connecthub.instance.languages import language_name

NOT_ALLOWED = "This action is not allowed"
MAX_DAYS = 366  # one point per day: a year is the widest daily window served
MAX_MONTHS = 120
DIMENSION_LIMIT_DEFAULT = 10
DIMENSION_LIMIT_MAX = 100


def check_dashboard(role: str | None) -> None:
    """The View Dashboard permission (Mastodon's `dashboard#index?`), else 403."""
    if not has_permission(role, Permission.VIEW_DASHBOARD):
        raise Forbidden(NOT_ALLOWED)


@dataclass(frozen=True)
class Window:
    first: date
    last: date

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), UTC)

    @property
    def end(self) -> datetime:
        """The instant after the window (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)

    def before(self) -> Window:
        length = timedelta(days=len(self.days))
        return Window(self.first - length, self.last - length)


def _day(field: str, value: str) -> date:
    """`YYYY-MM-DD`, or an ISO 8601 date-time (its UTC day), as Mastodon's clients send."""
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(field, "must be an ISO 8601 date or date-time") from None
    return (moment if moment.tzinfo is None else moment.astimezone(UTC)).date()


def window(start_at: str, end_at: str, *, max_days: int = MAX_DAYS) -> Window:
    if not start_at:
        raise ValidationFailed("start_at", "is required")
    if not end_at:
        raise ValidationFailed("end_at", "is required")
    first, last = _day("start_at", start_at), _day("end_at", end_at)
    if last < first:
        raise ValidationFailed("end_at", "must not be before start_at")
    if (last - first).days + 1 > max_days:
        raise ValidationFailed("end_at", f"must be at most {max_days} days after start_at")
    return Window(first, last)


def _stamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _points(counts: dict[str, int], span: Window) -> list[entities.AdminMeasureData]:
    return [{"date": _stamp(d), "value": str(counts.get(d.isoformat(), 0))} for d in span.days]


Counter = Callable[[UnitOfWork, Window], Awaitable[tuple[int, dict[str, int]]]]


async def _new_users(uow: UnitOfWork, span: Window) -> tuple[int, dict[str, int]]:
    counts = await repository.new_users(uow.session, span.start, span.end)
    return sum(counts.values()), counts


async def _interactions(uow: UnitOfWork, span: Window) -> tuple[int, dict[str, int]]:
    counts = await repository.interactions(uow.session, span.start, span.end)
    return sum(counts.values()), counts


async def _active_users(uow: UnitOfWork, span: Window) -> tuple[int, dict[str, int]]:
    return await repository.active_users(uow.session, span.start, span.end)


async def _opened_reports(uow: UnitOfWork, span: Window) -> tuple[int, dict[str, int]]:
    counts = await repository.opened_reports(uow.session, span.start, span.end)
    return sum(counts.values()), counts


async def _resolved_reports(uow: UnitOfWork, span: Window) -> tuple[int, dict[str, int]]:
    counts = await repository.resolved_reports(uow.session, span.start, span.end)
    return sum(counts.values()), counts


async def _active_posters(uow: UnitOfWork, span: Window) -> tuple[int, dict[str, int]]:
    """Consenting accounts that posted or sent a message, per day, through analytics'
    release rule: days under k are left out of `data`, the others carry noise; the total
    is the sum of the days shown (person-days)."""
    cells = await analytics.released_cells(
        uow, "active_posters", analytics.POSTING, span.first, span.last, "day"
    )
    counts = {cell.name: cell.value for cell in cells}
    return sum(counts.values()), counts


# Measures released through analytics (docs/analytics.md): suppressed days have no point.
ANALYTICS_MEASURES: dict[str, Counter] = {"analytics_active_posters": _active_posters}

MEASURES: dict[str, Counter] = {
    "active_users": _active_users,
    "new_users": _new_users,
    "interactions": _interactions,
    "opened_reports": _opened_reports,
    "resolved_reports": _resolved_reports,
}


# Measures about one hashtag: `tag_uses[id]`, `tag_accounts[id]` name it, as Mastodon's.
TAG_MEASURES = {"tag_uses": False, "tag_accounts": True}


def _tag_counter(key: str, params: Mapping[str, Any]) -> Counter:
    given = params.get(key)
    tag_id = parse_id(given.get("id")) if isinstance(given, dict) else None
    if tag_id is None:
        # Mastodon answers 400 for a missing parameter.
        raise BadRequest(f"param is missing or the value is empty: {key}[id]")

    async def count(uow: UnitOfWork, span: Window) -> tuple[int, dict[str, int]]:
        return await repository.tag_uses(
            uow.session, tag_id, span.start, span.end, accounts=TAG_MEASURES[key]
        )

    return count


async def measures(
    uow: UnitOfWork, keys: Sequence[str], span: Window, params: Mapping[str, Any]
) -> list[entities.AdminMeasure]:
    """`params`: the request's, for the measures that take their own (the hashtag's id)."""
    found: list[entities.AdminMeasure] = []
    for key in dict.fromkeys(keys):
        counter = (
            _tag_counter(key, params)
            if key in TAG_MEASURES
            else ANALYTICS_MEASURES.get(key) or MEASURES.get(key)
        )
        if counter is None:
            continue
        total, counts = await counter(uow, span)
        previous, _ = await counter(uow, span.before())
        data = _points(counts, span)
        if key in ANALYTICS_MEASURES:  # a suppressed day is no point, not a zero
            data = [point for point in data if point["date"][:10] in counts]
        found.append(
            {
                "key": key,
                "total": str(total),
                "previous_total": str(previous),
                "data": data,
            }
        )
    return found


def human_size(value: int) -> str:
    """Bytes as people read them (1024-based, three significant digits), as Rails'
    `number_to_human_size` writes them on Mastodon's dashboard."""
    size = float(value)
    for unit in ("Bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{int(size)} Bytes" if unit == "Bytes" else f"{size:.3g} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _named(key: str, human_key: str, value: str) -> entities.AdminDimensionData:
    return {"key": key, "human_key": human_key, "value": value}


def _bytes(key: str, human_key: str, value: int) -> entities.AdminDimensionData:
    return {
        "key": key,
        "human_key": human_key,
        "value": str(value),
        "unit": "bytes",
        "human_value": human_size(value),
    }


async def _languages(
    uow: UnitOfWork, span: Window, limit: int
) -> list[entities.AdminDimensionData]:
    locales = await repository.user_locales(uow.session, span.start, span.end, limit)
    return [_named(code, language_name(code), str(count)) for code, count in locales]


async def _software(uow: UnitOfWork, span: Window, limit: int) -> list[entities.AdminDimensionData]:
    engine, version = await repository.database_version(uow.session)
    found = [
        _named("connecthub", "ConnectHub", __version__),
        _named("python", "Python", platform.python_version()),
        _named(engine, "PostgreSQL" if engine == "postgresql" else "SQLite", version),
    ]
    redis = await redis_facts(uow.engines)
    if redis is not None:
        found.append(_named("redis", "Redis", redis.version))
    for entry in found:
        entry["human_value"] = entry["value"]
    return found


async def _space(uow: UnitOfWork, span: Window, limit: int) -> list[entities.AdminDimensionData]:
    engine, size = await repository.database_bytes(uow.session)
    found = [_bytes(engine, "PostgreSQL" if engine == "postgresql" else "SQLite", size)]
    redis = await redis_facts(uow.engines)
    if redis is not None:
        found.append(_bytes("redis", "Redis", redis.used_memory))
    found.append(_bytes("media", "Media storage", await repository.media_bytes(uow.session)))
    return found


async def _posters_by_cohort(
    uow: UnitOfWork, span: Window, limit: int
) -> list[entities.AdminDimensionData]:
    """Consenting accounts that posted in the window, by the month they joined (cohorts
    under k left out, the others with noise)."""
    cells = await analytics.released_cells(
        uow, "active_posters", analytics.POSTING, span.first, span.last, "cohort"
    )
    return [_named(c.name, f"Joined {c.name}", str(c.value)) for c in cells[-limit:]]


async def _feature_usage(
    uow: UnitOfWork, span: Window, limit: int
) -> list[entities.AdminDimensionData]:
    """Consenting accounts that used each feature in the window (posts, direct messages,
    replies, polls, media), through the same release rule."""
    cells = await analytics.released_cells(
        uow, "features", analytics.KINDS, span.first, span.last, "kind"
    )
    ranked = sorted(cells, key=lambda c: -c.value)[:limit]
    return [_named(c.name, c.name.capitalize(), str(c.value)) for c in ranked]


Lister = Callable[[UnitOfWork, Window, int], Awaitable[list[entities.AdminDimensionData]]]
DIMENSIONS: dict[str, Lister] = {
    "analytics_active_posters_by_cohort": _posters_by_cohort,
    "analytics_feature_usage": _feature_usage,
    "languages": _languages,
    "software_versions": _software,
    "space_usage": _space,
}


async def dimensions(
    uow: UnitOfWork, keys: Sequence[str], span: Window, limit: int
) -> list[entities.AdminDimension]:
    found: list[entities.AdminDimension] = []
    for key in dict.fromkeys(keys):
        lister = DIMENSIONS.get(key)
        if lister is not None:
            found.append({"key": key, "data": await lister(uow, span, limit)})
    return found


def _periods(span: Window, frequency: str) -> list[str]:
    if frequency == "day":
        return [d.isoformat() for d in span.days]
    months, year, month = [], span.first.year, span.first.month
    while (year, month) <= (span.last.year, span.last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _period_stamp(period: str) -> str:
    day = period if len(period) == 10 else f"{period}-01"
    return f"{day}T00:00:00+00:00"


async def retention(uow: UnitOfWork, span: Window, frequency: str) -> list[entities.AdminCohort]:
    """For each sign-up period in the window, the share of its users last seen in each
    period since (Mastodon counts a user retained up to their latest sign-in)."""
    periods = _periods(span, frequency)
    sizes: dict[str, int] = {}
    seen: dict[str, dict[str, int]] = {}
    for joined, last, count in await repository.cohorts(
        uow.session, span.start, span.end, frequency
    ):
        sizes[joined] = sizes.get(joined, 0) + count
        if last is not None:
            seen.setdefault(joined, {})[last] = seen.get(joined, {}).get(last, 0) + count
    found: list[entities.AdminCohort] = []
    for index, cohort in enumerate(periods):
        size, last_seen = sizes.get(cohort, 0), seen.get(cohort, {})
        data: list[entities.AdminCohortData] = []
        for period in periods[index:]:
            retained = sum(count for last, count in last_seen.items() if last >= period)
            data.append(
                {
                    "date": _period_stamp(period),
                    "rate": retained / max(size, 1),
                    "value": str(retained),
                }
            )
        found.append({"period": _period_stamp(cohort), "frequency": frequency, "data": data})
    return found
