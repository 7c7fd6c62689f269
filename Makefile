# The two commands a newcomer needs: `make demo` and `make test`.
# Everything installs into .venv from the package registries.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
export DAGSTER_DISABLE_TELEMETRY = 1
export DBT_SEND_ANONYMOUS_USAGE_STATS = false

.PHONY: install demo test ui run check clean fixtures

# --no-cache-dir: the dev extra is ~8 GB installed (CUDA torch from PyPI, which also runs
# on CPU); pip's wheel cache would keep a second ~4 GB copy that nothing reuses.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-cache-dir --upgrade pip
	$(BIN)/python -m pip install -q --no-cache-dir -e '.[dev]'
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
check: install
	mkdir -p var/check_home && printf 'telemetry:\n  enabled: false\n' > var/check_home/dagster.yaml
	DAGSTER_HOME=$(abspath var/check_home) $(BIN)/dg check defs
	$(BIN)/dbt parse --project-dir dbt --profiles-dir dbt --quiet

## fixtures: regenerate the demo recordings (needs espeak-ng and sox)
fixtures: install
	$(BIN)/python scripts/make_demo_fixtures.py

clean:
	rm -rf var .pytest_cache dbt/target dbt/logs
