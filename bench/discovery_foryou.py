"""The "For you" ranker, measured offline on a community with planted structure (issue 22,
item 5; figures in docs/benchmarks.md, "For you: ranker quality").

The community is the one bench/discovery_suggestions.py builds (friend groups with a topic
each, a second topic per person, widely followed accounts), on an embedded (SQLite)
database migrated as the app migrates it. Each person writes `--posts` public posts at
random moments of the last `--days` days. Engagement is planted: each person favourites
(or, one time in seven each, boosts or replies to) a post with probability

    sigmoid(BASE + 2.0·(author in one's group) + 1.5·(post on one of one's topics)
            + 1.0·(one follows the author) + quality(author))

some hours after it was posted (exponential, mean `--delay-hours`). What happened before
now is written to the database (counters included); what happens after now is held out.

The ranker is trained by the job's own code (explore/foryou.train) on what is written, then
for each person with held-out engagement on a post of the candidate window (the last three
days), `foryou.rank` orders their candidates (follows, follows of follows, posts similar
to what they engaged with) and each ordering's top 10 is scored against the held-out
engagement:

- `learned`: the fitted model (explore/ranker.py), diversified as served;
- `prior`: the hand-set weights that serve before any model is fitted;
- `chronological`: the same candidates, newest first (Mastodon's home order);
- `popularity`: the same candidates, most favourited, boosted and replied to first;
- `random`: the same candidates in a random order.

Prints recall@10 (of every held-out engagement in the window, found or not by the
candidate sources) and NDCG@10 (binary relevance), means over viewers, and the time of
training and of one ranking. Bounded by its sizes; nothing leaves the process.

    .venv/bin/python bench/discovery_foryou.py --seed 7
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
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from discovery_suggestions import (  # noqa: E402
    TEMPLATES,
    TOPICS,
    build_graph,
    interests,
    recall_and_ndcg,
)
from sqlalchemy import insert  # noqa: E402

from connecthub.accounts.models import Account, User  # noqa: E402
from connecthub.clock import utcnow  # noqa: E402
from connecthub.config import load_settings  # noqa: E402
from connecthub.explore import embeddings, foryou, ranker  # noqa: E402
from connecthub.ids import id_for_time  # noqa: E402
from connecthub.infra import migrations  # noqa: E402
from connecthub.infra.engines import Engines  # noqa: E402
from connecthub.infra.uow import UnitOfWork  # noqa: E402
from connecthub.relationships.models import Follow  # noqa: E402
from connecthub.statuses.models import Favourite, Status  # noqa: E402

K = 10
BASE = -7.0
ids_used: set[int] = set()


def _id_at(moment: datetime, rng: random.Random) -> int:
    """A time-ordered id for `moment` (as the app makes them), distinct."""
    while True:
        candidate = id_for_time(int(moment.timestamp() * 1000)) + rng.randrange(1 << 16)
        if candidate not in ids_used:
            ids_used.add(candidate)
            return candidate


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


class Community:
    def __init__(self, args: argparse.Namespace, rng: random.Random, now: datetime) -> None:
        self.args = args
        self.second = interests(args, rng)
        self.total, self.edges = build_graph(args, self.second, rng)
        self.people = args.groups * args.group_size
        self.quality = [rng.gauss(0, 0.7) for _ in range(self.total)]
        # posts: (author, topic, created_at, text)
        self.posts: list[tuple[int, int, datetime, str]] = []
        for author in range(self.total):
            for n in range(args.posts):
                if author >= self.people:
                    topic = rng.randrange(len(TOPICS))
                else:
                    group = author // args.group_size
                    topic = group if n % 5 < 3 else self.second[author]
                words = TOPICS[topic % len(TOPICS)].split()
                a, b, c = rng.sample(words, 3)
                text = rng.choice(TEMPLATES).format(a=a, b=b, c=c)
                at = now - timedelta(seconds=rng.uniform(0, args.days * 86_400))
                self.posts.append((author, topic, at, text))
        follows = defaultdict(set)
        for a, b in self.edges:
            follows[a].add(b)
        # engagements: (person, post index, kind, at)
        self.engagements: list[tuple[int, int, str, datetime]] = []
        for person in range(self.total):
            group = person // args.group_size if person < self.people else -1
            topics = {group, self.second[person]} if person < self.people else set()
            for index, (author, topic, at, _text) in enumerate(self.posts):
                if author == person:
                    continue
                same_group = author < self.people and author // args.group_size == group
                logit = (
                    BASE
                    + 2.0 * same_group
                    + 1.5 * (topic in topics)
                    + 1.0 * (author in follows[person])
                    + self.quality[author]
                )
                if rng.random() < sigmoid(logit):
                    roll = rng.random()
                    kind = "favourite" if roll < 5 / 7 else "boost" if roll < 6 / 7 else "reply"
                    delay = timedelta(hours=rng.expovariate(1 / args.delay_hours))
                    self.engagements.append((person, index, kind, at + delay))


async def seed(
    engines: Engines, community: Community, now: datetime, rng: random.Random
) -> tuple[list[int], list[int]]:
    """Accounts, follows, posts and the engagement before `now`; (account ids, post ids)."""
    total = community.total
    ids = [_id_at(now - timedelta(days=30), rng) for _ in range(total)]
    post_ids = [_id_at(at, rng) for _author, _topic, at, _text in community.posts]
    past = [e for e in community.engagements if e[3] < now]
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for _person, index, kind, _at in past:
        counts[index][kind] += 1
    async with engines.db.transaction() as session:
        await session.execute(
            insert(Account),
            [{"id": ids[n], "username": f"p{n}", "username_key": f"p{n}"} for n in range(total)],
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
            [{"account_id": ids[a], "target_account_id": ids[b]} for a, b in community.edges],
        )
        await session.execute(
            insert(Status),
            [
                {
                    "id": post_ids[index],
                    "account_id": ids[author],
                    "text": text,
                    "created_at": at,
                    "favourites_count": counts[index]["favourite"],
                    "reblogs_count": counts[index]["boost"],
                    "replies_count": counts[index]["reply"],
                }
                for index, (author, _topic, at, text) in enumerate(community.posts)
            ],
        )
        favourites = []
        others = []
        for person, index, kind, at in past:
            if kind == "favourite":
                favourites.append(
                    {
                        "id": _id_at(at, rng),
                        "account_id": ids[person],
                        "status_id": post_ids[index],
                        "created_at": at,
                    }
                )
            else:
                author = community.posts[index][0]
                others.append(
                    {
                        "id": _id_at(at, rng),
                        "account_id": ids[person],
                        "created_at": at,
                        "text": "" if kind == "boost" else "reply",
                        "reblog_of_id": post_ids[index] if kind == "boost" else None,
                        "in_reply_to_id": post_ids[index] if kind == "reply" else None,
                        "in_reply_to_account_id": ids[author] if kind == "reply" else None,
                    }
                )
        await session.execute(insert(Favourite), favourites)
        await session.execute(insert(Status), others)
    return ids, post_ids


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    now = utcnow()
    community = Community(args, rng, now)
    window_start = now - foryou.WINDOW
    past_by_person: dict[int, set[int]] = defaultdict(set)
    future_by_person: dict[int, set[int]] = defaultdict(set)
    for person, index, _kind, at in community.engagements:
        if at < now:
            past_by_person[person].add(index)
        elif community.posts[index][2] >= window_start:
            future_by_person[person].add(index)
    held_out = {
        person: indexes - past_by_person[person]
        for person, indexes in future_by_person.items()
        if indexes - past_by_person[person]
    }
    viewers = sorted(rng.sample(sorted(held_out), min(args.viewers, len(held_out))))
    with tempfile.TemporaryDirectory() as directory:
        settings = load_settings(database_url=f"sqlite:///{directory}/bench.db")
        await migrations.upgrade(settings)
        engines = Engines.from_settings(settings)
        try:
            ids, post_ids = await seed(engines, community, now, rng)
            post_index = {post_id: index for index, post_id in enumerate(post_ids)}
            embeddings.embed(["warm the model up"])
            started = time.perf_counter()
            async with engines.db.session() as session:
                uow = UnitOfWork(engines, session)
                trained = await foryou.train(uow, now)
                await uow.commit()
            training = time.perf_counter() - started
            assert trained is not None, "too little engagement to train"
            scores: dict[str, list[tuple[float, float]]] = defaultdict(list)
            timings = []
            for person in viewers:
                relevant = held_out[person]
                async with engines.db.session() as session:
                    uow = UnitOfWork(engines, session)
                    started = time.perf_counter()
                    learned = await foryou.rank(
                        uow, settings, ids[person], now, model=trained.model
                    )
                    timings.append(time.perf_counter() - started)
                    prior = await foryou.rank(uow, settings, ids[person], now, model=ranker.PRIOR)
                orders = {
                    "learned": [r.status_id for r in learned],
                    "prior": [r.status_id for r in prior],
                    "chronological": sorted((r.status_id for r in learned), reverse=True),
                    "popularity": [
                        r.status_id
                        for r in sorted(
                            learned,
                            key=lambda r: (
                                -dict((n, v) for n, v, _ in r.signals)["engagement"],
                                -r.status_id,
                            ),
                        )
                    ],
                }
                shuffled = [r.status_id for r in learned]
                rng.shuffle(shuffled)
                orders["random"] = shuffled
                for name, order in orders.items():
                    ranked = [post_index[status_id] for status_id in order]
                    scores[name].append(recall_and_ndcg(ranked, relevant))
        finally:
            await engines.stop()
    past = sum(1 for e in community.engagements if e[3] < now)
    print(
        f"community: {community.total} accounts, {len(community.edges)} follows, "
        f"{len(community.posts)} posts; {past} engagements before now, "
        f"{sum(map(len, held_out.values()))} held out ({len(viewers)} viewers scored)"
    )
    weights = ", ".join(
        f"{name} {weight:+.2f}"
        for name, weight in zip(trained.model.features, trained.model.weights, strict=True)
    )
    print(
        f"training: {trained.examples} rows ({trained.positives} positives) "
        f"in {training:.1f} s; weights: {weights}"
    )
    for name in ("learned", "prior", "chronological", "popularity", "random"):
        pairs = scores[name]
        recall = statistics.fmean(r for r, _ in pairs)
        ndcg = statistics.fmean(n for _, n in pairs)
        print(f"{name:>14}: recall@10 {recall:.3f}  NDCG@10 {ndcg:.3f}")
    timings.sort()
    print(
        f"one ranking: p50 {timings[len(timings) // 2] * 1000:.0f} ms, "
        f"max {timings[-1] * 1000:.0f} ms (SQLite, in process)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--group-size", type=int, default=25)
    parser.add_argument("--celebrities", type=int, default=10)
    parser.add_argument("--p-in", type=float, default=0.3)
    parser.add_argument("--p-out", type=float, default=0.005)
    parser.add_argument("--p-topic", type=float, default=0.1)
    parser.add_argument("--p-celebrity", type=float, default=0.3)
    parser.add_argument("--posts", type=int, default=8)
    parser.add_argument("--days", type=float, default=10.0)
    parser.add_argument("--delay-hours", type=float, default=12.0)
    parser.add_argument("--viewers", type=int, default=150)
    parser.add_argument("--seed", type=int, default=7)
    asyncio.run(main(parser.parse_args()))
