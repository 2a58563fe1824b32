"""What the home feed's instance stamp costs a read (docs/adr/0008-home-feed-repair.md;
figures in docs/benchmarks.md, "Home feed repair").

Starts a redis-server of its own on a free port (no persistence; `redis-server` on PATH),
fills one feed of `--items` ids through `RedisFeedStore` (claim, then finish), and reads a
first page of home ids from it `--reads` times, one after the other, through the store's
read script (the one round trip a home read makes to Redis), then the same with the read
script as it was before the stamp (kept below, on a feed whose sentinel is the plain "0").
Prints, for each, the Redis CPU per call (INFO commandstats) and the round trip as the
client sees it.

    .venv/bin/python bench/feed_read.py [--items 800] [--reads 20000] [--limit 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from connecthub.config import Settings
from connecthub.core.pagination import Page
from connecthub.timelines.feeds import BUILDING, COMPLETE, RedisFeedStore

# The read script before the stamp (commit 8b8a6d7), for comparison only.
UNSTAMPED_READ = """
local state = redis.call('ZSCORE', KEYS[1], '0')
if not state then return {} end
if ARGV[5] == '1' and tonumber(state) ~= tonumber(ARGV[6]) then
  redis.call('EXPIRE', KEYS[1], ARGV[7])
end
local oldest = redis.call('ZRANGE', KEYS[1], 1, 1)
local ids
if ARGV[1] == 'asc' then
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[3], 'LIMIT', 0, ARGV[4])
else
  ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[3], ARGV[2], 'LIMIT', 0, ARGV[4])
end
return {state, oldest[1] or '', ids}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def redis_server() -> object:
    binary = shutil.which("redis-server")
    assert binary, "redis-server must be on PATH"
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory],
            stdout=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                    break
                time.sleep(0.05)
            yield port
        finally:
            process.terminate()
            process.wait()


async def measure(redis: Redis, reads: int, call: Callable[[], Awaitable[object]]) -> str:
    await call()  # the script is loaded
    await redis.config_resetstat()
    began = time.perf_counter()
    for _ in range(reads):
        await call()
    elapsed = time.perf_counter() - began
    stats = await redis.info("commandstats")
    server = stats["cmdstat_evalsha"]["usec_per_call"]
    return f"Redis {server:.2f} µs per call, round trip {elapsed / reads * 1e6:.0f} µs"


async def run(items: int, reads: int, limit: int) -> None:
    with redis_server() as port:
        url = f"redis://127.0.0.1:{port}/0"
        redis = Redis.from_url(url)
        settings = Settings(redis_url=url, home_feed_max_items=max(2 * items, 40))
        store = RedisFeedStore(redis, settings)
        ids = list(range(10**15, 10**15 + items))
        claim = await store.claim(1)
        assert claim is not None
        assert await store.finish(1, claim, ids)
        page = Page(limit=limit)
        fetch = limit * 2 + 10

        state, _oldest, found = await store._read(store.key(1), page, fetch, refresh=True)
        assert state == COMPLETE
        assert len(found) == fetch

        # Both scripts called the same way, their replies left as they come.
        args = ["desc", "(0", "+inf", fetch, 1, BUILDING, store.ttl]
        before = redis.register_script(UNSTAMPED_READ)
        plain = store.key(2)
        await redis.zadd(plain, {"0": COMPLETE, **{str(i): i for i in ids}})

        async def stamped() -> object:
            return await store._read_script(keys=[store.key(1)], args=args)

        async def unstamped() -> object:
            return await before(keys=[plain], args=args)

        print(f"feed of {items} ids, first page of {limit} (reads {fetch} ids), {reads} reads")
        print("stamped read (this tree):", await measure(redis, reads, stamped))
        print("unstamped read (before): ", await measure(redis, reads, unstamped))
        print("stamped read again:      ", await measure(redis, reads, stamped))
        info = await redis.info("server")
        print(f"redis-server {info['redis_version']}")
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=800)
    parser.add_argument("--reads", type=int, default=20000)
    parser.add_argument("--limit", type=int, default=20)
    options = parser.parse_args()
    asyncio.run(run(options.items, options.reads, options.limit))


if __name__ == "__main__":
    main()
