# Two commands do all the set-up on a fresh machine (Python 3.11 and make, nothing else):
#   make demo   - virtualenv, install, embedded services, migrate, demo data, pipeline, web app
#   make test   - virtualenv, install, the whole test suite on the real (embedded) database
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench eval load clean-var

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m demo.launcher

# The embedded PostgreSQL (when DATABASE_URL is unset) is stopped afterwards unless it ran before.
test: $(STAMP)
	$(PY) -m core.embedded sh -c '$(PY) manage.py prepare_models && $(PY) -m pytest'

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m core.embedded sh -c '$(VENV)/bin/mypy . && $(PY) manage.py makemigrations --check --dry-run'

bench: $(STAMP)
	$(PY) -m benchmarks

# Load test (locust, loopback, gunicorn with 3 workers): the rate at which p99 stays under 200 ms with zero
# errors for event ingest and recommendations, then a 10-minute soak watching the workers' memory (about
# 40 minutes). Its own embedded PostgreSQL under var/load (the development shop is untouched); needs the
# `load` extra; results in var/loadtest/results.json. Not part of `make test`.
load: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,load]'
	ECOM_VAR_DIR=$(CURDIR)/var/load $(PY) -m core.embedded $(PY) -m loadtest

# Model quality on ../shared/data (development sets) when it is there: trains, scores, compares baselines.
eval: $(STAMP)
	$(PY) -m evaluation

# Removes the embedded database, Redis data and logs (stop `make demo` first).
clean-var:
	-$(PY) -c "from core import embedded; embedded.stop_postgres()"
	rm -rf var
