# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 7071
WORKERS ?= 2
IAC    := .venv-iac
# Python 3.13 (azure-functions 2.x): CI runs the suite on it too (`make test-py313`)
# (the first that runs: pyenv's shim for python3.13 exists even when 3.13 is not an active version)
PY313  ?= $(shell for p in $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13; do \
             $$p -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && echo $$p && break; done)
V313   := .venv-313

.PHONY: run test test-py313 install lint format migrate azure-sql clean browser

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"' 
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# checkov + pycep-parser for tests/infra, apart from the app's dependencies (they conflict).
$(IAC)/.installed: requirements-iac.txt
	$(PYTHON) -m venv $(IAC)
	printf '*\n' > $(IAC)/.gitignore
	$(IAC)/bin/python -m pip install --quiet --upgrade pip
	$(IAC)/bin/python -m pip install --quiet -r requirements-iac.txt
	touch $@

$(V313)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PY313)" || { echo "Python 3.13 not found: set PY313=/path/to/python3.13"; exit 1; }
	$(PY313) -m venv $(V313)
	$(V313)/bin/python -m pip install --quiet --upgrade pip
	$(V313)/bin/python -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 18+ (apt-get install nodejs npm)"; exit 1; }
	npm install --no-audit --no-fund --silent
	touch $@

install: $(VENV)/.installed node_modules/.installed

run: install
	PORT=$(PORT) WORKERS=$(WORKERS) bash scripts/run.sh

# the console's browser tests need Debian's Chromium and ChromeDriver: installed here when missing
# and this is root on Debian (otherwise tests/browser says what to install and is skipped)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } || \
	  echo "Chromium missing: apt-get install chromium chromium-driver (tests/browser is skipped without it)"

test: install $(IAC)/.installed browser
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# the unit, integration and end-to-end suites on Python 3.13 (the infra checks do not depend on it)
test-py313: $(V313)/.installed node_modules/.installed
	$(V313)/bin/python -m pytest tests/unit tests/integration tests/e2e $(PYTEST_ARGS)

lint: install
	$(BIN)/python -m ruff check .

format: install
	$(BIN)/python -m ruff check --fix .
	$(BIN)/python -m ruff format .

migrate: install
	$(BIN)/python manage.py migrate

azure-sql: install
	$(BIN)/python manage.py azure-sql

clean:
	rm -rf .data .pytest_cache .ruff_cache .hypothesis
