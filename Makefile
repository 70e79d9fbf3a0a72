# Every target creates or reuses .venv and installs the project itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install example test lint bench clean mutants fuzz-mutants browser postgres screenshots parlant

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## The real Parlant SDK for tests/parlant_sdk (large: ~1 GB, ~90 s): installed by `make test`
## so that the whole suite runs; .ci/run makes its absence a failure, never a skip.
PARLANT_STAMP := $(VENV)/.parlant-installed

$(PARLANT_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,parlant]'
	touch $(PARLANT_STAMP)

parlant: $(PARLANT_STAMP)

## The main job on the bundled examples: check every fixture on both engines and write the
## HTML compatibility report.
example: $(STAMP)
	$(BIN)/compat check fixtures/ --html reports/compat.html --json reports/compat.json
	@echo "report: open reports/compat.html in a browser (one self-contained file)"
	@echo "compat is $(BIN)/compat: run it by that path, or '. $(BIN)/activate' to put it on your PATH"

## The test suite (what CI runs).
test: $(STAMP) $(PARLANT_STAMP) browser postgres
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

## Headless Chromium and its driver for the browser tests (tests/browser), from Debian: installed
## when missing and make runs as root; otherwise this says what to install, and those tests
## fail saying it too (they never skip). Selenium comes with the test extra ($(STAMP)).
CHROMIUM     := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver

browser:
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing headless Chromium for tests/browser: apt-get install chromium chromium-driver"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends chromium chromium-driver; \
	else \
		echo "tests/browser needs $(CHROMIUM) and $(CHROMEDRIVER): run 'sudo apt-get install chromium chromium-driver' (those tests fail until then)"; \
	fi

## A PostgreSQL server for the run history's tests (tests/history start a throwaway one of
## their own), from Debian: installed when missing and make runs as root; otherwise this says
## what to install, and those tests fail saying it too (they never skip).
POSTGRES_INITDB := /usr/lib/postgresql/*/bin/initdb

postgres:
	@if ls $(POSTGRES_INITDB) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing PostgreSQL for tests/history: apt-get install postgresql"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends postgresql; \
	else \
		echo "tests/history needs PostgreSQL's server ($(POSTGRES_INITDB)): run 'sudo apt-get install postgresql' (those tests fail until then)"; \
	fi

## Screenshots of the HTML report in headless Chromium: reports/overview.png, reports/case.png.
screenshots: $(STAMP) browser
	$(BIN)/python -m tests.browser.screenshots

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
