# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
CONFIG ?= config.yaml
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: run test install install-test system-deps migrate bench models clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[encoder]'
	touch $@

$(TSTAMP): $(STAMP) pyproject.toml
	$(PIP) install -q -e '.[test,encoder,train]'
	touch $@

install: $(STAMP)
install-test: $(TSTAMP)

migrate: install
	$(VENV)/bin/hub --config $(CONFIG) migrate

run: install
	$(VENV)/bin/hub --config $(CONFIG) migrate
	$(VENV)/bin/hub --config $(CONFIG) serve

# Debian packages the suite drives for real: Dovecot (IMAP), Redis, Chromium (widget and console).
system-deps:
	@missing=""; \
	command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || missing="$$missing dovecot-imapd"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v openssl >/dev/null 2>&1 || missing="$$missing openssl"; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing system packages:$$missing (tests that need them are skipped)"; fi; \
	fi

test: install-test system-deps
	. ./scripts/test-services.sh && $(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: install-test
	$(PY) bench/webchat.py

# Rebuild the shipped language models from the public sources (DATA.md); NLP_DATA points at them.
NLP_DATA ?= ../shared/data
models: install-test
	$(VENV)/bin/hub nlp train --data $(NLP_DATA) --output nlp/data/models.npz --no-labels --force
	$(VENV)/bin/hub nlp space --data $(NLP_DATA) --output nlp/data/intent_space.npz

clean:
	rm -rf $(VENV) hub.db hub.db-wal hub.db-shm
