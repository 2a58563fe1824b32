"""What feature flags cost: evaluations per second from the cached rule set, through the
OpenFeature client and through the rules alone (tracing off: the OpenTelemetry hook is
attached only with tracing on), and the CPU a
flag adds to a request (figures in docs/benchmarks.md, "Feature flags").

    .venv/bin/python bench/flags.py                       # embedded (a temporary SQLite)
    .venv/bin/python bench/flags.py --evaluations 100000 --requests 2000 --rounds 10
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mydb REDIS_URL=redis://127.0.0.1:6379/0 \
      REDIS_KEY_PREFIX=mine: .venv/bin/python bench/flags.py   # distributed engines

Evaluations: each flag shape evaluated for `--evaluations` distinct synthetic accounts;
CPU time (process utime+stime), best of three runs.

Added CPU per request, measured alone: the `FeaturesDep` work (the locale from
Accept-Language, the evaluation context) and one evaluation, per account, best of three.

Added CPU per request in a request: `GET /api/v2/search?q=…&type=accounts` with a token, on
the ASGI app directly, as shipped (the `search_hashtags` flag evaluated through OpenFeature)
against the same route with the evaluation replaced by a constant (a dependency override):
interleaved blocks of `--requests`, `--rounds` times, so both see the same machine. Then
`GET /api/v1/flags` (five flags the web app reads) for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from typing import Any

from route_cpu import _call, _seed  # bench/route_cpu.py: the ASGI call and a seeded user

_NO_LIMIT = "1000000000/60"

SHAPES: dict[str, dict[str, Any]] = {
    "plain": {"kind": "boolean", "default_value": False},
    "targeted": {
        "kind": "boolean",
        "default_value": False,
        "rules": [
            {
                "name": f"rule{n}",
                "conditions": [
                    {"attribute": "role", "operator": "in", "values": ["admin"]},
                    {"attribute": "locale", "operator": "in", "values": ["id", "pt"]},
                ],
                "value": True,
            }
            for n in range(4)
        ]
        + [
            {
                "name": "veterans",
                "conditions": [{"attribute": "account_age_days", "operator": "gte", "value": 30}],
                "value": True,
            }
        ],
    },
    "rollout": {
        "kind": "boolean",
        "default_value": False,
        "rules": [{"name": "canary", "conditions": [], "value": True, "percentage": 30}],
    },
    "experiment": {
        "kind": "boolean",
        "default_value": False,
        "experiment": {
            "variants": [{"name": "a", "value": False}, {"name": "b", "value": True}],
            "metric": "posted",
        },
    },
    "search_hashtags": {
        "kind": "boolean",
        "default_value": False,
        "client_visible": True,
        "rules": [{"name": "everyone", "conditions": [], "value": True, "percentage": 100}],
    },
}


def synthetic_account_ids(count: int) -> list[int]:
    """Ids as accounts made over two years would have (time-ordered 64-bit ids)."""
    import random

    from connecthub.ids import id_for_time

    rng = random.Random(23)
    now_ms = int(time.time() * 1000)
    ids: set[int] = set()
    while len(ids) < count:
        made = now_ms - rng.randrange(2 * 365 * 86_400_000)
        ids.add(id_for_time(made) | rng.randrange(1 << 16))
    return sorted(ids)


async def _create_flags(app: Any) -> None:
    from connecthub.flags import service
    from connecthub.infra.uow import UnitOfWork

    engines = app.state.engines
    for key, document in SHAPES.items():
        async with engines.db.session() as session:
            uow = UnitOfWork(engines, session)
            await service.create_flag(
                uow, app.state.flags.store, service.Actor.cli(), {"key": key, **document}
            )
            await uow.commit()
    for key in ("theme", "layout", "composer", "banner"):
        async with engines.db.session() as session:
            uow = UnitOfWork(engines, session)
            document = {"key": key, "kind": "string", "default_value": key, "client_visible": True}
            await service.create_flag(uow, app.state.flags.store, service.Actor.cli(), document)
            await uow.commit()


def _evaluations_per_second(app: Any, key: str, accounts: list[int]) -> tuple[float, float]:
    """(through OpenFeature, rules alone): evaluations per CPU second, best of three."""
    from connecthub.clock import utcnow
    from connecthub.flags.rules import Subject, evaluate

    flags = app.state.flags
    contexts = [flags.features(a, "user", "en") for a in accounts]
    compiled = flags.store.get(key)
    subjects = [Subject(a, "user", "en") for a in accounts]
    now = utcnow()
    best_client = best_rules = float("inf")
    for _ in range(3):
        started = time.process_time()
        for features in contexts:
            features.enabled(key)
        best_client = min(best_client, time.process_time() - started)
        started = time.process_time()
        for subject in subjects:
            evaluate(compiled, subject, now)
        best_rules = min(best_rules, time.process_time() - started)
    return len(accounts) / best_client, len(accounts) / best_rules


async def _cpu(app: Any, target: str, token: str, requests: int) -> float:
    started = time.process_time()
    for _ in range(requests):
        await _call(app, target, token)
    return (time.process_time() - started) / requests * 1e6


async def run(args: argparse.Namespace) -> None:
    from connecthub.app import create_app
    from connecthub.config import load_settings
    from connecthub.flags.deps import features
    from connecthub.flags.runtime import Features
    from connecthub.infra import migrations

    workdir = tempfile.mkdtemp(prefix="bench-flags-")
    overrides: dict[str, Any] = {
        "log_level": "warning",
        "rate_limit_ip": _NO_LIMIT,
        "rate_limit_token": _NO_LIMIT,
        "rate_limit_account": _NO_LIMIT,
    }
    if not os.environ.get("DATABASE_URL"):
        overrides["database_url"] = f"sqlite:///{workdir}/connecthub.db"
        overrides["media_storage_url"] = f"file://{workdir}/media"
    settings = load_settings(**overrides)
    await migrations.upgrade(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        token = await _seed(app)
        await _create_flags(app)
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        accounts = synthetic_account_ids(args.evaluations)
        print(f"\nevaluations per CPU second ({args.evaluations} accounts, best of 3)")
        for key in ("plain", "targeted", "rollout", "experiment"):
            client, rules = _evaluations_per_second(app, key, accounts)
            print(
                f"  {key:11s} OpenFeature client {client:>10,.0f}/s ({1e6 / client:5.1f} µs)"
                f"   rules alone {rules:>10,.0f}/s ({1e6 / rules:5.2f} µs)"
            )

        # What the flag adds to a request, measured alone (no request noise around it): the
        # dependency's work (locale from the header, the evaluation context) and one
        # evaluation through the client.
        from connecthub.flags.deps import preferred_locale

        flags = app.state.flags
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            for account in accounts:
                locale = preferred_locale("id-ID,en;q=0.5")
                flags.features(account, "user", locale).enabled("search_hashtags")
            best = min(best, time.process_time() - started)
        print(
            f"\nper request, alone: context from the request + one evaluation "
            f"{best / len(accounts) * 1e6:6.1f} µs CPU"
        )

        search = "/api/v2/search?q=re&type=accounts"

        class _Constant(Features):
            def enabled(self, key: str, default: bool = False) -> bool:
                return True

        flags_client = app.state.flags.client
        constant = _Constant(flags_client, app.state.flags.features(1, None, None).context)

        async def _no_evaluation() -> Features:
            return constant

        for _ in range(max(args.requests // 5, 50)):  # warm both
            await _call(app, search, token)
        shipped, replaced = [], []
        for _ in range(args.rounds):
            app.dependency_overrides.pop(features, None)
            shipped.append(await _cpu(app, search, token, args.requests))
            app.dependency_overrides[features] = _no_evaluation
            replaced.append(await _cpu(app, search, token, args.requests))
        app.dependency_overrides.pop(features, None)
        a, b = statistics.median(shipped), statistics.median(replaced)
        spread = statistics.pstdev([x - y for x, y in zip(shipped, replaced, strict=True)])
        print(
            f"\nGET {search} ({args.rounds} interleaved rounds of {args.requests}, medians)\n"
            f"  with the flag evaluated  {a:8.1f} µs CPU per request\n"
            f"  evaluation replaced      {b:8.1f} µs CPU per request\n"
            f"  added by the flag        {a - b:8.1f} µs (round-to-round spread ±{spread:.1f})"
        )
        values = await _cpu(app, "/api/v1/flags", token, args.requests)
        print(f"GET /api/v1/flags (5 visible flags)  {values:8.1f} µs CPU per request")
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=8)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
