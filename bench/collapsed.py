"""Sum up py-spy's collapsed stacks (`py-spy record --format raw`): the share of samples
in which each function appears (inclusive) and on top (self), the idle loop left out.

    .venv/bin/python bench/collapsed.py /tmp/spy-worker.txt [--top 40] [--match connecthub]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

# Frames of an event loop waiting for work: samples whose top frame is one of these are idle.
IDLE = ("select (selectors.py", "poll (selectors.py", "_run_once (asyncio", "run_forever")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--match", default="", help="only frames containing this text")
    args = parser.parse_args()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    busy = idle = 0
    for line in Path(args.file).read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames[-1].startswith(IDLE):
            idle += count
            continue
        busy += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    print(f"{busy} busy samples, {idle} idle")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"\n{title}:")
        shown = 0
        for frame, count in counter.most_common():
            if args.match not in frame:
                continue
            print(f"  {count * 100 / max(busy, 1):5.1f} %  {frame}")
            shown += 1
            if shown == args.top:
                break


if __name__ == "__main__":
    main()
