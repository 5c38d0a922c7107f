# Two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

DEMO_PASSWORD ?= demo-password-2026
DEMO_TOTP_SECRET ?= JBSWY3DPEHPK3PXP
export DEMO_PASSWORD DEMO_TOTP_SECRET

.PHONY: run test test-fast test-browser test-sqlite lint install lock schema messages clean bench bench-small

$(STAMP): requirements/base.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements/base.txt -r requirements/dev.txt
	touch $(STAMP)

install: $(STAMP)

## Run the service with the demo coalition on SQLite at http://127.0.0.1:$(RUN_PORT), with the background worker beside it
# Quiet until the server answers, then a banner with the addresses and the demo logins.
# Errors still show (stderr) and stop the target. The worker logs warnings and errors only.
RUN_PORT ?= 8000
RUN_ENV := DEBUG=true MATCH_ENABLED=true LOG_FORMAT=plain PUBLIC_BASE_URL=http://127.0.0.1:$(RUN_PORT) DJANGO_RUNSERVER_HIDE_WARNING=true
run: $(STAMP)
	@$(RUN_ENV) $(PY) manage.py migrate --noinput -v 0
	@$(RUN_ENV) $(PY) manage.py seed_demo > /dev/null
	@$(RUN_ENV) $(PY) manage.py match_rekey > /dev/null
	@$(RUN_ENV) LOG_LEVEL=WARNING $(PY) manage.py run_worker > /dev/null & WORKER=$$!; \
	$(RUN_ENV) $(PY) manage.py demo_banner --address 127.0.0.1:$(RUN_PORT) --wait 60 & BANNER=$$!; \
	trap 'kill $$WORKER $$BANNER 2>/dev/null; wait $$WORKER 2>/dev/null' EXIT INT TERM; \
	$(RUN_ENV) $(PY) manage.py runserver 127.0.0.1:$(RUN_PORT)

## Run the whole suite (PostgreSQL when reachable, else SQLite; DATABASE_URL decides if set)
test: $(STAMP)
	$(PY) -m pytest

## The quick loop while working: everything but the fuzz tests (tests/fuzz); CI runs the whole suite
test-fast: $(STAMP)
	$(PY) -m pytest -m "not fuzz"

## Only the browser tests (tests/browser/: the web app in headless Chromium; README "Browser tests")
test-browser: $(STAMP)
	$(PY) -m pytest -m browser

test-sqlite: $(STAMP)
	DATABASE_URL=sqlite:///:memory: $(PY) -m pytest

## Static checks: the layers' import contracts, ruff and mypy (configured in pyproject.toml)
lint: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	DEBUG=true $(VENV)/bin/mypy

## Regenerate the committed OpenAPI schema after changing the API
schema: $(STAMP)
	DEBUG=true $(PY) manage.py spectacular --validate --fail-on-warn --file api_docs/openapi.yaml

## Recompile translations after editing locale/*/LC_MESSAGES/django.po
messages: $(STAMP)
	$(PY) scripts/compile_messages.py

## National-scale benchmark on the local PostgreSQL (database coalition_bench); see README "Performance"
bench: $(STAMP)
	$(PY) -m bench.run $(BENCH_ARGS)

## The same on a small dataset (a quick check, about two minutes)
bench-small: $(STAMP)
	$(PY) -m bench.run --small $(BENCH_ARGS)

## Re-pin dependencies (needs network access to PyPI)
lock:
	$(PY) -m pip install --quiet uv
	cd requirements && $(VENV:%=../%)/bin/uv pip compile base.in --python-version 3.11 --generate-hashes -q -o base.txt
	cd requirements && $(VENV:%=../%)/bin/uv pip compile dev.in --python-version 3.11 --generate-hashes -q -o dev.txt

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
