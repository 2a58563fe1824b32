"""Imported, for its effect, by the processes that fork servers: the fork server of `serve
--workers` (serving.py, its preload) and the test suite's preloaded process
(tests/support/zygote.py).

FastAPI builds each included route's state (parameter models, response fields, routing
contexts) on a process's first request: ~0.25 s of CPU for ours (~0.44 s on a slow hour),
paid again by every server process forked before it, on the first request it served, and
by every replacement of one. Built here before the forks, they all inherit it
(docs/benchmarks.md, "Routes compiled before the fork")."""

from connecthub.routes import compile_included_routes

compile_included_routes()
