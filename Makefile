# The one task runner: CI calls `make test` exactly as a developer does.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: install install-test lint typecheck test test-only docs schema-snapshot bench bench-smoke run

install:
	$(PIP) install .

run: install
	$(PYTHON) examples/quickstart.py && heron runs list --experiment-id 1

install-test:
	$(PIP) install -e '.[test]'

lint:
	$(PYTHON) -m ruff check src tests scripts bench examples
	$(PYTHON) -m ruff format --check src tests scripts bench examples

typecheck:
	$(PYTHON) -m mypy

test-only:
	$(PYTHON) -m pytest -n 2 --dist loadfile

test: install-test lint typecheck test-only

docs:
	$(PYTHON) scripts/gen_cli_docs.py

# After a migration: regenerate tests/store/schema/*.sql (needs the test database URLs).
schema-snapshot:
	$(PYTHON) scripts/schema_snapshot.py --write

# Heron next to MLflow 3.17.2 (~25 min; builds bench/.venv-mlflow unless given an MLflow
# interpreter: make bench BENCH_ARGS="--mlflow-python /path/bin/python"). See docs/performance.md.
bench:
	$(PYTHON) bench/run.py $(BENCH_ARGS)

bench-smoke:
	$(PYTHON) bench/run.py --smoke $(BENCH_ARGS)
