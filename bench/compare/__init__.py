"""bench/compare: ConnectHub side by side with GoToSocial and a bare ASGI app (issue 26).
The entry point is bench/compare.py; docs/benchmarks.md has its figures."""
