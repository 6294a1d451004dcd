# vpcguard: the README's two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: venv test lint unit demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

lint: venv
	$(VENV)/bin/ruff check .

unit: venv
	$(VENV)/bin/pytest

test: lint unit

demo: venv
	$(PY) scripts/demo.py

bench: venv
	$(PY) scripts/bench.py

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache
