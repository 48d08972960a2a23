# Two commands for a fresh machine (see README):
#   make demo   set everything up, run the main jobs and one webhook event on the simulators
#   make test   run the whole test suite
# and `make ui` for the Airflow UI on the demo's data (until Ctrl-C).
SHELL := /bin/bash
ROOT := $(abspath .)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin

export AIRFLOW_HOME ?= $(ROOT)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(ROOT)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(ROOT)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export PYTHONPATH := $(ROOT):$(ROOT)/plugins

.PHONY: install test-deps demo ui test lint format clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-deps -r requirements.txt
	$(BIN)/pip check
	touch $@

install: $(VENV)/.installed

# System tools of the distributed test (tests/distributed/): Redis as the Celery broker, the
# PostgreSQL client, and Debian's Chromium with its matching ChromeDriver for the browser check
# (never a browser download). Idempotent: apt-get runs only when a tool is missing.
test-deps:
	@command -v redis-server >/dev/null && command -v psql >/dev/null \
	  && command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    redis-server postgresql-client chromium chromium-driver; }

demo: install
	$(BIN)/python -m scripts.demo

# The Airflow UI (api-server, scheduler, dag-processor, triggerer) and the simulators on the
# demo's data, until Ctrl-C; runs the demo first when there is no demo data yet.
ui: install
	$(BIN)/python -m scripts.demo.ui

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install test-deps lint
	$(BIN)/python -m pytest $(PYTEST_ARGS) || { rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests (exit 5): failing on purpose" >&2; fi; exit $$rc; }

clean:
	rm -rf $(VENV) $(ROOT)/.airflow $(ROOT)/.airflow-test .pytest_cache
