"""The server processes of a `connecthub serve --workers N` (serving.py): children of its
fork server, itself a child of the supervisor, read from /proc."""

from __future__ import annotations

import os
from pathlib import Path


def _children(parent: int) -> list[tuple[int, bytes]]:
    """(pid, command line) of each process whose parent is `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The parent pid is the second field after the parenthesised command name.
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append((int(entry.name), (entry / "cmdline").read_bytes()))
        except (OSError, IndexError, ValueError):
            continue  # exited meanwhile
    return found


def fork_servers(supervisor: int) -> list[int]:
    """The fork server `supervisor` started its server processes from (none before the
    first; one after)."""
    return [
        pid for pid, command in _children(supervisor) if b"multiprocessing.forkserver" in command
    ]


def server_processes(supervisor: int) -> set[int]:
    """The pids of the server processes `supervisor` runs (its resource tracker and the
    fork server itself left out)."""
    return {pid for server in fork_servers(supervisor) for pid, _ in _children(server)}


def cpu_seconds(pid: int) -> float:
    """The CPU time a process has used (user and system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def environment(pid: int) -> dict[str, str] | None:
    """A process's environment; None once it has exited."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    pairs = [item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item]
    return {key.decode(): value.decode() for key, value in pairs}
