# Everyday commands. Everything runs from the project's own virtualenv, so `make install`
# comes first on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install dev test lint typecheck format schema schema-compat migrate bench bench-asgi

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

# mypy over torale/ and workers/, as configured in pyproject.toml ([tool.mypy]).
typecheck:
	$(BIN)/mypy

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

# The task list over real sockets (bench/README.md): bare handler vs torale REST vs
# /graphql, with wrk when it can be had (installed from apt when we run as root),
# else bench/loadgen.py. BENCH_ARGS passes options, e.g. BENCH_ARGS="--rounds 6".
# Idle RSS is measured as deployed: torale with its runtime dependencies only, as
# infra/Dockerfile installs them (no test tools, no tracing extra), in a venv of its own,
# rebuilt when pyproject.toml changes.
DEPLOYED_VENV := bench/.deployed-venv

# Like the image, it holds the bytecode for the API's `python -OO` (pip compiles level 0
# only; without it each start compiles ~1,100 modules from source when, as in the image,
# PYTHONDONTWRITEBYTECODE is set). The `-` as in infra/Dockerfile: a few dependency files
# are for newer Pythons only.
$(DEPLOYED_VENV)/bin/torale: pyproject.toml
	test -x $(DEPLOYED_VENV)/bin/python || $(PYTHON) -m venv $(DEPLOYED_VENV)
	$(DEPLOYED_VENV)/bin/pip install -q -e .
	-$(DEPLOYED_VENV)/bin/python -m compileall -q -o 2 \
		"$$($(DEPLOYED_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" >/dev/null
	touch $@

bench: $(DEPLOYED_VENV)/bin/torale
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get install -y -q wrk >/dev/null 2>&1; } || echo "wrk unavailable: using bench/loadgen.py"
	$(BIN)/python bench/run.py --deployed-python $(DEPLOYED_VENV)/bin/python $(BENCH_ARGS)

# The same comparison in one process over ASGI (no sockets): layers only.
bench-asgi:
	$(BIN)/python bench/task_list.py
