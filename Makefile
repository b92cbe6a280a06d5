# Everyday commands. Everything runs from the project's own virtualenv, so `make install`
# comes first on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install dev test lint format schema schema-compat migrate bench

install:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e '.[dev]'

# API and both workers, with embedded PostgreSQL/Redis/Temporal unless their URLs are set.
dev:
	$(BIN)/torale dev

test:
	$(BIN)/pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The GraphQL contract as SDL, for clients and for reviewing schema changes in diffs.
schema:
	$(BIN)/python -m torale.graphql.export schema.graphql

# Breaking (and dangerous) changes against the released schema, infra/graphql/.
schema-compat:
	$(BIN)/python -m torale.graphql.compat

migrate:
	$(BIN)/torale migrate

# Each bench/*.py is a standalone script; the first failure stops the run.
bench:
	@set -e; for script in bench/*.py; do \
		[ -e "$$script" ] || continue; \
		echo "== $$script"; \
		$(BIN)/python "$$script"; \
	done
