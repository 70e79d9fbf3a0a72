# Every target creates or reuses .venv and installs the project itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install example test lint bench clean mutants fuzz-mutants

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## The main job on the bundled examples: validate every fixture and flow.
example: $(STAMP)
	$(BIN)/compat validate fixtures/
	@echo "compat is $(BIN)/compat: run it by that path, or '. $(BIN)/activate' to put it on your PATH"

## The test suite (what CI runs).
test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

## The mutant suite: realistic engine bugs (tests/mutants/catalog.yaml), each run in a fresh
## process through compat check in every mode; fails unless every one is caught.
mutants: $(STAMP)
	$(BIN)/python -m tests.mutants

## compat fuzz alone (no fixtures) against the same mutants, 60 s each: time to first
## divergence and shrunk size (bench/fuzz_mutants.py; results in bench/RESULTS.md).
fuzz-mutants: $(STAMP)
	$(BIN)/python bench/fuzz_mutants.py

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis
