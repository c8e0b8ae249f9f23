# One verb per task, the same everywhere: run, test, lint, fmt.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian's Chromium drives the dashboard's browser tests, and wrk the benchmarks' HTTP load
# (a test walks one benchmark's run path); apt needs root (or sudo).
CHROMIUM := /usr/bin/chromium
WRK      := /usr/bin/wrk
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install run test bench lint fmt lock vendor clean

install: $(STAMP)

# The versions the tests passed with, each file checked against its hash (constraints.txt);
# `make lock` refreshes them. The project itself goes in last, adding nothing.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps -e '.[dev]'
	touch $(STAMP)

run: install ## The whole product on this machine: Temporal, worker, API, outbox (flags: ARGS="...").
	$(BIN)/journeys dev $(ARGS)

test: install $(CHROMIUM) $(WRK) ## Every test: unit, store (SQLite and PostgreSQL), workflow, API, browser, end to end.
	$(BIN)/pytest

bench: install $(WRK) ## The benchmarks of BENCHMARKS.md, its figures rewritten (30 to 40 minutes; run it alone).
	$(BIN)/python -m bench --write BENCHMARKS.md

lint: install ## Style, types, the import contracts of pyproject.toml (the layers), known vulnerabilities.
	$(BIN)/ruff check src tests bench deploy
	$(BIN)/ruff format --check src tests bench deploy
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python deploy/audit.py constraints.txt

fmt: install
	$(BIN)/ruff format src tests bench deploy
	$(BIN)/ruff check --fix src tests bench deploy

$(CHROMIUM) $(WRK):
	$(SUDO) apt-get install -y --no-install-recommends $(@F) \
	  || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $(@F))

# What is installed now, pinned with every file's hash (pip-tools; it reads the registry):
# constraints.txt for development, requirements.lock (the runtime's only) for the image.
lock: install
	$(BIN)/python -m pip freeze --exclude-editable --exclude pip > .pins.txt
	$(BIN)/pip-compile $(LOCK_FLAGS) --output-file constraints.txt .pins.txt
	$(BIN)/pip-compile $(LOCK_FLAGS) --constraint .pins.txt --output-file requirements.lock pyproject.toml
	rm .pins.txt

LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --no-strip-extras --no-emit-index-url --no-emit-find-links

# The editor's browser parts (htmx, CodeMirror 5) from npm into the package, with their
# manifest rewritten; only when upgrading them (src/api/ui/static/vendor/README.md).
vendor:
	$(PYTHON) deploy/vendor.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
