# One verb per task, the same everywhere: run, test, lint, fmt.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian's Chromium drives the dashboard's browser tests, and wrk the benchmarks' HTTP load;
# apt needs root (or sudo).
CHROMIUM := /usr/bin/chromium
WRK      := /usr/bin/wrk
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install run test bench lint fmt lock clean

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

bench: install $(WRK) ## The benchmarks of BENCHMARKS.md, its figures rewritten (about 30 minutes; run it alone).
	$(BIN)/python -m bench --write BENCHMARKS.md

lint: install ## Style, types, and the import contracts of pyproject.toml (the layers).
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

$(CHROMIUM) $(WRK):
	$(SUDO) apt-get install -y --no-install-recommends $(@F) \
	  || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $(@F))

lock: install
	$(BIN)/python -m pip freeze --exclude-editable --exclude pip > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
