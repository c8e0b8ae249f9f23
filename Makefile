# One verb per task, the same everywhere: run, test, lint, fmt.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian's Chromium drives the dashboard's browser tests; apt needs root (or sudo).
CHROMIUM := /usr/bin/chromium
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install run test lint fmt lock clean

install: $(STAMP)

# Pinned to the versions the tests passed with (constraints.txt); `make lock` refreshes them.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: install ## The whole product on this machine: Temporal, worker, API, outbox.
	$(BIN)/journeys dev

test: install $(CHROMIUM) ## Every test: unit, store (SQLite and PostgreSQL), workflow, API, browser, end to end.
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

$(CHROMIUM):
	$(SUDO) apt-get install -y --no-install-recommends chromium \
	  || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium)

lock: install
	$(BIN)/python -m pip freeze --exclude-editable --exclude pip > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
