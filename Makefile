# Kontosjef: `make demo` to try it, `make test` to test it, `make check` for the linters.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The first Python >= 3.12 found on PATH or in pyenv's versions.
PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 python3 $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	echo $$p; break; fi; done)

.PHONY: demo test check bench install serve

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then echo "Kontosjef needs Python >= 3.12; none was found." >&2; exit 1; fi
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/kontosjef migrate --no-input
	$(BIN)/kontosjef demo
	@echo
	@echo "Kontosjef is at http://127.0.0.1:8000/ (sign in with a login above; Ctrl-C stops it)"
	$(BIN)/kontosjef serve --host 127.0.0.1 --port 8000

serve: $(STAMP)
	$(BIN)/kontosjef migrate --no-input
	$(BIN)/kontosjef serve

test: $(STAMP)
	$(BIN)/pytest

check: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy src
	$(BIN)/mypy --strict src/kontosjef/engine
	$(BIN)/lint-imports
	DJANGO_SETTINGS_MODULE=kontosjef.settings $(BIN)/python -m django makemigrations --check --dry-run

bench: $(STAMP)
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done
