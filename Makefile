# redcolor — the two commands of the quickstart are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/redcolor simulate meron-2024-01-06 --policy all --report meron-report.png

# System packages the tests need (installed only where missing; CI runs as root).
SYSTEM_PACKAGES := chromium nats-server mosquitto

system-deps:
	@bash scripts/system-deps.sh $(SYSTEM_PACKAGES)

test: $(VENV)/.installed-test system-deps
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench scripts

bench: $(VENV)/.installed-test
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
