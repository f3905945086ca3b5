# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export TRENT_DATA_DIR ?= ./var
export TRENT_BIND ?= 127.0.0.1:8080

.PHONY: run test test-under-load lint types contracts policy-tests pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	@$(BIN)/trent init --if-new
	@$(BIN)/trent migrate
	@$(BIN)/trent serve --banner

lint: $(VENV)/.installed
	$(BIN)/ruff check app policies tests bench migrations wsgi.py
	$(BIN)/ruff format --check app policies tests bench migrations wsgi.py

types: $(VENV)/.installed
	$(BIN)/mypy

contracts: $(VENV)/.installed
	$(BIN)/lint-imports setup.cfg

# The shipped policy templates and examples, tested the way policy authors test theirs.
policy-tests: $(VENV)/.installed
	$(BIN)/trent policy test tests/vectors/policy_tests/*.json

pytest: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint types contracts policy-tests pytest

# `make test` while stress-ng keeps both cores busy: the suite must pass on a
# loaded machine (tests wait on conditions, never on the clock). Debian:
# apt-get install stress-ng (.ci/run installs it).
test-under-load: $(VENV)/.installed
	@if ! command -v stress-ng >/dev/null 2>&1; then \
		echo "test-under-load: stress-ng is not installed (Debian: apt-get install stress-ng); skipped"; \
		exit 0; \
	fi; \
	stress-ng --cpu 2 --quiet & load=$$!; \
	trap 'kill $$load 2>/dev/null; exit 130' INT TERM HUP PIPE; \
	echo "test-under-load: stress-ng --cpu 2 (pid $$load) loads both cores"; \
	$(MAKE) test; status=$$?; \
	kill $$load 2>/dev/null; wait $$load 2>/dev/null; \
	exit $$status

$(VENV)/.bench-installed: $(VENV)/.installed setup.cfg
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

# Needs wrk (Debian: apt-get install wrk); the harness says so if it is missing.
bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
