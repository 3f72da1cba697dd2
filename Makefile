# One entry point for set-up, tests and the demo. Every target creates what it needs.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# npm ci writes node_modules/.package-lock.json: it is the stamp of the npm install.
NPM_STAMP := node_modules/.package-lock.json

.PHONY: install test lint typecheck check demo sandbox clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# GraphiQL's browser assets, served by ordergraph/graphiql.py instead of a CDN.
$(NPM_STAMP): package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $(NPM_STAMP)

# JavaScript test tools run against a live gateway (tests/js: the graphql-http audit).
JS_TESTS_STAMP := tests/js/node_modules/.package-lock.json
$(JS_TESTS_STAMP): tests/js/package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --prefix tests/js
	touch $(JS_TESTS_STAMP)

install: $(STAMP) $(NPM_STAMP) $(JS_TESTS_STAMP)

test: $(STAMP) $(NPM_STAMP) $(JS_TESTS_STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check ordergraph tests bench
	$(BIN)/ruff format --check ordergraph tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

sandbox: $(STAMP)
	$(BIN)/ordergraph sandbox --port $${PORT:-8900}

demo: $(STAMP) $(NPM_STAMP)
	$(BIN)/ordergraph demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules tests/js/node_modules
