# The two commands of the quick start: `make run` and `make test`. Each sets up what it
# needs (a pinned uv, then the locked dependencies) on a machine with only Python 3.11.
PYTHON ?= python3.11
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Installed packages come with their bytecode, so no process (every test worker and server
# among them) compiles them again, even where PYTHONDONTWRITEBYTECODE is set.
export UV_COMPILE_BYTECODE := 1
# Where the environment says not to write bytecode, pytest re-parses and rewrites every test
# module's asserts in every worker on every run (~8 % of the suite's CPU); empty means unset.
export PYTHONDONTWRITEBYTECODE :=
# Tests spend ~40 % of their time waiting (timers, sockets, child processes starting: see
# .ci/tally.py), so two workers per core keep the cores busy; the longest tests go first
# (tests/support/scheduling.py).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))
# Test servers take ports from TEST_PORT_FLOOR up, a block of 200 per worker
# (tests/servers.py); the browser tests' server takes the first port above the workers'
# blocks, so suites side by side with floors 1,000 apart never meet.
export E2E_PORT ?= $(shell echo $$(( $${TEST_PORT_FLOOR:-10000} + $(TEST_WORKERS) * 200 )))
POSTGRES_TEST_ENV = TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres} \
	TEST_REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}

.PHONY: run test test-fast test-visibility-long test-distributed lint typecheck contracts \
	format setup bytecode translations web web-check web-e2e

# The web app (web/, docs/web-app.md): installed from its lock file, built again only when
# its sources changed (a stamp file), its unit tests and catalog check in `make test`.
WEB_SOURCES := $(shell find web/src web/public web/scripts -type f 2>/dev/null) \
	web/index.html web/package.json web/package-lock.json web/vite.config.ts web/tsconfig.json

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web/.build-stamp: web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run build
	touch $@

web: web/.build-stamp

web-check: web/node_modules/.installed
	cd web && npm run check

# The browser tests (Playwright driving Debian's chromium) against a real server they start.
web-e2e: setup web
	cd web && npm run e2e

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock Makefile | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

setup: $(VENV)/.synced

run: setup web
	$(VENV)/bin/connecthub serve

# Our own code compiled once too (cheap when nothing changed).
bytecode: setup
	$(VENV)/bin/python -m compileall -q src tests

# The whole suite: pytest, and beside it the web app's checks (catalogs, types, Vitest), its
# build and, with Debian's chromium present (its headless shell preferred: web/playwright.config.ts),
# its browser tests (CI installs it: .ci/run).
# The web part is a separate process tree (its own server on its own SQLite file and
# port) that spends most of its ~40-70 s waiting on the server and the browser: run after
# pytest it added that much to the wall time, run beside it ~20 CPU-s. Its output is
# printed when pytest ends; `make test` fails when either part fails. (docs/benchmarks.md,
# "Test suite, 2026-12-05".)
test: bytecode
	@log=$$(mktemp); \
	( $(MAKE) --no-print-directory web-check && \
	  if [ -x /usr/bin/chromium-headless-shell ] || [ -x /usr/bin/chromium ]; then \
	    $(MAKE) --no-print-directory web-e2e; \
	  else echo "web-e2e: Debian's chromium is missing (apt-get install chromium-headless-shell); browser tests not run"; fi \
	) >"$$log" 2>&1 & web=$$!; \
	echo "web app's checks and browser tests started beside pytest (output at the end)"; \
	$(VENV)/bin/pytest -n $(TEST_WORKERS); python=$$?; \
	wait $$web; web_status=$$?; \
	echo "==== the web app's checks, build and browser tests (run beside pytest) ===="; \
	cat "$$log"; rm -f "$$log"; \
	echo "make test: pytest exit $$python, web app exit $$web_status"; \
	[ $$python -eq 0 ] && [ $$web_status -eq 0 ]

# The edit-test loop: everything but the tests marked `slow` (real processes, or over 0.2
# CPU-s or 0.4 s of waiting: tests/conftest.py).
test-fast: bytecode
	$(VENV)/bin/pytest -n $(TEST_WORKERS) -m "not slow"

# The visibility machine's long run: VISIBILITY_EXAMPLES more examples (300 unless set) from
# a random VISIBILITY_SEED, printed so a failure can be run again with the same seed. Its
# parts run 20-60 s each on PostgreSQL (up to ~100 s on a loaded machine); dumping a thread
# while it runs once crashed a worker ("node down", a frame read as `File ???`): here the
# stack dump (faulthandler_timeout, 90 s for the suite) waits until just before the 120 s
# timeout.
test-visibility-long: bytecode
	@seed=$${VISIBILITY_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "visibility machine: VISIBILITY_SEED=$$seed"; \
	VISIBILITY_SEED=$$seed VISIBILITY_EXAMPLES=$${VISIBILITY_EXAMPLES:-300} \
	VISIBILITY_PARTS=$${VISIBILITY_PARTS:-12} \
	$(VENV)/bin/pytest -n auto -o faulthandler_timeout=110 \
	  tests/statuses/test_visibility_invariant.py::test_visibility_invariant

# The same suite on PostgreSQL and Redis (see README: Running on PostgreSQL and Redis).
test-distributed: bytecode
	$(POSTGRES_TEST_ENV) $(VENV)/bin/pytest -n $(TEST_WORKERS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

# The import contracts (pyproject.toml, [tool.importlinter]; ARCHITECTURE.md: Layers), then
# the package-level cycle figure.
contracts: setup
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python .ci/package_cycles.py

# The server's gettext catalogs (docs/web-pages.md): extract the marked messages, merge them
# into each language's .po (new ones untranslated, for a translator), compile the .mo files
# the server loads. Both are committed; tests/core/test_i18n.py fails until every message
# is translated.
LOCALE_DIR := src/connecthub/locale
translations: setup
	$(VENV)/bin/pybabel extract -F babel.cfg --no-location --sort-output \
		--project=ConnectHub --copyright-holder="ConnectHub contributors" \
		-o $(LOCALE_DIR)/messages.pot src
	$(VENV)/bin/pybabel update -D messages -i $(LOCALE_DIR)/messages.pot -d $(LOCALE_DIR) \
		--ignore-obsolete --no-fuzzy-matching --ignore-pot-creation-date
	$(VENV)/bin/pybabel compile -D messages -d $(LOCALE_DIR) --statistics

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
