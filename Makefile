# The Microsoft CSP suite for Odoo 18. Both main commands set up what they need
# (virtual environment, packages, OCA addons, PostgreSQL cluster) and are safe to re-run.
PYTHON ?= python3

.PHONY: run test lint setup clean

run:    ## Odoo with the three addons and demo data, wired to the simulator, on 127.0.0.1:8069
	$(PYTHON) scripts/devenv.py run

test:   ## lint, unit tests, and the Odoo integration tests on a fresh database
	$(PYTHON) scripts/devenv.py test

lint:   ## ruff, pylint-odoo, oca-checks-odoo-module
	$(PYTHON) scripts/devenv.py lint

setup:  ## only the set-up: virtual environment, packages, OCA addons
	$(PYTHON) scripts/devenv.py setup

clean:  ## remove the virtual environment and the local state (database cluster included)
	rm -rf .venv .local
