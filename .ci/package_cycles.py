"""Package-level import cycles in `connecthub`: which top-level packages import each other,
directly or through others. Prints the largest strongly connected component (packages
that all reach each other), the figure the layering work tracks.

    .venv/bin/python .ci/package_cycles.py [SRC_DIR]
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import grimp

TOP = "connecthub"


def top_level(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def components(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            found.append(component)

    for node in list(edges):
        if node not in index:
            visit(node)
    return found


def main() -> None:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "src").resolve()
    sys.path.insert(0, str(src))
    graph = grimp.build_graph(TOP, cache_dir=None)
    packages = {
        top_level(m) for m in graph.modules if m != TOP and (src / TOP / top_level(m)).is_dir()
    }
    edges: dict[str, set[str]] = defaultdict(set)
    for package in packages:
        edges[package]
    for importer in graph.modules:
        a = top_level(importer)
        if a not in packages:
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            b = top_level(imported)
            if b in packages and b != a:
                edges[a].add(b)
    biggest = max(components(edges), key=len)
    print(f"top-level packages: {len(packages)}")
    print(f"largest cycle (strongly connected): {len(biggest)} packages: {sorted(biggest)}")


if __name__ == "__main__":
    main()
