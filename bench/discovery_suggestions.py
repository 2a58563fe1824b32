"""Follow suggestions, measured offline on a community with planted structure (issue 22,
item 5; figures in docs/benchmarks.md, "Follow suggestions: quality").

A synthetic community on an embedded (SQLite) database migrated as the app migrates it:
`--groups` friend groups of `--group-size` people, each group with a topic (its own
vocabulary); each person also has a second topic, another group's. A person follows others
in their group with probability `--p-in`, people of the group whose topic is their second
one with `--p-topic`, anyone else with `--p-out`, and each of `--celebrities` widely
followed accounts with `--p-celebrity`. Each writes `--posts` public posts, three in five
on their group's topic and the rest on their second one (celebrities: any topic);
the embeddings job then runs as it would (explore/embeddings.py), and its throughput is
printed (posts embedded per second of one core). For `--viewers` people with at least five
follows, a fifth of their follows (at least one) is held out — removed from the graph —
and each suggester's top 10 is scored against the held-out follows:

- `connecthub`: `/api/v2/suggestions` (explore/service.py): friends of friends, accounts
  that write like one's recent follows, and the most followed, fused by reciprocal rank;
- `connecthub without content`: the same with no account vectors (graph and popularity);
- `most_followed`: the most followed accounts one does not follow (the usual baseline);
- `random`: ten accounts one does not follow, at random.

Prints recall@10 and NDCG@10 (binary relevance, mean over viewers) for each, and the
time of one suggestions call. Bounded by its sizes; nothing leaves the process.

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

from sqlalchemy import delete, insert  # noqa: E402

from connecthub.accounts.models import Account, User  # noqa: E402
from connecthub.clock import utcnow  # noqa: E402
from connecthub.config import load_settings  # noqa: E402
from connecthub.explore import embeddings, service  # noqa: E402
from connecthub.explore.models import AccountVector  # noqa: E402
from connecthub.ids import new_id  # noqa: E402
from connecthub.infra import migrations  # noqa: E402
from connecthub.infra.engines import Engines  # noqa: E402
from connecthub.infra.uow import UnitOfWork  # noqa: E402
from connecthub.relationships.models import Follow  # noqa: E402
from connecthub.statuses.models import Status  # noqa: E402

K = 10
TOPICS = [
    "tomato garlic basil pasta sauce oven bread recipe soup noodles spice",
    "garden seedlings compost tomatoes roses soil pruning greenhouse bulbs mulch",
    "telescope galaxy nebula planets eclipse orbit comet stargazing moon observatory",
    "football goal striker league match penalty referee midfield stadium coach",
    "jazz saxophone improvisation trumpet swing bebop quartet record vinyl chords",
    "python compiler kernel debugging database query latency server deploy code",
    "hiking trail summit backpack mountains ridge campsite boots waterfall forest",
    "camera lens aperture portrait exposure film darkroom landscape shutter light",
    "chess opening endgame gambit rook bishop tournament checkmate pawn grandmaster",
    "knitting yarn wool scarf needles pattern sweater stitches cardigan crochet",
    "cycling bike gears climb peloton saddle tyres sprint route cadence",
    "birds warbler heron binoculars migration owl nest feathers songbird wetland",
    "painting watercolour canvas brushes pigment portrait gallery oil sketch palette",
    "cinema film director screenplay festival actors premiere documentary scene cut",
    "poetry verse sonnet stanza metaphor rhyme poet anthology haiku reading",
    "sailing boat harbour wind sails regatta mooring keel tide voyage",
    "coffee espresso roast beans grinder latte brew barista crema pourover",
    "running marathon pace training intervals race shoes miles finish tempo",
    "history medieval archives empire manuscripts castle dynasty treaty revolution museum",
    "robots sensors servo motors arduino microcontroller soldering circuit automation lidar",
]
TEMPLATES = [
    "Today I spent hours on {a} and {b}, and the {c} was wonderful",
    "Does anyone have advice about {a}? My {b} keeps going wrong with the {c}",
    "New favourite thing: {a} with {b}. Also thinking about {c}",
    "Notes from this weekend: {a}, {b} and a lot of {c}",
]


def interests(args: argparse.Namespace, rng: random.Random) -> list[int]:
    """Each person's second topic besides their group's (celebrities: none, -1)."""
    people = args.groups * args.group_size
    return [rng.randrange(args.groups) for _ in range(people)] + [-1] * args.celebrities


def build_graph(
    args: argparse.Namespace, second: list[int], rng: random.Random
) -> tuple[int, set[tuple[int, int]]]:
    """People 0..n-1 (celebrities last) and the directed follow edges: friends in one's
    group, anyone rarely, and people of another group whose topic one shares (their group's
    topic is one's second topic) more often."""
    people = args.groups * args.group_size
    total = people + args.celebrities
    edges = set()
    for a in range(people):
        group = a // args.group_size
        for b in range(people):
            if a == b:
                continue
            if b // args.group_size == group:
                p = args.p_in
            elif b // args.group_size == second[a]:
                p = args.p_topic
            else:
                p = args.p_out
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


def posts_of(
    person: int, second: list[int], args: argparse.Namespace, rng: random.Random
) -> list[str]:
    people = args.groups * args.group_size
    texts = []
    for n in range(args.posts):
        if person >= people:
            topic = rng.randrange(len(TOPICS))
        else:  # three posts in five on the group's topic, the rest on the second one
            topic = person // args.group_size if n % 5 < 3 else second[person]
        words = TOPICS[topic % len(TOPICS)].split()
        a, b, c = rng.sample(words, 3)
        texts.append(rng.choice(TEMPLATES).format(a=a, b=b, c=c))
    return texts


async def write_posts(
    engines: Engines,
    ids: list[int],
    second: list[int],
    args: argparse.Namespace,
    rng: random.Random,
) -> int:
    rows = []
    for person, account_id in enumerate(ids):
        for text in posts_of(person, second, args, rng):
            rows.append({"id": new_id(), "account_id": account_id, "text": text})
    async with engines.db.transaction() as session:
        await session.execute(insert(Status), rows)
    return len(rows)


async def embed_all(engines: Engines) -> float:
    """The embeddings job's work until nothing is stale; CPU seconds it took."""
    started = time.process_time()
    while True:
        async with engines.db.session() as session:
            uow = UnitOfWork(engines, session)
            done = await service.embed_stale_accounts(uow, service.EMBED_BATCH)
            await uow.commit()
        if done < service.EMBED_BATCH:
            return time.process_time() - started


async def forget_vectors(engines: Engines) -> None:
    async with engines.db.transaction() as session:
        await session.execute(delete(AccountVector))


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    second = interests(args, rng)
    total, edges = build_graph(args, second, rng)
    hidden = held_out(edges, args.viewers, rng)
    visible = {(a, b) for a, b in edges if b not in hidden.get(a, set())}
    with tempfile.TemporaryDirectory() as directory:
        settings = load_settings(database_url=f"sqlite:///{directory}/bench.db")
        await migrations.upgrade(settings)
        engines = Engines.from_settings(settings)
        try:
            ids = await seed(engines, total, visible)
            posts = await write_posts(engines, ids, second, args, rng)
            embeddings.embed(["warm the model up"])  # loading is not embedding
            cpu = await embed_all(engines)
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
                scores["connecthub"].append(recall_and_ndcg(ranked, relevant))
                baseline = [n for n in popular if n not in followed][:K]
                scores["most_followed"].append(recall_and_ndcg(baseline, relevant))
                others = [n for n in range(total) if n not in followed]
                scores["random"].append(recall_and_ndcg(rng.sample(others, K), relevant))
            await forget_vectors(engines)
            for viewer, relevant in sorted(hidden.items()):
                async with engines.db.session() as session:
                    found = await service.suggestions(UnitOfWork(engines, session), ids[viewer], K)
                ranked = [index[item.account.id] for item in found]
                scores["connecthub without content"].append(recall_and_ndcg(ranked, relevant))
        finally:
            await engines.stop()
    print(
        f"community: {total} accounts ({args.groups} groups of {args.group_size}, "
        f"{args.celebrities} widely followed), {len(edges)} follows; "
        f"{len(hidden)} viewers, {sum(map(len, hidden.values()))} held-out follows"
    )
    print(f"embedding: {posts} posts in {cpu:.2f} CPU-s, {posts / cpu:,.0f} posts/s/core")
    for name in ("connecthub", "connecthub without content", "most_followed", "random"):
        pairs = scores[name]
        recall = statistics.fmean(r for r, _ in pairs)
        ndcg = statistics.fmean(n for _, n in pairs)
        print(f"{name:>28}: recall@10 {recall:.3f}  NDCG@10 {ndcg:.3f}")
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
    parser.add_argument("--p-topic", type=float, default=0.1)
    parser.add_argument("--p-celebrity", type=float, default=0.3)
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--posts", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    asyncio.run(main(parser.parse_args()))
