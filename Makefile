# 业扩通 — `make run` sets everything up and serves http://127.0.0.1:8080; `make test` runs the suite.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
MO := translations/zh/LC_MESSAGES/messages.mo translations/en/LC_MESSAGES/messages.mo

.PHONY: run test setup db translations bench clean

setup: $(STAMP) $(MO)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -f -l $* -d translations -i $<

translations: $(MO)

# The demo server signs sessions with a development key (YKT_DEMO=1); production sets SECRET_KEY.
db: setup
	YKT_DEMO=1 $(BIN)/flask --app app model apply
	YKT_DEMO=1 $(BIN)/flask --app app demo load

run: db
	YKT_DEMO=1 $(BIN)/flask --app app run --host 127.0.0.1 --port 8080

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: setup
	$(BIN)/python bench/bench_model.py

clean:
	rm -rf $(VENV) instance translations/*/LC_MESSAGES/*.mo
