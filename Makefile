# 业扩通 — `make run` sets everything up and serves http://127.0.0.1:8080 (`make run PORT=8081`: another
# port); `make test` runs the suite; `make screens` redraws the screenshots in docs/screens/.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
LOCKS := requirements.lock requirements-dev.lock
STAMP := $(VENV)/.installed-$(shell cat $(LOCKS) | cksum | cut -d' ' -f1)
PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links
PORT ?= 8080
MO := translations/zh/LC_MESSAGES/messages.mo translations/en/LC_MESSAGES/messages.mo

.PHONY: run test setup db translations bench clean lock install screens

setup: $(STAMP) $(MO)

# Installs exactly the locked versions, each checked against its hash (requirements.lock: the
# application; requirements-dev.lock: the same versions plus the test tools).
$(STAMP): $(LOCKS)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r requirements.lock -r requirements-dev.lock
	rm -f $(VENV)/.installed-*
	touch $@

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -f -l $* -d translations -i $<

translations: $(MO)

# Demo mode (YKT_DEMO=1): demo data may be loaded, and the signing key is created once per
# installation in instance/secret_key (mode 0600). Production sets SECRET_KEY and never loads demo data.
db: setup
	YKT_DEMO=1 $(BIN)/flask --app app model apply
	YKT_DEMO=1 $(BIN)/flask --app app demo load

run: db
	YKT_DEMO=1 $(BIN)/flask --app app run --host 127.0.0.1 --port $(PORT)

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider

# Screenshots of each role's key pages (headless /usr/bin/chromium, demo data in a temporary database).
screens: setup
	$(BIN)/python tools/screens.py

bench: setup
	$(BIN)/python bench/bench_model.py

# Production: the application's packages only, exactly as locked.
install:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r requirements.lock

# After changing requirements*.txt: re-resolve, keeping every pin that still fits.
lock:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q pip-tools==7.6.2
	$(PIP_COMPILE) -o requirements-dev.lock requirements-dev.txt
	$(PIP_COMPILE) -c requirements-dev.lock -o requirements.lock requirements.txt

clean:
	rm -rf $(VENV) instance translations/*/LC_MESSAGES/*.mo
