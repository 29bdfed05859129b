# The credit platform's everyday commands. `make help` lists them.
# Everything runs from the repository's virtualenv (.venv), created on first use.

SHELL := bash
.DEFAULT_GOAL := help

VENV         ?= .venv
VENV_PYTHON  := $(VENV)/bin/python
# Interpreter that creates the venv: python3.11 when available.
BASE_PYTHON  ?= $(shell command -v python3.11 || command -v python3)
DEVSTACK     := $(VENV_PYTHON) -m common.devstack
DEVSTACK_DIR ?= .devstack
# Reinstall only when what is installed changed.
INSTALLED    := $(VENV)/.installed
REQUIREMENTS := $(wildcard requirements/*.txt) common/pyproject.toml

.PHONY: help venv run test tools api-key bench bench-tools clean clean-data

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-10s %s\n", $$1, $$2 }'

venv: $(INSTALLED) ## create .venv and install the requirements (only when they changed)

$(INSTALLED): $(REQUIREMENTS)
	@test -x $(VENV_PYTHON) || { test -n "$(BASE_PYTHON)" || { echo "python3.11 or python3 is needed to create $(VENV)" >&2; exit 1; }; \
	  $(BASE_PYTHON) -m venv $(VENV); }
	$(VENV_PYTHON) -m pip install --quiet -r requirements/test.txt
	# "compat" puts common/ on sys.path, so `import common` finds the package even from the repo root
	# (where the common/ folder would otherwise shadow it as an empty namespace package).
	$(VENV_PYTHON) -m pip install --quiet --config-settings editable_mode=compat -e common
	@touch $@

run: venv ## run both services locally (embedded Postgres/Redis/Kafka unless POSTGRES_URL, REDIS_URL, KAFKA_BOOTSTRAP_SERVERS)
	$(DEVSTACK) run

test: venv tools lint ## run every test suite against throw-away backing services (extra pytest args: ARGS=...)
	$(DEVSTACK) exec -- tests/run $(ARGS)

lint: venv ## check the code with ruff (ruff.toml), which way its imports point (.importlinter) and bandit (bandit.yaml)
	$(VENV)/bin/ruff check .
	PYTHONPATH=common:user_manager:credit_manager $(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/bandit -q -c bandit.yaml -r common user_manager credit_manager bench
	$(VENV)/bin/bandit -q -c tests/bandit.yaml -r tests

tools: ## install system tools the tests need (docker-compose; Debian's chromium for the browser tests), if missing
	@missing=""; \
	  command -v docker-compose >/dev/null 2>&1 || missing="$$missing docker-compose"; \
	  test -x /usr/bin/chromium || missing="$$missing chromium"; \
	  if [ -n "$$missing" ]; then \
	    if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	      DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null \
	        || echo "warning: could not install$$missing; the tests that need them will fail" >&2; \
	    else \
	      echo "warning:$$missing missing and cannot be installed here (needs apt-get as root)" >&2; \
	    fi; \
	  fi

api-key: venv ## create an API key in the running stack: make api-key SERVICE=user_manager SCOPES=users:read,users:write [NAME=...]
	@test -n "$(SERVICE)" -a -n "$(SCOPES)" || { echo "usage: make api-key SERVICE=user_manager|credit_manager SCOPES=scope[,scope...] [NAME=label]" >&2; exit 2; }
	$(DEVSTACK) api-key --service "$(SERVICE)" --scopes "$(SCOPES)" $(if $(NAME),--name "$(NAME)")

bench: venv bench-tools ## benchmark a fresh stack, write bench/results/ (QUICK=1, PROFILE=1, SCENARIOS=, DURATION=, CONCURRENCY=, CUSTOMERS=, EVENTS=, STACK=running; SOAK=1 [SOAK_MINUTES=10], GROWTH=1 [GROWTH_CUSTOMERS=20000])
	$(VENV_PYTHON) -m bench

bench-tools: $(VENV)/.bench-installed ## install the benchmark's tools (wrk from Debian, py-spy)
	@command -v wrk >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 || { \
	      DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } \
	      || { echo "bench: could not install wrk with apt-get" >&2; exit 1; }; \
	  else \
	    echo "bench: wrk is missing and cannot be installed here (needs apt-get as root): install wrk, then run make bench again" >&2; exit 1; \
	  fi; }

$(VENV)/.bench-installed: requirements/bench.txt $(INSTALLED)
	$(VENV_PYTHON) -m pip install --quiet -r requirements/bench.txt
	@touch $@

clean: ## remove test leftovers (keeps the local stack's data)
	@if [ -x $(VENV_PYTHON) ]; then $(DEVSTACK) clean; else rm -rf $(DEVSTACK_DIR)/test-*; fi
	rm -rf .pytest_cache

clean-data: clean ## also remove the local stack's data (databases, Redis, state in .devstack/)
	@if [ -e $(DEVSTACK_DIR)/run.lock ] && ! flock -n $(DEVSTACK_DIR)/run.lock true; then \
	  echo "the local stack is running: stop it first" >&2; exit 1; fi
	rm -rf $(DEVSTACK_DIR)
