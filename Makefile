# Science of Deep Learning: Theory Meets Experiment.
#   make book    set up .venv, build the HTML book into _build/html (warnings are errors)
#   make test    set up .venv (and headless Chromium), run the whole test suite, full build included
#   make pdf     the whole book as one PDF, printed from the built site -> _build/html/science-of-deep-learning.pdf
#   make paper PAGES="book/part1/vanishing-gradients.md"   run pages at the paper scale -> results/
#                (several pages fan out over a Dask LocalCluster; WORKERS=N, or DASK_SCHEDULER_ADDRESS)
#   make bench   measure cold, no-change and one-page rebuilds -> benchmarks/results.json
#   make lock    recompile requirements.txt and requirements-dev.txt from the .in files
#   make mutants MUTATE="bounds linear"   mutation testing of lib (all modules by default; hours)
#   PYTHON=/path/to/python3.x picks the interpreter (3.11.0 to 3.13); by default the first of
#   python3, python3.13, python3.12, python3.11 that is one of those.
#   TORCH_INDEX=URL takes torch from another index (default: PyTorch's CPU builds, a few hundred MB
#   instead of several GB of CUDA libraries; e.g. .../whl/cu130 for make paper on a GPU, in a
#   fresh .venv); TORCH_INDEX= (empty) takes the default index's build.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
SUPPORTED := import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
  command -v $$p >/dev/null 2>&1 && $$p -c '$(SUPPORTED)' 2>/dev/null && { echo $$p; break; }; \
  done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
PAGES ?=

.PHONY: book pdf test unit launch-check paper bench lint clean preview browser-deps lock mutants

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "No Python 3.11-3.13 found: install one (Debian 12/Ubuntu 24.04: sudo apt install python3 python3-venv) or pass PYTHON=/path/to/python3.x." >&2; exit 1; }
	@$(PYTHON) -c '$(SUPPORTED)' || { echo "$(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); the book needs 3.11 to 3.13: install one or pass PYTHON=/path/to/python3.x." >&2; exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { echo "$(PYTHON) cannot create virtual environments: install its venv module (Debian/Ubuntu: sudo apt install python3-venv) or pass another PYTHON=." >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# torch first, from TORCH_INDEX; where that index cannot be reached (an offline mirror), the
	@# next line takes the pinned torch from the default index instead.
	$(if $(TORCH_INDEX),$(BIN)/python -m pip install --quiet --retries 1 --timeout 15 \
	  --index-url $(TORCH_INDEX) "$$(grep -m1 '^torch==' requirements.txt)" 2>/dev/null \
	  || echo "$(TORCH_INDEX) not reachable: torch comes from the default index")
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

book: $(STAMP)
	@# Execute changed pages in parallel into the cache first (1.7x faster cold, measured); a page
	@# that fails there is executed again by the build, which then names the failing cell.
	-$(BIN)/python scripts/execute_parallel.py
	$(BIN)/python scripts/build_book.py
	@echo "The book is in $(CURDIR)/_build/html/index.html (preview: make preview)"

# The whole book as one PDF, each page printed by the browser tests' Chromium from the built site.
pdf: book browser-deps
	$(BIN)/python scripts/build_pdf.py

preview:
	$(BIN)/python -m http.server -d _build/html 8000

# Headless Chromium for tests/test_browser.py: Debian's package (GitHub's runners have Chrome).
browser-deps: $(STAMP)
	@$(BIN)/python scripts/chromium.py >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

test: $(STAMP) browser-deps
	$(BIN)/ruff check lib tests scripts benchmarks book/_ext
	$(BIN)/python -m pytest -q -ra

# The fast tests: lib, scripts and configuration, no build, no browser, no fresh environments.
unit: $(STAMP)
	$(BIN)/python -m pytest -q -ra -m "not build and not browser and not launch and not network"

# Every page run whole the way Colab runs it: a fresh venv, `pip install .`, the converted
# notebook (make test runs the set-up cells and one chapter; this runs everything).
launch-check: $(STAMP)
	$(BIN)/python scripts/launch_check.py

WORKERS ?=
paper: $(STAMP)
	@# The summary (results/paper-summary.json, committed) is updated even when a page failed.
	$(BIN)/python scripts/run_pages.py --scale paper $(if $(WORKERS),--workers $(WORKERS)) $(PAGES); \
	status=$$?; $(BIN)/python scripts/paper_summary.py; exit $$status

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

# Plant small bugs in lib/dlscience one at a time (mutmut) and count those the tests catch; the
# score per module is printed at the end (scripts/mutants.py score; it fails below 85 %).
MUTATE ?=
mutants: $(STAMP)
	rm -rf mutants
	$(BIN)/python scripts/mutants.py run --max-children $$(nproc) $(foreach m,$(MUTATE),"dlscience.$(m).*")
	$(BIN)/python scripts/mutants.py score

# torch's CUDA-only dependencies are left out of the lock: the book installs torch's CPU build.
CUDA_ONLY := cuda-bindings cuda-pathfinder cuda-toolkit nvidia-cublas nvidia-cuda-cupti \
  nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand \
  nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-nccl-cu13 nvidia-nvjitlink \
  nvidia-nvshmem-cu13 nvidia-nvtx triton
LOCK := uv pip compile --quiet --universal --python-version 3.11 $(addprefix --no-emit-package ,$(CUDA_ONLY))
lock:
	@command -v uv >/dev/null 2>&1 || { echo "make lock needs uv (pip install uv, or .venv/bin/uv after make test)" >&2; exit 1; }
	$(LOCK) requirements.in -o requirements.txt
	$(LOCK) requirements-dev.in -o requirements-dev.txt

clean:
	rm -rf _build results book/api
