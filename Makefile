# Crocevia: `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export CROCEVIA_DATA_DIR ?= $(CURDIR)/var

.PHONY: run install test test-sqlite test-postgres lint bench screenshots clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/crocevia migrate
	$(BIN)/crocevia demo
	$(BIN)/crocevia serve --emulator

# Runs the suite on SQLite, and on PostgreSQL too when it answers at 127.0.0.1:5432.
test: install
	@if $(BIN)/python scripts/pg_available.py; then \
		echo "== PostgreSQL reachable: the suite runs on SQLite and on PostgreSQL"; \
		export CROCEVIA_TEST_DATABASES=sqlite,postgres; \
	else \
		echo "== PostgreSQL NOT reachable at 127.0.0.1:5432: SKIPPING the PostgreSQL run (SQLite only)"; \
		export CROCEVIA_TEST_DATABASES=sqlite; \
	fi; \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy

bench: install
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python -m bench

screenshots: install
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
