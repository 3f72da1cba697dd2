# One entry point for set-up, tests and the demo. Every target creates what it needs.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint typecheck check demo sandbox clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check ordergraph tests bench
	$(BIN)/ruff format --check ordergraph tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

sandbox: $(STAMP)
	$(BIN)/ordergraph sandbox --port $${PORT:-8900}

demo: $(STAMP)
	$(BIN)/ordergraph demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
