# Two commands do all the set-up on a fresh machine:
#   make run    virtualenv, install, migrate, demo town, serve on http://127.0.0.1:5000 (DEBUG=1: debugger)
#   make test   everything the suite needs, then the whole suite (lint, types, migrations, tests)
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
STRIPE_EMULATOR_PORT ?= 8420
PYTEST_ARGS ?=
TRANSLATIONS := app/translations

.PHONY: help install install-dev translations messages migrate demo run worker stripe-emulator \
        test lint typecheck db-check browser fonts services clean lock

help:
	@echo "make run      set up everything and serve the demo town on http://$(HOST):$(PORT) (DEBUG=1: debugger)"
	@echo "make test     set up everything and run lint, type checks, migration check and tests"
	@echo "make worker   run an RQ worker with its scheduler (needs REDIS_URL)"
	@echo "make messages extract the strings to translate and update the catalogues"
	@echo "make lock     re-resolve requirements.lock and requirements-dev.lock from pyproject.toml"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installs are keyed on the lock files: they run again only when a lock changes.
$(VENV)/.installed-dev: requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

install-dev: $(VENV)/.installed-dev translations

translations: $(VENV)/.installed-dev
	$(BIN)/pybabel compile --statistics -d $(TRANSLATIONS)

messages: $(VENV)/.installed-dev
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k markup_gettext -k markup_ngettext:1,2 \
		--no-location --sort-output \
		--project marketplace --copyright-holder "Marketplace contributors" \
		-o $(TRANSLATIONS)/messages.pot app vendors search payouts api
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) \
		--no-fuzzy-matching --ignore-obsolete

migrate: install-dev
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo load
	$(FLASK) search reindex

# The local Stripe emulator on 127.0.0.1 (devtools/stripe_emulator in front of localstripe), alone and in
# the foreground, for an app served some other way: the app finds it through STRIPE_EMULATOR_PORT (or
# STRIPE_API_BASE), and it sends its signed webhooks back to the app. Ctrl-C stops it.
stripe-emulator: install-dev
	$(BIN)/python -m devtools.stripe_emulator --port $(STRIPE_EMULATOR_PORT) --quiet \
		--webhook-url http://127.0.0.1:$(PORT)/webhooks/stripe --webhook-secret whsec_local_emulator

# The app on $(HOST):$(PORT) with its own Stripe emulator, stopped with it (devtools/run.py). Werkzeug's
# debugger runs any code typed into the browser: only with DEBUG=1, and only on a loopback address.
DEBUG ?=
run: demo fonts
	$(BIN)/python -m devtools.run --host $(HOST) --port $(PORT) --emulator-port $(STRIPE_EMULATOR_PORT) \
		$(if $(filter 1 true yes,$(DEBUG)),--debug)

worker: install-dev
	$(FLASK) worker

define apt_install
	if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); \
	else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); fi
endef

# Debian's chromium for the browser tests, never a browser downloaded by a test tool; and Debian's
# DejaVu fonts, which the PDF documents are drawn with (PDF_FONT_DIR). Each installed only when missing.
DEJAVU_FONT := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
browser:
	@missing=""; \
	command -v chromium >/dev/null || missing="chromium"; \
	[ -f $(DEJAVU_FONT) ] || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then $(call apt_install,$$missing); fi

# The PDF documents' font (invoices, packing slips), for make run.
fonts:
	@[ -f $(DEJAVU_FONT) ] || { $(call apt_install,fonts-dejavu-core); }

# PostgreSQL and Redis on 127.0.0.1: started if down; in CI their absence is an error.
services:
	@bash scripts/services.sh

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy

# Migrations from an empty PostgreSQL database, then models and migrations must agree.
db-check: install-dev services
	@bash scripts/db-check.sh "$(BIN)"

test: install-dev browser services lint typecheck db-check
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

lock:
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes pyproject.toml -o requirements.lock
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes --extra dev \
		-c requirements.lock pyproject.toml -o requirements-dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/e2e/screenshots
