"""Imported, for its effect, by the processes that fork servers: the fork server of `serve
--workers` (serving.py, its preload) and the test suite's preloaded process
(tests/support/zygote.py). It imports the app (the fork server preloads `connecthub.serving`
after it), and:

- compiles the included routes. FastAPI builds each one's state (parameter models,
  response fields, routing contexts) on a process's first request: 0.3-0.45 s of CPU for
  ours on this machine, paid again by every server process forked before it, on the first
  request it served, and by every replacement of one. Built here before the forks, they
  all inherit it (docs/benchmarks.md, "Routes compiled before the fork");
- pauses the collector while it imports and compiles: that makes over a million objects
  that live as long as the process, and with the collector's passes over them as they were
  made a fresh fork server's preload took 3.0-3.2 CPU-s, without 1.8-1.9. Then it freezes
  them, as Python's documentation advises before forking (a forked process's collections
  never walk them, nor write to their pages), and turns the collector on again if it paused
  it (serving.ServeConfig.load pauses it the same way for a single server process)."""

import gc

paused_here = gc.isenabled()  # the suite's preloaded process has paused it already
gc.disable()
try:
    import connecthub.app  # noqa: F401  (for its effect: the app, imported once for the forks)
    from connecthub.routes import compile_included_routes

    compile_included_routes()
finally:
    gc.freeze()
    if paused_here:
        gc.enable()
