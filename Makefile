# redcolor — the two commands of the quickstart are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean system-deps preflight-demo preflight-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# What each target needs from the machine, checked first: one line per missing thing, exit 2.
preflight-demo:
	@PYTHON=$(PYTHON) bash scripts/preflight.sh demo

preflight-test: system-deps
	@PYTHON=$(PYTHON) bash scripts/preflight.sh test

demo: preflight-demo $(VENV)/.installed
	$(BIN)/redcolor simulate meron-2024-01-06 --policy all --report meron-report.png

# Debian packages the tests need, as PACKAGE:COMMAND: installed only where the command is
# missing (CI runs as root). Services: the MQTT tests use the machine's Mosquitto on
# 127.0.0.1:1883, the store tests the machine's PostgreSQL on 127.0.0.1:5432 (user postgres,
# trust auth; the fault tests run PostgreSQL 15 servers of their own); nothing uses Redis or
# RabbitMQ. `make demo` needs no PostgreSQL: its store is SQLite, in the process.
SYSTEM_PACKAGES := chromium:/usr/bin/chromium nats-server:nats-server mosquitto:mosquitto \
	nodejs:node npm:npm postgresql-15:/usr/lib/postgresql/15/bin/initdb

system-deps:
	@bash scripts/system-deps.sh $(SYSTEM_PACKAGES)

# The suite runs a worker per core (pytest-xdist); the README gives the times measured.
test: preflight-test $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/python -m pytest --numprocesses auto

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench scripts

bench: $(VENV)/.installed-test
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
