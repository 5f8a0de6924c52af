# Two commands on a fresh machine (Python 3.11 + pip): `make run` and `make test`. Both are idempotent:
# the virtualenv is rebuilt only when a requirements file changes, the demo database only when absent.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DB ?= data/opinion.duckdb
PORT ?= 8501
PYTEST_ARGS ?=

.PHONY: run test demo lint bench clean-db

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt requirements-spark.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(DB): | $(VENV)/.installed
	$(PY) -m analysis demo --db $(DB)

demo: $(VENV)/.installed
	rm -f $(DB) $(DB).wal
	$(PY) -m analysis demo --db $(DB)

run: $(VENV)/.installed $(DB)
	@echo "舆情态势监测: open http://localhost:$(PORT) (Ctrl+C to stop)"
	$(PY) -m analysis serve --db $(DB) --port $(PORT)

# pytest exits 5 when it collected no test: that is a broken suite, not a pass, so it fails loudly here.
test: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing on purpose" >&2; exit 1; fi; \
	exit $$status

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .

bench: $(VENV)/.installed-dev
	$(PY) bench/run_all.py
