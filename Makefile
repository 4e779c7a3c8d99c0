# docclean — two commands on a fresh machine with Python 3.11 and make:
#   make run    install (core) into .venv if needed, clean seeds/ into ./archive-local
#   make test   install everything (Airflow, dev tools), lint, type-check (mypy --strict on
#               cleaners/ and archive/), and run the whole suite
PYTHON ?= python3
VENV   ?= .venv
UV_VERSION = 0.13.9
ARCHIVE ?= archive-local
# make bench BENCH_ARGS="--mb 20 --jobs 2"; the development corpus is used when it is there
CORPUS ?= ../shared/corpus
BENCH_ARGS ?= --mb 5 --corpus $(CORPUS)
# make bench BENCH_E2E_ARGS="--mb 20 --scales 1,10": end-to-end corpora of that size (issue #16)
BENCH_E2E_ARGS ?= --mb 2 --scales 1,10 --compare-jobs
BIN = $(VENV)/bin
UV  = $(BIN)/uv pip install --quiet --python $(BIN)/python -c constraints.txt

.PHONY: run test bench stress install install-dev clean airflow-up airflow-down browser

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"

# Stamp files make the installs incremental: redone only when the pins or the project change.
$(VENV)/.core: $(BIN)/uv pyproject.toml constraints.txt
	$(UV) -e .
	touch $@

$(VENV)/.full: $(BIN)/uv pyproject.toml constraints.txt
	$(UV) -e ".[dev,airflow]"
	touch $@ $(VENV)/.core

install: $(VENV)/.core
install-dev: $(VENV)/.full

run: $(VENV)/.core
	$(BIN)/docclean run seeds --archive $(ARCHIVE)

# Debian's Chromium and a CJK font, for the test that renders the HTML report in a real browser;
# where apt cannot run, that test skips and says why.
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    chromium fonts-wqy-zenhei >/dev/null; } || echo "make: could not install chromium (the browser test will skip)"; \
	fi

test: $(VENV)/.full browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Pipeline, end to end and per-stage floors (exit 1 below a floor); then near-duplicate
# detection at 10k and 100k paragraphs (skips itself when the corpus is absent); then
# `docclean run` on generated distinct / syndicated / boilerplate corpora at 1× and 10×, next
# to the peer chain (its extra is installed if it can be; the script skips it otherwise). WARC
# reading (issue #18): a run over a generated 50 MB WARC against the same pages as loose files.
bench: $(VENV)/.core
	-$(UV) -e ".[peer]"
	$(BIN)/python scripts/bench_dedup.py $(CORPUS)
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)
	$(BIN)/python scripts/eval_warc.py $(CORPUS) --mb 50
	$(BIN)/python scripts/bench_report.py --docs 10000
	$(BIN)/python scripts/bench_e2e.py $(BENCH_E2E_ARGS)

# Airflow on 127.0.0.1 (scheduler, dag-processor, API server) from .airflow/; README "Airflow".
airflow-up: $(VENV)/.full
	$(BIN)/python scripts/airflow_local.py up

airflow-down:
	$(BIN)/python scripts/airflow_local.py down

# Heavy reliability figures (issue #23): peak memory per hostile kind at the default limits,
# 1 GiB / 50 MB inputs, 10,000 near-identical texts in one run, 5,000 raced lock trials, 25
# kill -9 moments.
stress: $(VENV)/.full
	$(BIN)/python scripts/stress.py $(STRESS_ARGS)

clean:
	rm -rf $(ARCHIVE) bench-out .pytest_cache
