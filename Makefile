# vpcguard: the README's two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: venv test lint sam bytecode unit demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# aws-sam-cli pins its own boto3 and pydantic, so it gets its own environment, never the app's.
SAM_CLI_VERSION := 1.170.0
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_CLI_VERSION)
export SAM_CLI_TELEMETRY := 0

$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip
	$(SAM_VENV)/bin/python -m pip install -q aws-sam-cli==$(SAM_CLI_VERSION)
	touch $(SAM_STAMP)

# cfn-lint on the template, then the deployable build (no Docker: the layer's requirements
# are installed for python3.11 by the python3.11 on PATH). The pipeline tests run the built
# handler and layer from .aws-sam/build.
# member.yaml (the organization's spoke, deployed by a StackSet) is plain CloudFormation.
sam: $(SAM_STAMP)
	$(SAM) validate --lint
	$(SAM_VENV)/bin/cfn-lint member.yaml
	$(SAM) build --cached
	$(MAKE) --no-print-directory bytecode

# Lambda's /opt and /var/task are read-only, so modules shipped without bytecode are compiled
# again at every cold start. Ship it for what the inspect function imports (slack_sdk, used
# only by notify, stays source to keep the layer small). unchecked-hash: valid whatever the
# file times become in the zip. Must be the runtime's Python version (python3.11).
SAM_BUILD := .aws-sam/build
BYTECODE := $(SAM_BUILD)/InspectFunction $(SAM_BUILD)/BackfillFunction $(addprefix $(SAM_BUILD)/VpcguardLayer/python/,vpcguard pydantic pydantic_core annotated_types typing_inspection typing_extensions.py)
bytecode:
	python3.11 -m compileall -q -j 0 --invalidation-mode unchecked-hash $(BYTECODE)

lint: venv $(SAM_STAMP)
	$(VENV)/bin/ruff check .
	$(SAM_VENV)/bin/cfn-lint template.yaml member.yaml

unit: venv
	$(VENV)/bin/pytest

test: lint sam unit

demo: venv sam
	$(PY) scripts/demo.py

bench: venv sam
	$(PY) scripts/bench.py

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .ruff_cache
