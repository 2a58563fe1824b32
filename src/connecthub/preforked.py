"""Imported, for its effect, by the processes that fork servers: the fork server of `serve
--workers` (serving.py, its preload) and the test suite's preloaded process
(tests/support/zygote.py). It imports the app (the fork server preloads `connecthub.serving`
after it), and:

- compiles the included routes. FastAPI builds each one's state (parameter models,
  response fields, routing contexts) on a process's first request: 0.3-0.45 s of CPU for
  ours on this machine, paid again by every server process forked before it, on the first
  request it served, and by every replacement of one. Built here before the forks, they
  all inherit it (docs/benchmarks.md, "Routes compiled before the fork");
- pauses the collector while it imports: the import makes over a million objects that
  live as long as the process, and the collector's passes over them as they were made
  were ~20 % of a fresh fork server's start (0.66 of 3.2 CPU-s). Then it freezes them, as
  Python's documentation advises before forking: a forked process's collections never
  walk them, nor write to their pages (serving.ServeConfig.load does the same for a
  single server process)."""

import gc

gc.disable()
try:
    import connecthub.app
    from connecthub.routes import compile_included_routes

    compile_included_routes()
finally:
    gc.freeze()
    gc.enable()

__all__ = ["connecthub"]
