# Two commands on a fresh machine: `make run` (the window) and `make test` (the suite).
# Both create .venv first when it is missing or older than pyproject.toml.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: the CPU wheel of 2.13.0; an unpinned torch pulls a CUDA build.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/bert-explorer

lint: $(STAMP)
	$(BIN)/ruff check explorer tests
	$(BIN)/lint-imports
	$(BIN)/mypy

test: $(STAMP) lint
	HF_HUB_OFFLINE=1 QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m explorer.bench

clean:
	rm -rf $(VENV) build dist .pytest_cache bench-results.json
