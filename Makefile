# PAHT Gateway. `make run` serves the embedded default; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-test lint migrate seed nlu-model bench clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

migrate: install
	$(BIN)/paht db upgrade

seed: migrate
	$(BIN)/paht seed

nlu-model: install
	$(BIN)/paht nlu train

run: seed nlu-model
	$(BIN)/paht serve --host $(HOST) --port $(PORT)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy bot nlu channels

test: lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/nlu.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
