# Development commands of the add-on; see the README.
PYTHON ?= python3

.PHONY: test deps lint pure odoo-test coexist peppol migration demo pot bench screenshots
.DEFAULT_GOAL := test

## make test: lint, pure tests, the Odoo tests in a fresh database of a throwaway cluster, then the
## install next to OCA's SEPA and subscription add-ons (both orders), the Peppol and l10n_be tests,
## and the upgrade from the previous release
test: deps lint pure odoo-test coexist peppol migration

deps:
	@$(PYTHON) -m pip install -q --disable-pip-version-check -r requirements-dev.txt

lint:
	@$(PYTHON) tools/dev.py lint

pure:
	@cd engine/tests && $(PYTHON) -m pytest

odoo-test:
	@$(PYTHON) tools/dev.py test

coexist:
	@$(PYTHON) tools/dev.py coexist

peppol:
	@$(PYTHON) tools/dev.py peppol

migration:
	@$(PYTHON) tools/dev.py migration

## make demo: a demo database with the add-on and its demo data, served at http://localhost:8069
demo: deps
	@$(PYTHON) tools/dev.py demo

## make pot: regenerate i18n/sale_weekly_subscription.pot with Odoo's own export
pot:
	@$(PYTHON) tools/dev.py pot

## make bench: billing run vs plain Odoo, invoices per second (BENCH_SIZES=1000,10000)
bench: deps
	@$(PYTHON) tools/dev.py bench

## make screenshots: the README and app-page screenshots, from real Odoo in headless Chromium (not part of make test)
screenshots: deps
	@$(PYTHON) tools/dev.py screenshots
