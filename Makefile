# `make run` sets up .venv and runs the quick suite; `make test` sets it up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= dev,embeddings,ray,postgres

.PHONY: install run test lint report ui clean

$(BIN)/dlvsml: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable '.[$(EXTRAS)]'
	touch $@

install: $(BIN)/dlvsml

run: install
	$(BIN)/dlvsml run experiments/quick.yaml

test: install
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/python -m pytest -q -p no:cacheprovider -n 2 tests

lint: install
	$(BIN)/ruff check dlvsml tests benchmarks
	$(BIN)/ruff format --check dlvsml tests benchmarks

ui: install
	$(BIN)/dlvsml ui

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
