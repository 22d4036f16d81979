# Dixi Deploy. `make plan` and `make test` work on a fresh machine (see README).
#
# Everything Python goes into .venv with uv, from the committed uv.lock: every
# install gets the same versions of the Pulumi SDKs, the tools and the app's
# test requirements. Pick the Python with PYTHON_VERSION (3.11, 3.12 or 3.13),
# e.g. `make test PYTHON_VERSION=3.13`; PYTHON=/path/to/python3.X overrides the
# search. uv never downloads a Python: it uses one that is installed.

PYTHON_VERSION ?= 3.11
ifeq ($(origin PYTHON),undefined)
  PYTHON := $(shell scripts/find-python $(PYTHON_VERSION))
endif
# uv: the one on PATH if it is this version, else this version from PyPI into
# .tools (scripts/bootstrap-uv: pip; the uv wheel carries its binary).
UV_VERSION := 0.13.9
TOOLS := .tools
VENV := .venv
BIN := $(VENV)/bin
# Where `make test` keeps the lint output while pytest runs (gitignored).
LINT_LOG := .lint.log
STAMP := $(VENV)/.synced-$(PYTHON_VERSION)
STACK ?= aws-ec2
# checkov, for `dixi scan` and the k8s-checkov check, in a virtualenv of its own:
# it pins boto3 and other versions the project's .venv does not use.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.checkov-$(CHECKOV_VERSION)

ifeq ($(origin UV),undefined)
  ifeq ($(word 2,$(shell uv --version 2>/dev/null)),$(UV_VERSION))
    UV := uv
  else
    UV := $(TOOLS)/bin/uv
    UV_BOOTSTRAP := $(TOOLS)/.uv-$(UV_VERSION)
  endif
endif
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup system-deps plan plan-all scan lint test bench bench-record lock clean $(CHECKOV_VENV)

# uv itself, when the right version is not on PATH.
$(TOOLS)/.uv-%:
	scripts/bootstrap-uv $* $(TOOLS) $(or $(PYTHON),python3)
	touch $@

# .venv exactly as uv.lock says, with the dev tools and the app's test
# requirements; again whenever pyproject.toml or uv.lock changes. --locked
# stops with a message if pyproject.toml was edited without `make lock`.
# Then parliament's modules are compiled once, quietly: uv does not compile
# bytecode, and Python 3.12+ warns about their invalid escapes each time it
# compiles them (the first plan, or every plan where PYTHONDONTWRITEBYTECODE is set).
$(STAMP): pyproject.toml uv.lock | $(UV_BOOTSTRAP)
	$(UV) sync --locked --extra dev --group app-test --python $(or $(PYTHON),$(PYTHON_VERSION)) \
	  || { echo "uv sync failed. If uv.lock is out of date with pyproject.toml: make lock$(if $(PYTHON),,. No Python $(PYTHON_VERSION) was found here: install it or give PYTHON=/path/to/python$(PYTHON_VERSION))" >&2; exit 1; }
	$(BIN)/python -W ignore -m compileall -q $(VENV)/lib/python*/site-packages/parliament
	rm -f $(VENV)/.synced-*
	touch $@

# checkov $(CHECKOV_VERSION) alone in .venv-checkov, with uv (the plan's k8s-checkov
# check runs .venv-checkov/bin/checkov); again when CHECKOV_VERSION changes.
$(CHECKOV_STAMP): | $(UV_BOOTSTRAP)
	rm -rf $(CHECKOV_VENV)
	$(UV) venv --quiet $(CHECKOV_VENV) --python $(or $(PYTHON),$(PYTHON_VERSION))
	$(UV) pip install --quiet --python $(CHECKOV_VENV)/bin/python checkov==$(CHECKOV_VERSION)
	touch $@

## .venv-checkov: install checkov for the k8s-checkov check (setup does it too)
$(CHECKOV_VENV): $(CHECKOV_STAMP)

## setup: install (or bring up to date) .venv and .venv-checkov
setup: $(STAMP) $(CHECKOV_STAMP)

## system-deps: the Debian packages the checks and tests use (cloud-init, nginx, chromium, ...)
system-deps:
	bash scripts/install-system-deps.sh

## plan: the default stack, offline: resource tree, problems, monthly cost
plan: setup
	$(BIN)/dixi plan $(STACK)

## plan-all: every Pulumi.<stack>.yaml
plan-all: setup
	$(BIN)/dixi plan --all

## scan: checkov's policies over every stack, offline (dixi scan --all; skips in checkov-skips.yaml)
scan: setup
	$(BIN)/dixi scan --all

## lint: ruff, mypy, the app's pins in pyproject.toml equal to its requirements files, zizmor (offline) on the workflows
lint: setup
	$(BIN)/ruff check infra stacks app tests scripts __main__.py
	$(BIN)/mypy infra stacks scripts/app-requirements.py $(wildcard app/common/dixi_common app/backend/dixi_backend app/vision/dixi_vision app/dixi_devtools app/bench.py)
	$(BIN)/python scripts/app-requirements.py
	$(BIN)/zizmor --offline --persona=auditor .github/workflows/

## test: lint, `dixi scan --all` and every test, with the validators installed. Lint (mypy:
## minutes with a cold cache) and the scan run beside pytest on a second core; their output
## follows pytest's.
test: setup system-deps
	@rm -f $(LINT_LOG); \
	$(MAKE) --no-print-directory -k lint scan > $(LINT_LOG) 2>&1 & lint=$$!; \
	$(BIN)/pytest -q; tests=$$?; \
	wait $$lint; linted=$$?; \
	echo "--- lint (ruff, mypy, pins, zizmor) and dixi scan --all: $$( [ $$linted -eq 0 ] && echo passed || echo FAILED)"; cat $(LINT_LOG); \
	[ $$tests -eq 0 ] && [ $$linted -eq 0 ]

## bench: app throughput and latency figures (printed; bench-record also rewrites docs/benchmarks.md)
bench: setup system-deps
	$(BIN)/python app/bench.py --no-write

bench-record: setup system-deps
	$(BIN)/python app/bench.py

## lock: after editing pyproject.toml or app/**/requirements*.txt: copy the app's
## pins into pyproject.toml, then re-lock (kept versions stay; LOCK_ARGS=--upgrade moves them)
lock: | $(UV_BOOTSTRAP)
	$(or $(PYTHON),python3) scripts/app-requirements.py --write
	$(UV) lock $(LOCK_ARGS)

## clean: remove .venv, .venv-checkov, the bootstrapped uv and the tools' caches
clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
