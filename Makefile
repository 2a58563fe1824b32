# The two commands of the quick start: `make run` and `make test`. Each sets up what it
# needs (a pinned uv, then the locked dependencies) on a machine with only Python 3.11.
PYTHON ?= python3.11
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test test-distributed lint typecheck contracts format setup

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

setup: $(VENV)/.synced

run: setup
	$(VENV)/bin/connecthub serve

test: setup
	$(VENV)/bin/pytest -n auto

# The same suite on PostgreSQL and Redis (see README: Running on PostgreSQL and Redis).
test-distributed: setup
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres} \
	TEST_REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/0} \
	$(VENV)/bin/pytest -n auto

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

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
