"""Imported, for its effect, by the processes that fork servers: the fork server of `serve
--workers` (serving.py, its preload) and the test suite's preloaded process
(tests/support/zygote.py).

FastAPI builds each included route's state (parameter models, response fields, routing
contexts) on a process's first request: 0.3-0.45 s of CPU for ours on this machine,
paid again by every server process forked before it, on the first request it served, and
by every replacement of one. Built here before the forks, they all inherit it
(docs/benchmarks.md, "Routes compiled before the fork")."""

from connecthub.routes import compile_included_routes

compile_included_routes()
