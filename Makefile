# One entry point for set-up, tests and the demo. Every target creates what it needs.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# npm ci writes node_modules/.package-lock.json: it is the stamp of the npm install.
NPM_STAMP := node_modules/.package-lock.json

.PHONY: install test test-fast lint typecheck check demo sandbox clean vendor-graphiql

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# GraphiQL's browser files, pinned in package.json. Only `make vendor-graphiql` and the
# tests that check the vendored copies need them: the package serves its own copies.
$(NPM_STAMP): package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $(NPM_STAMP)

# JavaScript test tools run against a live gateway (tests/js: the graphql-http audit).
JS_TESTS_STAMP := tests/js/node_modules/.package-lock.json
$(JS_TESTS_STAMP): tests/js/package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --prefix tests/js
	touch $(JS_TESTS_STAMP)

install: $(STAMP) $(NPM_STAMP) $(JS_TESTS_STAMP)

# The suite runs in parallel, one pytest-xdist worker per core (PYTEST_WORKERS=0: in
# this process). A test file is the unit a worker takes (--dist loadfile): a module's
# shared fixtures (the demo process, the private PostgreSQL of the fault scenarios)
# start once, and its tests run in order. (Not loadgroup: with pytest 9.2, xdist 3.8
# no longer sees xdist_group marks.) Across files, tests keep apart by themselves.
PYTEST_WORKERS ?= auto
PYTEST_PARALLEL = -n $(PYTEST_WORKERS) --dist loadfile

test: $(STAMP) $(NPM_STAMP) $(JS_TESTS_STAMP)
	$(BIN)/pytest $(PYTEST_PARALLEL) --durations=20 $(PYTEST_ARGS)

# The inner loop: everything but the slow, fault and fuzz tests, stopping at the first failure.
test-fast: $(STAMP) $(NPM_STAMP) $(JS_TESTS_STAMP)
	$(BIN)/pytest $(PYTEST_PARALLEL) -x -m "not slow and not faults and not fuzz" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check ordergraph tests bench
	$(BIN)/ruff format --check ordergraph tests bench
	$(BIN)/lint-imports
	$(BIN)/vulture

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

sandbox: $(STAMP)
	$(BIN)/ordergraph sandbox --port $${PORT:-8900}

demo: $(STAMP)
	$(BIN)/ordergraph demo

# Copy the files Strawberry's GraphiQL page loads from node_modules into the package
# (ordergraph/graphiql/assets/, committed, shipped in the wheel) with their manifest;
# refuses if an npm package is not the version or bytes the page pins.
vendor-graphiql: $(STAMP) $(NPM_STAMP)
	$(BIN)/python -m ordergraph.graphiql.vendor --node-modules node_modules --dest ordergraph/graphiql/assets

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules tests/js/node_modules build dist
