"""Follow suggestions, measured offline on a community with planted structure (issue 22,
item 5; figures in docs/benchmarks.md, "Follow suggestions: quality").

A synthetic community on an embedded (SQLite) database migrated as the app migrates it:
`--groups` friend groups of `--group-size` people; each person follows others in their
group with probability `--p-in`, anyone else with `--p-out`, and each of `--celebrities`
widely followed accounts with `--p-celebrity`. For `--viewers` people with at least five
follows, a fifth of their follows (at least one) is held out — removed from the graph —
and each suggester's top 10 is scored against the held-out follows:

- `friends_of_friends`: ConnectHub's `/api/v2/suggestions` (explore/service.py), which
  ranks accounts followed by one's follows and then the most followed active accounts;
- `most_followed`: the most followed accounts one does not follow (the usual baseline);
- `random`: ten accounts one does not follow, at random.

Prints recall@10 and NDCG@10 (binary relevance, mean over viewers) for each, and the
time of one suggestions call. The learned ranker and content similarity of issue 22 are
not measured here (not built yet). Bounded by its sizes; nothing leaves the process.

    .venv/bin/python bench/discovery_suggestions.py
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import insert  # noqa: E402

from connecthub.accounts.models import Account, User  # noqa: E402
from connecthub.clock import utcnow  # noqa: E402
from connecthub.config import load_settings  # noqa: E402
from connecthub.explore import service  # noqa: E402
from connecthub.ids import new_id  # noqa: E402
from connecthub.infra import migrations  # noqa: E402
from connecthub.infra.engines import Engines  # noqa: E402
from connecthub.infra.uow import UnitOfWork  # noqa: E402
from connecthub.relationships.models import Follow  # noqa: E402

K = 10


def build_graph(args: argparse.Namespace, rng: random.Random) -> tuple[int, set[tuple[int, int]]]:
    """People 0..n-1 (celebrities last) and the directed follow edges."""
    people = args.groups * args.group_size
    total = people + args.celebrities
    edges = set()
    for a in range(people):
        group = a // args.group_size
        for b in range(people):
            if a == b:
                continue
            p = args.p_in if b // args.group_size == group else args.p_out
            if rng.random() < p:
                edges.add((a, b))
        for c in range(people, total):
            if rng.random() < args.p_celebrity:
                edges.add((a, c))
    return total, edges


def held_out(edges: set[tuple[int, int]], viewers: int, rng: random.Random) -> dict[int, set[int]]:
    follows: dict[int, list[int]] = defaultdict(list)
    for a, b in edges:
        follows[a].append(b)
    eligible = sorted(a for a, targets in follows.items() if len(targets) >= 5)
    chosen = rng.sample(eligible, min(viewers, len(eligible)))
    hidden = {}
    for a in chosen:
        targets = sorted(follows[a])
        hidden[a] = set(rng.sample(targets, max(1, len(targets) // 5)))
    return hidden


def recall_and_ndcg(ranked: list[int], relevant: set[int]) -> tuple[float, float]:
    top = ranked[:K]
    hits = [1.0 if item in relevant else 0.0 for item in top]
    dcg = sum(hit / math.log2(rank + 2) for rank, hit in enumerate(hits))
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(len(relevant), K)))
    return sum(hits) / len(relevant), dcg / ideal


async def seed(engines: Engines, total: int, edges: set[tuple[int, int]]) -> list[int]:
    now = utcnow()
    ids = [new_id() for _ in range(total)]
    followers = defaultdict(int)
    following = defaultdict(int)
    for a, b in edges:
        following[a] += 1
        followers[b] += 1
    async with engines.db.transaction() as session:
        await session.execute(
            insert(Account),
            [
                {
                    "id": ids[n],
                    "username": f"p{n}",
                    "username_key": f"p{n}",
                    "followers_count": followers[n],
                    "following_count": following[n],
                    "last_status_at": now - timedelta(hours=n % 48),
                }
                for n in range(total)
            ],
        )
        await session.execute(
            insert(User),
            [
                {
                    "account_id": ids[n],
                    "email": f"p{n}@bench.invalid",
                    "email_key": f"p{n}@bench.invalid",
                    "password_hash": "!",
                }
                for n in range(total)
            ],
        )
        await session.execute(
            insert(Follow),
            [{"account_id": ids[a], "target_account_id": ids[b]} for a, b in edges],
        )
    return ids


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    total, edges = build_graph(args, rng)
    hidden = held_out(edges, args.viewers, rng)
    visible = {(a, b) for a, b in edges if b not in hidden.get(a, set())}
    with tempfile.TemporaryDirectory() as directory:
        settings = load_settings(database_url=f"sqlite:///{directory}/bench.db")
        await migrations.upgrade(settings)
        engines = Engines.from_settings(settings)
        try:
            ids = await seed(engines, total, visible)
            index = {account_id: n for n, account_id in enumerate(ids)}
            in_degree = defaultdict(int)
            for _a, b in visible:
                in_degree[b] += 1
            popular = sorted(range(total), key=lambda n: (-in_degree[n], n))
            scores: dict[str, list[tuple[float, float]]] = defaultdict(list)
            timings = []
            for viewer, relevant in sorted(hidden.items()):
                followed = {b for a, b in visible if a == viewer} | {viewer}
                async with engines.db.session() as session:
                    uow = UnitOfWork(engines, session)
                    started = time.perf_counter()
                    found = await service.suggestions(uow, ids[viewer], K)
                    timings.append(time.perf_counter() - started)
                ranked = [index[item.account.id] for item in found]
                scores["friends_of_friends"].append(recall_and_ndcg(ranked, relevant))
                baseline = [n for n in popular if n not in followed][:K]
                scores["most_followed"].append(recall_and_ndcg(baseline, relevant))
                others = [n for n in range(total) if n not in followed]
                scores["random"].append(recall_and_ndcg(rng.sample(others, K), relevant))
        finally:
            await engines.stop()
    print(
        f"community: {total} accounts ({args.groups} groups of {args.group_size}, "
        f"{args.celebrities} widely followed), {len(edges)} follows; "
        f"{len(hidden)} viewers, {sum(map(len, hidden.values()))} held-out follows"
    )
    for name, pairs in scores.items():
        recall = statistics.fmean(r for r, _ in pairs)
        ndcg = statistics.fmean(n for _, n in pairs)
        print(f"{name:>20}: recall@10 {recall:.3f}  NDCG@10 {ndcg:.3f}")
    timings.sort()
    print(
        f"suggestions call: p50 {timings[len(timings) // 2] * 1000:.1f} ms, "
        f"max {timings[-1] * 1000:.1f} ms (SQLite, in process)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--group-size", type=int, default=25)
    parser.add_argument("--celebrities", type=int, default=10)
    parser.add_argument("--p-in", type=float, default=0.3)
    parser.add_argument("--p-out", type=float, default=0.005)
    parser.add_argument("--p-celebrity", type=float, default=0.3)
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    asyncio.run(main(parser.parse_args()))
