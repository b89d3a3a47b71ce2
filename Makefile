# The few verbs people need. Each sets up what it needs on a fresh machine (only Python 3.11 required).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test lint format setup site-setup constraints content bench audit clean cluster-check proxy-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when a requirements file changes, so a second `make run` is quick. The site needs only
# requirements.txt; tests, lint and the tools add requirements-dev.txt. constraints.txt pins every package.
$(VENV)/.installed-site: requirements.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed-site $@

site-setup: $(VENV)/.installed-site

setup: $(VENV)/.installed

# Regenerate constraints.txt: every package, direct and transitive, as a fresh install resolves it today.
constraints:
	rm -rf build/constraints-venv
	mkdir -p build
	$(PYTHON) -m venv build/constraints-venv
	grep -hv '^-[rc] ' requirements.txt requirements-dev.txt > build/constraints-in.txt
	build/constraints-venv/bin/pip install --quiet -r build/constraints-in.txt
	{ sed -n '1,3p' constraints.txt; build/constraints-venv/bin/pip freeze --exclude-editable; } > constraints.tmp
	mv constraints.tmp constraints.txt
	rm -rf build/constraints-venv build/constraints-in.txt

content: site-setup
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py load_content

# The site and the email worker together (Procfile.dev); Ctrl-C stops both.
run: content
	@echo "Serving on http://$(HOST):$(PORT)/ with the email worker  (Ctrl-C stops both)"
	DEBUG=1 RUN_ADDR=$(HOST):$(PORT) $(BIN)/honcho -f Procfile.dev start

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

# Two gunicorn instances on PostgreSQL + Redis behave as one site (see scripts/cluster_check.py).
cluster-check: setup
	$(BIN)/python scripts/cluster_check.py

# The same checks through nginx with TLS (deploy/), plus slow clients and the Observatory grade
# (see scripts/proxy_check.py). Needs nginx and openssl (Debian) and `npm ci`.
proxy-check: setup
	$(BIN)/python scripts/proxy_check.py

# Lighthouse (mobile) on a production-like local server; see scripts/audit.py. Needs /usr/bin/chromium and npm.
audit: setup
	$(BIN)/python scripts/audit.py

clean:
	rm -rf $(VENV) staticfiles build .pytest_cache
