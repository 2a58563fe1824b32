"""CPU per Redis command packed by the app's client (hiredis, infra/redis.py) and by
redis-py's asyncio packing in Python, on the commands a post's fan-out sends most.

    .venv/bin/python bench/redis_packing.py [--number 2000]
"""

from __future__ import annotations

import argparse
import timeit

from redis.asyncio.connection import Connection

from connecthub.infra.redis import connect_redis

# A post's fan-out: a feed script per chunk of followers, events published per follower.
COMMANDS = [
    ("EVALSHA", "0123456789abcdef0123456789abcdef01234567", 2, "ch:feed:home:12345", "x", 17, 800),
    ("PUBLISH", "ch:events:user:12345", '{"event":"update","payload":"{\\"id\\":\\"1\\"}"}'),
    ("HGET", "ch:entity:status:1734567890123456", "v"),
] * 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()
    ours = connect_redis("redis://127.0.0.1:1/0").connection_pool.connection_class()
    for name, connection in (("redis-py (Python)", Connection()), ("hiredis (ours)", ours)):
        best = min(
            timeit.repeat(
                lambda c=connection: c.pack_commands(COMMANDS), number=args.number, repeat=5
            )
        )
        print(f"{name:20s} {best / args.number / len(COMMANDS) * 1e6:6.2f} µs per command")


if __name__ == "__main__":
    main()
