# Science of Deep Learning: Theory Meets Experiment.
#   make book    set up .venv, build the HTML book into _build/html (warnings are errors)
#   make test    set up .venv (and headless Chromium), run the whole test suite, full build included
#   make paper PAGES="book/part1/vanishing-gradients.md"   run pages at the paper scale -> results/
#   make bench   measure cold, no-change and one-page rebuilds -> benchmarks/results.json
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BOOK_FLAGS := -W -n --keep-going
PAGES ?=

.PHONY: book test paper bench lint clean preview browser-deps

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

book: $(STAMP)
	@# Execute changed pages in parallel into the cache first (1.7x faster cold, measured); a page
	@# that fails there is executed again by the build, which then names the failing cell.
	-$(BIN)/python scripts/execute_parallel.py
	$(BIN)/jupyter-book build . $(BOOK_FLAGS)
	@echo "The book is in $(CURDIR)/_build/html/index.html (preview: make preview)"

preview:
	$(BIN)/python -m http.server -d _build/html 8000

# Headless Chromium for tests/test_browser.py: Debian's package (GitHub's runners have Chrome).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

test: $(STAMP) browser-deps
	$(BIN)/ruff check lib tests scripts benchmarks book/_ext
	$(BIN)/python -m pytest -q -ra

paper: $(STAMP)
	$(BIN)/python scripts/run_pages.py --scale paper $(PAGES)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf _build results book/api
