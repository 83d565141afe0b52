# Mailroom: `make up` runs the platform locally, `make test` runs every test.
# The interpreter .venv is built from: see scripts/pick-python.sh (override: PYTHON=...).
PYTHON ?= $(shell scripts/pick-python.sh)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install system-packages up test test-unit lint format bench bench-sender bench-watcher bench-connection bounce-eval schemas clean

install: system-packages $(STAMP)

system-packages:
	@scripts/system-packages.sh

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@# Editable installs are not byte-compiled; short-lived commands such as
	@# `mailroom bounce classify` would otherwise recompile every module on each run.
	$(BIN)/python -m compileall -q shared services
	@touch $(STAMP)

up: install
	$(BIN)/mailroom up

# Exit status 5 means pytest collected nothing: that is a failure here, not a pass.
test: install
	$(BIN)/pytest

test-unit: install
	$(BIN)/pytest tests/unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared services

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schemas: install
	$(BIN)/mailroom schemas export schemas

bench: bench-sender bench-watcher bench-connection bounce-eval

bench-sender: install
	$(BIN)/python bench/bench_sender.py

bench-watcher: install
	$(BIN)/python bench/bench_watcher.py

bench-connection: install
	$(BIN)/python bench/bench_connection_test.py

bounce-eval: install
	@$(BIN)/python -m compileall -q shared services
	$(BIN)/python bench/bounce_eval.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
