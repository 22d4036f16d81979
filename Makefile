# Dixi Deploy. `make plan` and `make test` work on a fresh machine (see README).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APP_REQUIREMENTS := $(wildcard app/requirements-test.txt)
STACK ?= aws-ec2

.PHONY: setup system-deps plan plan-all lint test bench bench-record clean

$(STAMP): pyproject.toml $(APP_REQUIREMENTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]' $(if $(APP_REQUIREMENTS),-r $(APP_REQUIREMENTS))
	touch $(STAMP)

setup: $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

## plan: the default stack, offline: resource tree, problems, monthly cost
plan: setup
	$(BIN)/dixi plan $(STACK)

plan-all: setup
	$(BIN)/dixi plan --all

lint: setup
	$(BIN)/ruff check infra stacks app tests __main__.py
	$(BIN)/mypy infra stacks $(wildcard app/common/dixi_common app/backend/dixi_backend app/vision/dixi_vision app/dixi_devtools app/bench.py)

## test: every test, with the validators installed
test: setup system-deps lint
	$(BIN)/pytest -q

## bench: app throughput and latency figures (printed; bench-record also rewrites docs/benchmarks.md)
bench: setup system-deps
	$(BIN)/python app/bench.py --no-write

bench-record: setup system-deps
	$(BIN)/python app/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
