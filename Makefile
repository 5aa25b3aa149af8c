# Waybill: `make run` starts the local stack, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: package run test test-unit test-aws test-e2e lint typecheck bench token clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m chalicelib.local run $(ARGS)

token: $(STAMP)
	@$(PY) -m chalicelib.local token --role $(or $(ROLE),customer) --sub $(or $(SUB),demo-user) $(if $(SUPPLIER),--supplier-id $(SUPPLIER)) $(if $(EMAIL),--email $(EMAIL))

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy chalicelib/domain chalicelib/services

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

test-aws: $(STAMP)
	$(PY) -m pytest -q tests/adapters tests/api

test-e2e: $(STAMP)
	$(PY) -m pytest -q tests/e2e

test: lint typecheck test-unit test-aws test-e2e

bench: $(STAMP)
	$(PY) -m bench

# The Lambda zip (chalice package, minus what the runtime provides) in chalice.out/.
package: $(STAMP)
	$(PY) -m infra.package chalice.out

clean:
	rm -rf $(VENV) .local .pytest_cache .mypy_cache .ruff_cache .hypothesis
