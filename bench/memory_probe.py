"""`connecthub` with a memory probe, for `bench/embedded_memory.py --probe`: on SIGUSR1
the process writes what it holds to `$MEMORY_PROBE_DIR/<pid>-<n>.txt` (and, with
PYTHONTRACEMALLOC set, a tracemalloc snapshot beside it): the garbage collector's counts
and what a full collection frees, the live objects by type, and glibc's heap statistics
(mallinfo2: bytes in use against bytes held), so growth can be told apart as Python
objects, garbage awaiting a full collection, or memory the allocator keeps.

    .venv/bin/python bench/memory_probe.py serve --port 18700
"""

from __future__ import annotations

import collections
import ctypes
import gc
import os
import signal
import sys
import threading
import tracemalloc
from pathlib import Path
from types import FrameType


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _mallinfo() -> str:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return "mallinfo2: unavailable\n"
    mib = 1024 * 1024
    return (
        f"malloc: arena (heap held) {info.arena / mib:.1f} MiB, mmapped {info.hblkhd / mib:.1f}"
        f" MiB, in use {info.uordblks / mib:.1f} MiB, free in heap {info.fordblks / mib:.1f}"
        f" MiB, releasable top {info.keepcost / mib:.1f} MiB\n"
    )


def _rss() -> str:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile", "Threads"):
            fields[name] = value.strip()
    return " ".join(f"{name} {value}" for name, value in fields.items()) + "\n"


def _holders() -> list[str]:
    """The sizes of the in-process engines' contents."""
    lines = []
    for holder in gc.get_objects():
        kind = type(holder).__name__
        if kind == "MemoryCache":
            entries = holder._entries
            held = sum(len(value) + len(key) for key, (_, value) in entries.items())
            lines.append(
                f"MemoryCache: {len(entries)} entries, {held / 2**20:.1f} MiB of keys and values\n"
            )
        elif kind == "InProcessJobQueue":
            lines.append(
                f"InProcessJobQueue: {len(holder._jobs)} jobs,"
                f" {len(holder._schedule)} scheduled, {len(holder._dead)} dead\n"
            )
        elif kind == "MemoryRateLimiter":
            lines.append(f"MemoryRateLimiter: {len(holder)} keys\n")
        elif kind == "InProcessEventBus":
            lines.append(f"InProcessEventBus: {holder!r}\n")
    connections = sum(1 for o in gc.get_objects() if type(o).__name__ == "Connection")
    lines.append(f"sqlite connections (aiosqlite Connection objects): {connections}\n")
    return lines


def _dump(directory: Path, sequence: int) -> None:
    path = directory / f"{os.getpid()}-{sequence}.txt"
    lines = [_rss(), f"threads {threading.active_count()}\n", f"gc counts {gc.get_count()}\n"]
    lines.extend(_holders())
    lines.append(f"gc stats {gc.get_stats()}\n")
    lines.append(f"frozen {gc.get_freeze_count()}\n")
    lines.append("before full collection: " + _mallinfo())
    objects = gc.get_objects()
    lines.append(f"tracked objects {len(objects)}\n")
    del objects
    # What the full collection frees: reference cycles no young collection reached.
    gc.set_debug(gc.DEBUG_SAVEALL)
    freed = gc.collect()
    cycles = collections.Counter(type(o).__qualname__ for o in gc.garbage)
    gc.garbage.clear()
    gc.set_debug(0)
    gc.collect()
    lines.append(f"full collection freed {freed} objects, by type:\n")
    lines.extend(f"  {count:>9} {name}\n" for name, count in cycles.most_common(25))
    lines.append("after full collection:  " + _mallinfo())
    counts = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
    lines.extend(f"  {count:>9} {name}\n" for name, count in counts.most_common(40))
    path.write_text("".join(lines))
    if tracemalloc.is_tracing():
        tracemalloc.take_snapshot().dump(str(path.with_suffix(".tracemalloc")))


def main() -> None:
    directory = Path(os.environ.get("MEMORY_PROBE_DIR", "."))
    sequence = iter(range(1_000_000))

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        _dump(directory, next(sequence))

    signal.signal(signal.SIGUSR1, on_signal)
    from connecthub.cli import main as connecthub

    sys.argv[0] = "connecthub"
    connecthub()


if __name__ == "__main__":
    main()
