# motcua — run `make help` for the list.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)/kit:$(CURDIR)/services/intake:$(CURDIR)/services/routing:$(CURDIR)/services/notification:$(CURDIR)/services/reporting
export PSYCOPG_WAIT_FUNC := wait_select

export PG_URL ?= postgresql://postgres@127.0.0.1:5432
AMQP_URI ?= amqp://guest:guest@127.0.0.1:5672/
export AMQP_URI
export INTAKE_DATABASE_URL ?= $(PG_URL)/motcua_intake
export INTAKE_PORT ?= 8001
export ROUTING_DATABASE_URL ?= $(PG_URL)/motcua_routing
export ROUTING_PORT ?= 8002
export NOTIFICATION_DATABASE_URL ?= $(PG_URL)/motcua_notification
export NOTIFICATION_PORT ?= 8003
export REPORTING_DATABASE_URL ?= $(PG_URL)/motcua_reporting
export REPORTING_PORT ?= 8004
ROLE ?= reception
UNIT ?= 000.00.08.H38
BENCH_DOSSIERS ?= 1000000
BENCH_SUBMISSIONS ?= 2000
BENCH_CONCURRENCY ?= 100

.PHONY: help up down test token lint typecheck logs venv migrate catalogue bench audit-verify

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt
	@python3 -m venv $(VENV)
	@$(VENV)/bin/pip install -q --upgrade pip 'setuptools<82' wheel
	@$(VENV)/bin/pip install -q -r requirements.txt
	@touch $@

venv: $(VENV)/.installed ## create the virtualenv with the pinned dependencies

up: venv ## set up and start the platform in the background, print URLs and a demo token
	@scripts/up.sh

down: ## stop what `make up` started
	@scripts/down.sh

logs: ## follow the services' logs
	@tail -n 50 -F .run/*.log

test: venv ## run every test (needs PostgreSQL and RabbitMQ; see README)
	@scripts/test.sh

token: venv ## print a token from the dev identity provider: make -s token ROLE=reception UNIT=000.00.08.H38 (or USER=tiepnhan.thachbinh)
	@$(PY) -m motcua_kit.devtoken $(if $(filter command line,$(origin USER)),--user $(USER),--role $(ROLE) $(if $(filter-out file,$(origin UNIT)),--unit $(UNIT)))

lint: venv ## ruff and mypy
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy kit/motcua_kit services/intake/intake services/routing/routing services/notification/notification services/reporting/reporting

audit-verify: venv ## recompute every audit chain of the four databases; exit 1 naming the first altered record
	@$(PY) -m motcua_kit.audit verify --database-url "$(INTAKE_DATABASE_URL)" --database-url "$(ROUTING_DATABASE_URL)" --database-url "$(NOTIFICATION_DATABASE_URL)" --database-url "$(REPORTING_DATABASE_URL)"

bench: venv ## measure the whole platform, the framework's floor, intake's reception and reporting's reads (docs/performance.md)
	@$(PY) bench/platform_bench.py --submissions $(BENCH_SUBMISSIONS) --concurrency $(BENCH_CONCURRENCY)
	@$(PY) bench/floor_bench.py
	@$(PY) bench/token_bench.py
	@$(PY) bench/intake_bench.py
	@$(PY) bench/reporting_bench.py --dossiers $(BENCH_DOSSIERS)
