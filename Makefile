# Waybill: `make run` starts the local stack, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo package synth infra-check run test test-unit test-aws test-workflows test-e2e test-browser lint typecheck \
	bench token clean install test-main test-side

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade 'pip<26.3'  # no further than chalice allows (its Requires-Dist: pip<26.3)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

INFRA_STAMP := $(VENV)/.installed-infra
$(INFRA_STAMP): $(STAMP) requirements-infra.txt
	$(PY) -m pip install --quiet -r requirements-infra.txt
	touch $(INFRA_STAMP)

venv: $(STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null

# axe-core (package.json, pinned in package-lock.json): the browser tests inject it into the pages.
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(AXE)

# Everything the tests need, the Chromium download beside the pip installs.
install:
	$(MAKE) -j2 $(STAMP) $(INFRA_STAMP) $(CHROMIUM) $(AXE)

run: $(STAMP)
	$(PY) -m chalicelib.local run $(ARGS)

token: $(STAMP)
	@$(PY) -m chalicelib.local token --role $(or $(ROLE),customer) --sub $(or $(SUB),demo-user) $(if $(SUPPLIER),--supplier-id $(SUPPLIER)) $(if $(EMAIL),--email $(EMAIL))

# Walk the seeded campaign through every supplier stage, against a running `make run`.
demo: $(STAMP)
	$(PY) -m chalicelib.local demo $(if $(SUPPLIER),--supplier-id $(SUPPLIER))

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy chalicelib app.py infra bench

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit tests/services

test-aws: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist worksteal tests/contract tests/adapters tests/api

test-workflows: $(STAMP)
	$(PY) -m pytest -q tests/workflows

# One local stack for all three: the end-to-end tests over HTTP, the admin page in headless
# Chromium (screenshots of failures land in .test-results/browser/), then Ctrl-C stops it all.
test-e2e: $(STAMP) $(CHROMIUM) $(AXE)
	$(PY) -m pytest -q tests/e2e/test_local_stack.py tests/e2e/test_money_walk.py tests/browser tests/e2e/test_shutdown.py \
	  --screenshot only-on-failure --output .test-results/browser

test-browser: $(STAMP) $(CHROMIUM) $(AXE)
	$(PY) -m pytest -q tests/browser --screenshot only-on-failure --output .test-results/browser

# Synthesize the CDK app (cdk-nag's AwsSolutions pack runs as a validation plugin and fails
# the synth on any unacknowledged finding), lint the template, run the infra tests.
INFRA_ENV := AWS_DEFAULT_REGION=eu-west-1 JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_OUTDIR=cdk.out
synth: $(INFRA_STAMP)
	rm -rf cdk.out chalice.out
	$(INFRA_ENV) $(PY) infra/app.py

infra-check: synth
	$(VENV)/bin/cfn-lint --ignore-checks W3005 -- cdk.out/*.template.json
	$(INFRA_ENV) $(PY) -m pytest -q tests/infra

# Two lines of work at once on the two cores, once every package is in (Chromium and the CDK packages
# download beside the dev packages): the main line runs the unit, moto and workflow suites, then lints
# and type-checks; the side line starts the local stack for the end-to-end and browser tests (the
# longest piece, mostly waiting on the stack and Chromium), then checks the infra.
test:
	$(MAKE) -j2 $(STAMP) $(INFRA_STAMP) $(CHROMIUM) $(AXE)
	$(MAKE) -j2 --output-sync=line test-main test-side

test-main: $(STAMP)
	$(MAKE) -j1 test-unit test-aws test-workflows lint typecheck

test-side: $(STAMP) $(INFRA_STAMP) $(CHROMIUM) $(AXE)
	$(MAKE) -j1 test-e2e infra-check

bench: $(STAMP)
	$(PY) -m bench

# The Lambda zip (chalice package, minus what the runtime provides) in chalice.out/.
package: $(STAMP)
	$(PY) -m infra.package chalice.out

clean:
	rm -rf $(VENV) .local .pytest_cache .mypy_cache .ruff_cache .hypothesis .test-results node_modules
