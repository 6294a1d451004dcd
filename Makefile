# vpcguard: the README's two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: venv test lint sam bytecode unit demo bench clean checks-doc

# The dev environment also imports the repository's test helpers (`tests.localaws`, the
# local AWS that tests, demo and bench share) as a package: a .pth file puts the repository
# root on the venv's path, so no script edits sys.path. They are never part of the wheel.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "vpcguard_dev_root.pth").write_text(str(pathlib.Path.cwd()) + "\n")'
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
	$(SAM_VENV)/bin/cfn-lint drift-iam-forwarder.yaml
	$(SAM_VENV)/bin/cfn-lint member.yaml
	$(SAM) build --cached
	$(MAKE) --no-print-directory bytecode

# Lambda's /opt and /var/task are read-only, so modules shipped without bytecode are compiled
# again at every cold start. Ship it for what the inspect function imports (slack_sdk, used
# only by notify, stays source to keep the layer small). unchecked-hash: valid whatever the
# file times become in the zip. Must be the runtime's Python version (python3.11).
SAM_BUILD := .aws-sam/build
BYTECODE := $(SAM_BUILD)/InspectFunction $(SAM_BUILD)/BackfillFunction $(SAM_BUILD)/DriftFunction $(SAM_BUILD)/VpcguardLayer/python/vpcguard
bytecode:
	python3.11 -m compileall -q -j 0 --invalidation-mode unchecked-hash $(BYTECODE)

lint: venv $(SAM_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy layers/vpcguard/vpcguard
	@# Each handler on its own: all of them are modules named `app`.
	for handler in functions/*/app.py; do $(VENV)/bin/mypy $$handler || exit 1; done
	$(PY) scripts/gen_checks_doc.py --check
	$(SAM_VENV)/bin/cfn-lint template.yaml member.yaml

# pytest-xdist, each worker with its own moto server: one worker more than there are cores,
# because a worker also waits (botocore's retry backoff, the built functions' processes,
# its own moto server's answers) and the extra one fills those gaps. On 2 cores, back to
# back: -n 2 143 s, -n 3 133 s, -n 4 130 s.
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
PYTEST := $(VENV)/bin/pytest -n $(PYTEST_WORKERS)

# The developers' fast path: everything but the tests marked slow (the pipeline tests that
# run the built Lambda functions in their own processes; they need `make sam`).
unit: venv
	$(PYTEST) -m "not slow"

# Everything, as CI runs it.
test: lint sam
	$(PYTEST)

demo: venv sam
	$(PY) scripts/demo.py

bench: venv sam
	$(PY) scripts/bench.py

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .ruff_cache

# docs/checks.md is generated from the checks (make lint fails when it is stale).
checks-doc: venv
	$(PY) scripts/gen_checks_doc.py
