# fsm-monitor — `make help` lists the targets. Every target installs what it needs first.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)

export FSM_PROJECT_ROOT := $(CURDIR)
export PYTHONPATH := $(CURDIR)/plugins
# the dev tooling (synthetic source, local runner, benchmark) lives apart from the runtime: dev/fsm_dev
DEV := PYTHONPATH=$(CURDIR)/plugins:$(CURDIR)/dev
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER ?= $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER ?= $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES ?= False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN ?= sqlite:///$(AIRFLOW_HOME)/airflow.db
export PIP_DISABLE_PIP_VERSION_CHECK := 1
IMPORT_CHECK := import airflow, great_expectations, pgserver, stdnum, psycopg, pytest, playwright

.DEFAULT_GOAL := help
.PHONY: help install airflow-db run ui month backfill what-if test test-fast lint fix up down clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing $(VENV) from requirements.txt and requirements-dev.txt …"
	@$(PY) -m pip install -q --upgrade pip 2>&1 | grep -v 'is ignored' || true
	@$(PY) -m pip install -q -r requirements-dev.txt 2>&1 | grep -v 'is ignored' || true
	@# fail loudly if the install did not take (quietly if it did: importing GX logs a page)
	@$(PY) -c "$(IMPORT_CHECK)" >/dev/null 2>&1 || $(PY) -c "$(IMPORT_CHECK)"
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP) ## Create .venv from requirements.txt + requirements-dev.txt (idempotent: a second call installs nothing)

$(AIRFLOW_HOME)/.migrated: $(STAMP)
	@mkdir -p $(AIRFLOW_HOME)
	@echo "migrating Airflow's metadata database ($(AIRFLOW_HOME)) …"
	@$(VENV)/bin/airflow db migrate > $(AIRFLOW_HOME)/migrate.log 2>&1 || { tail -20 $(AIRFLOW_HOME)/migrate.log; exit 1; }
	@touch $@

airflow-db: $(AIRFLOW_HOME)/.migrated ## Migrate the project-local Airflow metadata DB (.airflow/)

run: airflow-db ## Synthetic landing zone (unless FSM_LANDING) → 2017-08…2021-12 through Airflow: 2017-08, the history in one backfill, the last 3 months one by one
	@$(DEV) $(PY) -m fsm_dev.run --synthetic 2017-08 $(or $(LAST),2021-12) --history --log $(AIRFLOW_HOME)/make-run.log

ui: airflow-db ## Airflow's UI on the project's own metadata, with the runs of make run: prints the URL and a login; Ctrl-C stops it [FSM_UI_PORT=8080]
	@$(DEV) $(PY) -m fsm_dev.ui

month: airflow-db ## One month through Airflow on the FSM_* settings: make month MONTH=YYYY-MM
	@test -n "$(MONTH)" || { echo "usage: make month MONTH=YYYY-MM"; exit 2; }
	$(DEV) $(PY) -m fsm_dev.run $(MONTH)

backfill: airflow-db ## 2017-08 … MONTH in one set-based pass: make backfill MONTH=2019-12
	$(DEV) $(PY) -m fsm_dev.run $(or $(MONTH),2019-12) --backfill

.PHONY: calibration
calibration: airflow-db ## National synthetic world → backfill to 2019-12 → report totals beside STAR's figures; fails if off [SCALE=national] [CHECK=1: check the warehouse only]
	$(DEV) $(PY) -m fsm_dev.calibration $(if $(SCALE),--scale $(SCALE)) $(if $(CHECK),--check)

what-if: airflow-db ## Month M under rule overrides, beside the official figures: make what-if MONTH=2018-03 NAME=strict RULES='{"activity_threshold_pct": 45}'
	@test -n "$(MONTH)" -a -n "$(NAME)" -a -n '$(RULES)' || { echo "usage: make what-if MONTH=YYYY-MM NAME=name RULES='{\"activity_threshold_pct\": 45}'"; exit 2; }
	$(DEV) $(PY) -m fsm_dev.run $(MONTH) --what-if $(NAME) --rules '$(RULES)'

test: airflow-db ## Run every test (real PostgreSQL: FSM_TEST_PG_URL or 127.0.0.1:5432, else embedded)
	$(PY) -m pytest -q

test-fast: airflow-db ## Tests without the slow whole-DAG runs
	$(PY) -m pytest -q -m "not slow"

stack-test: $(STAMP) ## The compose stack as native processes, LocalExecutor then CeleryExecutor (2 workers, one SIGKILLed mid-task) [EXECUTOR=CeleryExecutor]
	@mkdir -p build/stack-test  # its own --basetemp: other pytest sessions' tmp rotation cannot reach a running stack
	$(PY) -m pytest -q -s --stack --basetemp=build/stack-test/tmp tests/stack $(if $(EXECUTOR),-k $(EXECUTOR))

.PHONY: bench stack-test
bench: $(STAMP) ## Cold month run vs Airflow overhead vs COPY floor, backfill, RSS: make bench [SCALE=small (default FSM_BENCH_SCALE or national)] [PROFILE=1]
	$(DEV) $(PY) -m fsm_dev.bench $(if $(SCALE),--scale $(SCALE)) $(if $(PROFILE),--profile)

lint: $(STAMP) ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fix: $(STAMP) ## ruff fix and format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

up: ## Start the docker-compose stack (needs a Docker engine and a .env from .env.example)
	@test -f .env || { echo "no .env: copy .env.example to .env and fill in the secrets"; exit 2; }
	mkdir -p reports data/landing
	docker compose up -d --build

down: ## Stop the docker-compose stack
	docker compose down

clean: ## Remove generated data, reports and the Airflow home (keeps .venv)
	rm -rf data reports .airflow
